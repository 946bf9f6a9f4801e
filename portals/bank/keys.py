"""The bank's two signing keys for ``private_key_jwt``, and their public JWKS.

The bank is two clients at natid: its web front-end (``demo-bank``, FAPI 2.0: client
assertions at the PAR and token endpoints) and its back-end (``demo-bank-backend``: the
e-KYC checks). natid registers a client's public keys inline (``jwks`` in the
registration; it does not fetch a ``jwks_uri``), so the demo bank ships two fixed DEMO
key pairs beside this module, ``demo_frontend_key.json`` and ``demo_backend_key.json``,
whose public halves are registered in ``seeds/clients.toml``. They are published on
purpose and protect nothing. A real deployment sets ``NATID_PORTAL_BANK_PRIVATE_KEY_FILE``
and ``NATID_PORTAL_BANK_KYC_PRIVATE_KEY_FILE``: each key is then generated on first
start (EC P-256, ``kid`` = RFC 7638 thumbprint, file mode 0600) and the public JWKS,
served at ``/.well-known/jwks.json``, is what the operator registers with
``natid clients add --jwks-file``.
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

DEMO_BACKEND_KEY_FILE = Path(__file__).parent / "demo_backend_key.json"
DEMO_FRONTEND_KEY_FILE = Path(__file__).parent / "demo_frontend_key.json"
KEY_ALGORITHM = "ES256"
_PRIVATE_MEMBERS = frozenset({"d", "p", "q", "dp", "dq", "qi", "oth", "k"})


class SigningKeyError(Exception):
    """The key file cannot be used (unreadable, not a private signing JWK)."""


def load_backend_key(path: Path | None) -> dict[str, Any]:
    """The back-end's private JWK at ``path`` (generated there if missing), or the DEMO key."""
    return _load(path, DEMO_BACKEND_KEY_FILE, "the e-KYC checks")


def load_frontend_key(path: Path | None) -> dict[str, Any]:
    """The front-end's private JWK at ``path`` (generated there if missing), or the DEMO key."""
    return _load(path, DEMO_FRONTEND_KEY_FILE, "citizens' logins")


def public_jwks(*private_jwks: dict[str, Any]) -> dict[str, Any]:
    """The JWKS publishing the public halves of ``private_jwks``."""
    return {
        "keys": [
            {name: value for name, value in jwk.items() if name not in _PRIVATE_MEMBERS}
            for jwk in private_jwks
        ]
    }


def _load(path: Path | None, demo_file: Path, needed_for: str) -> dict[str, Any]:
    if path is None:
        return _read_private_jwk(demo_file)
    if not path.exists():
        _create_key_file(path)
        logger.warning(
            "generated the bank key %s; register its public JWKS (/.well-known/jwks.json) "
            "at the IdP before %s can work",
            path,
            needed_for,
        )
    return _read_private_jwk(path)


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
        raise SigningKeyError(f"cannot use the key {path}: {error}") from None
    if not isinstance(jwk, dict) or "d" not in jwk or not jwk.get("kid"):
        raise SigningKeyError(f"{path} must hold a private JWK with a kid")
    return dict(jwk)
