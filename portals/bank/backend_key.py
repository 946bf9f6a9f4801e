"""The bank back-end's signing key for ``private_key_jwt``, and its public JWKS.

natid registers a client's public keys inline (``jwks`` in the registration; it does not
fetch a ``jwks_uri``), so the demo bank ships a fixed DEMO key pair,
``demo_backend_key.json`` beside this module, whose public half is registered for
``demo-bank-backend`` in ``seeds/clients.toml``. It is published on purpose and protects
nothing. A real deployment sets ``NATID_PORTAL_BANK_KYC_PRIVATE_KEY_FILE``: the key is
then generated on first start (EC P-256, ``kid`` = RFC 7638 thumbprint, file mode 0600)
and its public JWKS, served at ``/.well-known/jwks.json``, is what the operator
registers with ``natid clients add --jwks``.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import os
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import ec

logger = logging.getLogger(__name__)

DEMO_KEY_FILE = Path(__file__).parent / "demo_backend_key.json"
KEY_ALGORITHM = "ES256"
_PRIVATE_MEMBERS = frozenset({"d", "p", "q", "dp", "dq", "qi", "oth", "k"})


class BackendKeyError(Exception):
    """The key file cannot be used (unreadable, not a private signing JWK)."""


def load_backend_key(path: Path | None) -> dict[str, Any]:
    """The private JWK at ``path`` (generated there if missing), or the DEMO key."""
    if path is None:
        return _read_private_jwk(DEMO_KEY_FILE)
    if not path.exists():
        _create_key_file(path)
        logger.warning(
            "generated the bank back-end key %s; register its public JWKS "
            "(/.well-known/jwks.json) at the IdP before the e-KYC checks can work",
            path,
        )
    return _read_private_jwk(path)


def public_jwks(private_jwk: dict[str, Any]) -> dict[str, Any]:
    """The JWKS publishing the public half of ``private_jwk``."""
    public = {name: value for name, value in private_jwk.items() if name not in _PRIVATE_MEMBERS}
    return {"keys": [public]}


def thumbprint(jwk: dict[str, Any]) -> str:
    """RFC 7638 JWK thumbprint (SHA-256) of an EC key."""
    members = {name: jwk[name] for name in ("crv", "kty", "x", "y")}
    canonical = json.dumps(members, separators=(",", ":"), sort_keys=True).encode("utf-8")
    digest = hashlib.sha256(canonical).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def _create_key_file(path: Path) -> None:
    private_key = ec.generate_private_key(ec.SECP256R1())
    jwk: dict[str, Any] = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(private_key))
    jwk.update(kid=thumbprint(jwk), alg=KEY_ALGORITHM, use="sig")
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return  # another worker starting at the same moment made it first
    with os.fdopen(descriptor, "w") as handle:
        json.dump({"keys": [jwk]}, handle, indent=2)


def _read_private_jwk(path: Path) -> dict[str, Any]:
    try:
        document = json.loads(path.read_text())
        jwk = document["keys"][0]
        jwt.PyJWK.from_dict(jwk)
    except (OSError, ValueError, KeyError, IndexError, TypeError, jwt.PyJWKError) as error:
        raise BackendKeyError(f"cannot use the back-end key {path}: {error}") from None
    if not isinstance(jwk, dict) or "d" not in jwk or not jwk.get("kid"):
        raise BackendKeyError(f"{path} must hold a private JWK with a kid")
    return dict(jwk)
