"""Authorization codes: one-time, short-lived, bound to a client, redirect URI and PKCE.

A code is a random string handed to the client; the state store keeps what it stands for
(``CodeGrant``) under a hash of it, with a TTL of ``authorization_code_ttl``. Redemption
is an atomic take, so a code works once even across processes. After a redemption the
store remembers, for as long as the tokens live, which access tokens (and which refresh
token family) the code produced: a second presentation of the code (RFC 6749 §4.1.2:
"MUST deny ... SHOULD revoke all tokens previously issued based on that authorization
code") finds and revokes them.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass, fields
from typing import Any

from identity_service.state import StateStore

_CODE_PREFIX = "code:"
_REDEEMED_PREFIX = "code-redeemed:"
_MAX_CODE_LENGTH = 128


@dataclass(frozen=True, slots=True)
class Redemption:
    """What a redeemed code produced."""

    access_token_ids: tuple[str, ...]
    refresh_family: str | None


@dataclass(frozen=True, slots=True)
class CodeGrant:
    """What a code stands for: the request it answers and the authentication behind it."""

    client_id: str
    redirect_uri: str
    scopes: tuple[str, ...]
    nonce: str | None
    code_challenge: str
    personal_id_number: str
    auth_time: int
    level: int
    sid: str
    # RFC 9449 §10: the token request must carry a DPoP proof by this key.
    dpop_jkt: str | None = None

    def to_json(self) -> dict[str, Any]:
        # Field by field: dataclasses.asdict deep-copies every value (one per login).
        return {name: getattr(self, name) for name in _GRANT_FIELDS}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> CodeGrant:
        return cls(**{**data, "scopes": tuple(data["scopes"])})


_GRANT_FIELDS = tuple(field.name for field in fields(CodeGrant))


class AuthorizationCodes:
    def __init__(self, state: StateStore, ttl: int) -> None:
        self._state = state
        self._ttl = ttl

    def issue(self, grant: CodeGrant, *, max_ttl: int | None = None) -> str:
        """A new code for ``grant``, living ``ttl`` seconds or ``max_ttl`` if shorter."""
        code = secrets.token_urlsafe(32)
        ttl = self._ttl if max_ttl is None else min(self._ttl, max_ttl)
        self._state.put(_CODE_PREFIX + _digest(code), grant.to_json(), ttl)
        return code

    def peek(self, code: str) -> CodeGrant | None:
        """The grant of an unused, unexpired code, leaving it unused; else None."""
        if not code or len(code) > _MAX_CODE_LENGTH:
            return None
        data = self._state.get(_CODE_PREFIX + _digest(code))
        return None if data is None else CodeGrant.from_json(data)

    def redeem(self, code: str) -> CodeGrant | None:
        """The grant of an unused, unexpired code, consumed atomically; else None."""
        if not code or len(code) > _MAX_CODE_LENGTH:
            return None
        data = self._state.take(_CODE_PREFIX + _digest(code))
        return None if data is None else CodeGrant.from_json(data)

    def remember_redemption(
        self,
        code: str,
        access_token_ids: list[str],
        ttl: int,
        *,
        refresh_family: str | None = None,
    ) -> None:
        """Record the tokens a code produced, for revocation if it is replayed."""
        self._state.put(
            _REDEEMED_PREFIX + _digest(code),
            {"jti": access_token_ids, "refresh_family": refresh_family},
            ttl,
        )

    def redemption(self, code: str) -> Redemption | None:
        """What an already redeemed code produced, or None if never redeemed."""
        if not code or len(code) > _MAX_CODE_LENGTH:
            return None
        data = self._state.get(_REDEEMED_PREFIX + _digest(code))
        if data is None:
            return None
        return Redemption(tuple(data["jti"]), data.get("refresh_family"))


def _digest(code: str) -> str:
    return hashlib.sha256(code.encode("utf-8")).hexdigest()
