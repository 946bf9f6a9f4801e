"""What the provider remembers about the access tokens it issued, and their revocation.

Access tokens are self-contained JWTs (RFC 9068) whose ``sub`` is pairwise, so userinfo
cannot recover the citizen from the token alone. The state store keeps, per token id
(``jti``) and for the token's lifetime, the citizen, client and granted scopes, and the
token's digest (so that its own endpoints need not verify its signature again). Revoking
a token marks its id revoked and drops the record, so userinfo (and any other process
sharing the store) rejects it at once.
"""

from __future__ import annotations

from dataclasses import dataclass

from identity_service.state import StateStore

_RECORD_PREFIX = "access-token:"
_REVOKED_PREFIX = "access-token-revoked:"
_MAX_JTI_LENGTH = 128


@dataclass(frozen=True, slots=True)
class IssuedAccessToken:
    jti: str
    personal_id_number: str
    client_id: str
    scopes: tuple[str, ...]
    # The token's ``access_token_digest`` (None in records written before it was kept).
    digest: str | None = None


class AccessTokenRecords:
    def __init__(self, state: StateStore) -> None:
        self._state = state

    def remember(self, token: IssuedAccessToken, ttl: int) -> None:
        self._state.put(
            _RECORD_PREFIX + token.jti,
            {
                "personal_id_number": token.personal_id_number,
                "client_id": token.client_id,
                "scopes": list(token.scopes),
                "digest": token.digest,
            },
            ttl,
        )
        # A revocation may have raced the issuance (a replayed code, a reused refresh
        # token): revoke() marks first and then deletes, so one of the two sees the other.
        if self.is_revoked(token.jti):
            self._state.delete(_RECORD_PREFIX + token.jti)

    def lookup(self, jti: str) -> IssuedAccessToken | None:
        """The record of a live, unrevoked token, or None."""
        if not jti or len(jti) > _MAX_JTI_LENGTH:
            return None
        data = self._state.get(_RECORD_PREFIX + jti)
        if data is None:
            return None
        return IssuedAccessToken(
            jti=jti,
            personal_id_number=data["personal_id_number"],
            client_id=data["client_id"],
            scopes=tuple(data["scopes"]),
            digest=data.get("digest"),
        )

    def revoke(self, jti: str, ttl: int) -> None:
        """Mark ``jti`` revoked for ``ttl`` seconds (its remaining life) and drop its record."""
        self._state.put(_REVOKED_PREFIX + jti, {"revoked": True}, ttl)
        self._state.delete(_RECORD_PREFIX + jti)

    def is_revoked(self, jti: str) -> bool:
        return self._state.get(_REVOKED_PREFIX + jti) is not None
