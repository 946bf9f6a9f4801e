"""The refresh token grant (RFC 6749 §6, OIDC Core §12), with rotation and reuse detection.

Request (after client authentication)::

    POST /token
    grant_type=refresh_token&refresh_token=8xLOxBtZp8...&scope=openid%20profile

Response::

    {"access_token": "eyJ...", "token_type": "Bearer", "expires_in": 600,
     "scope": "openid profile", "refresh_token": "tGzv3JOkF0...", "id_token": "eyJ..."}

Rules:

* Every use rotates the token (OAuth 2.0 Security BCP, RFC 9700 §4.14.2): the answer
  carries a new refresh token and the old one is spent. A spent token presented again
  means a copy is in someone else's hands: the whole grant is revoked — every refresh
  token of the family and the access tokens issued from them — and the request fails.
* A token issued to another client is refused with ``invalid_grant`` and is *not* spent
  or revoked (RFC 6749 §6 requires the check; RFC 7009 §2.1 gives the reason not to
  act on it: a client holding someone else's token must not be able to revoke it). Its
  rightful owner keeps working; the attempt is in the audit log.
* ``scope`` may narrow the new access token's scopes but never widen them
  (``invalid_scope``); the grant itself keeps its scopes, so a later refresh may ask for
  all of them again (RFC 6749 §6).
* The achieved level (``acr``, ``amr``) and the original ``auth_time`` and ``sid`` carry
  over unchanged (OIDC Core §12.2); a new ID token comes with every refresh when
  ``openid`` is among the scopes, without a ``nonce``.
* A request that fails validation spends nothing.
* DPoP (RFC 9449 §5): a refresh token bound to a key (a public client's) is accepted only
  with a proof by that key; the new access token is bound to the proof's key whenever a
  proof comes with the request.
* FAPI 2.0 clients refresh without rotation (FAPI 2.0 Security Profile §5.3.2.1): their
  refresh token is sender-constrained (``private_key_jwt``), so a retried request must
  succeed; the answer then carries no new refresh token (RFC 6749 §5.1).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from identity_service.oidc.clients import RegisteredClient
from identity_service.oidc.dpop import DpopProof
from identity_service.oidc.errors import InvalidGrantError, InvalidRequestError, InvalidScopeError
from identity_service.oidc.grants.citizen_tokens import (
    CitizenAuthentication,
    CitizenTokens,
    new_token_id,
    token_type,
)
from identity_service.oidc.levels import ACR_LEVEL2, HIGHEST_LEVEL, LOWEST_LEVEL
from identity_service.oidc.refresh_tokens import RefreshGrant, RefreshTokens
from identity_service.oidc.token_events import TokenEvents

GRANT_TYPE = "refresh_token"
MAX_SCOPE_LENGTH = 1024
_INVALID = "the refresh token is invalid, expired or revoked"


class RefreshTokenGrant:
    def __init__(
        self,
        *,
        refresh_tokens: RefreshTokens,
        citizen_tokens: CitizenTokens,
        events: TokenEvents,
    ) -> None:
        self._refresh_tokens = refresh_tokens
        self._citizen_tokens = citizen_tokens
        self._events = events

    def exchange(
        self, client: RegisteredClient, form: Mapping[str, str], dpop: DpopProof | None = None
    ) -> dict[str, Any]:
        """Validate the request for ``client``, rotate the token and issue new tokens."""
        token = form.get("refresh_token")
        if not token:
            raise InvalidRequestError("refresh_token is required")
        requested_scope = form.get("scope")
        jti = new_token_id()
        if not client.fapi2:
            # The usual case first, in one write: a usable token of this client is spent
            # and its successor stored, unless the checks on its grant refuse (rolled back).
            admitted: list[tuple[str, ...]] = []

            def admit(grant: RefreshGrant) -> None:
                _check_binding(grant, dpop)
                admitted.append(_narrowed_scopes(requested_scope, grant.scopes))

            rotated = self._refresh_tokens.rotate(
                token, client_id=client.client_id, access_token_jti=jti, admit=admit
            )
            if rotated is not None:
                refresh_token, grant = rotated
                return self._issue(client, grant, admitted[0], jti, refresh_token, dpop)
        # Not spent (or FAPI 2.0, which does not rotate): the token's state says why.
        stored = self._refresh_tokens.lookup(token)
        if stored is None or stored.revoked or stored.expired:
            raise InvalidGrantError(_INVALID)
        grant = stored.grant
        if grant.client_id != client.client_id:
            self._events.refused(
                GRANT_TYPE,
                client.client_id,
                reason="issued_to_another_client",
                error="invalid_grant",
                subject=grant.personal_id_number,
                refresh_family=grant.family_id,
            )
            raise InvalidGrantError(_INVALID)
        if stored.used:
            # Spent before, or a concurrent use won the rotation just now.
            raise self._reused(client, grant)
        if not client.fapi2:
            # Usable a moment ago, yet not spent: it expired or was revoked in between.
            raise InvalidGrantError(_INVALID)
        _check_binding(grant, dpop)
        scopes = _narrowed_scopes(requested_scope, grant.scopes)
        if (
            self._refresh_tokens.refresh_in_place(
                token, client_id=client.client_id, access_token_jti=jti
            )
            is None
        ):
            raise InvalidGrantError(_INVALID)
        return self._issue(client, grant, scopes, jti, None, dpop)

    def _reused(self, client: RegisteredClient, grant: RefreshGrant) -> InvalidGrantError:
        revoked = self._refresh_tokens.revoke_family(grant.family_id)
        self._events.revoked(
            client.client_id,
            reason="refresh_token_reuse",
            token_type="refresh_token",
            subject=grant.personal_id_number,
            refresh_family=grant.family_id,
            access_tokens=revoked,
            error="invalid_grant",
        )
        return InvalidGrantError("the refresh token was already used; the grant is revoked")

    def _issue(
        self,
        client: RegisteredClient,
        grant: RefreshGrant,
        scopes: tuple[str, ...],
        jti: str,
        refresh_token: str | None,
        dpop: DpopProof | None,
    ) -> dict[str, Any]:
        authentication = CitizenAuthentication(
            personal_id_number=grant.personal_id_number,
            acr=grant.acr,
            amr=grant.amr,
            auth_time=grant.auth_time,
            sid=grant.sid,
        )
        access_token = self._citizen_tokens.access_token(
            client, authentication, scopes, jti, dpop_jkt=None if dpop is None else dpop.jkt
        )
        body: dict[str, Any] = {
            "access_token": access_token,
            "token_type": token_type(dpop),
            "expires_in": self._citizen_tokens.access_token_ttl,
            "scope": " ".join(scopes),
        }
        if refresh_token is not None:
            body["refresh_token"] = refresh_token
        if "openid" in scopes:
            body["id_token"] = self._citizen_tokens.id_token(
                client, authentication, access_token=access_token, nonce=None
            )
        self._events.issued(
            GRANT_TYPE,
            client.client_id,
            scope=body["scope"],
            jti=jti,
            subject=grant.personal_id_number,
            level=HIGHEST_LEVEL if grant.acr == ACR_LEVEL2 else LOWEST_LEVEL,
            refresh_family=grant.family_id,
        )
        return body


def _check_binding(grant: RefreshGrant, dpop: DpopProof | None) -> None:
    if grant.dpop_jkt is not None and (dpop is None or dpop.jkt != grant.dpop_jkt):
        raise InvalidGrantError("the refresh token is bound to a DPoP key not proven here")


def _narrowed_scopes(requested: str | None, granted: tuple[str, ...]) -> tuple[str, ...]:
    """The requested scopes if they are all granted (in the grant's order), else an error."""
    if requested is None:
        return granted
    if len(requested) > MAX_SCOPE_LENGTH:
        raise InvalidScopeError("scope is too long")
    asked = set(requested.split())
    if not asked:
        return granted
    wider = sorted(asked - set(granted))
    if wider:
        raise InvalidScopeError(f"scope exceeds what was granted: {' '.join(wider)[:200]}")
    return tuple(scope for scope in granted if scope in asked)
