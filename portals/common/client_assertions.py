"""``private_key_jwt`` client authentication (RFC 7523) for a portal, through Authlib.

``ClockedPrivateKeyJwt`` is Authlib's ``PrivateKeyJWT`` with the assertion's times from
the portal's clock, the key's ``kid`` in the header (so the IdP picks the key without
trying each) and, when given, a fixed audience: a FAPI 2.0 client names the issuer
itself (FAPI 2.0 Security Profile §5.3.2.1) rather than the endpoint's URL.
``import_private_jwk`` turns a private JWK into the key object Authlib signs with.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from authlib.oauth2.rfc7523 import PrivateKeyJWT
from authlib.oauth2.rfc7523.assertion import private_key_jwt_sign
from joserfc.jwk import ECKey, OKPKey, RSAKey

ASSERTION_LIFETIME_SECONDS = 60
_KEY_TYPES = {"EC": ECKey, "RSA": RSAKey, "OKP": OKPKey}


class ClockedPrivateKeyJwt(PrivateKeyJWT):
    def __init__(
        self,
        *,
        alg: str,
        kid: str,
        clock: Callable[[], float],
        audience: str | None = None,
    ) -> None:
        super().__init__(alg=alg)
        self._kid = kid
        self._clock = clock
        self._audience = audience

    def sign(self, auth: Any, token_endpoint: str) -> str:
        now = int(self._clock())
        return private_key_jwt_sign(
            auth.client_secret,
            client_id=auth.client_id,
            token_endpoint=self._audience or token_endpoint,
            alg=self.alg,
            header={"kid": self._kid},
            issued_at=now,
            expires_at=now + ASSERTION_LIFETIME_SECONDS,
        )


def assertion_method(
    private_jwk: dict[str, Any], clock: Callable[[], float], audience: str | None = None
) -> ClockedPrivateKeyJwt:
    """The Authlib client-auth method signing with ``private_jwk``."""
    return ClockedPrivateKeyJwt(
        alg=str(private_jwk.get("alg", "ES256")),
        kid=str(private_jwk.get("kid", "")),
        clock=clock,
        audience=audience,
    )


def import_private_jwk(jwk: dict[str, Any]) -> ECKey | RSAKey | OKPKey:
    key_class = _KEY_TYPES.get(str(jwk.get("kty")))
    if key_class is None or "d" not in jwk:
        raise ValueError("the signing key must be a private EC, RSA or OKP JWK")
    return key_class.import_key(jwk)
