"""Proof Key for Code Exchange (RFC 7636), S256 only.

``plain`` is refused: it protects nothing against an attacker who can read the
authorization request (OAuth 2.0 Security BCP, RFC 9700 §2.1.1).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re

SUPPORTED_METHOD = "S256"
# RFC 7636 §4.1: 43-128 unreserved characters.
_VERIFIER = re.compile(r"[A-Za-z0-9\-._~]{43,128}")
# base64url (no padding) of a SHA-256 digest is always 43 characters.
_S256_CHALLENGE = re.compile(r"[A-Za-z0-9\-_]{43}")


class PkceError(ValueError):
    """The PKCE parameters are missing or malformed; the message says which."""


def check_challenge(code_challenge: str | None, method: str | None) -> str:
    """The challenge of an authorization request, or ``PkceError``."""
    if not code_challenge:
        raise PkceError("code_challenge is required (PKCE with S256)")
    if method != SUPPORTED_METHOD:
        shown = "missing" if method is None else f"{method!r}"
        raise PkceError(f"code_challenge_method must be S256 (was {shown})")
    if not _S256_CHALLENGE.fullmatch(code_challenge):
        raise PkceError("code_challenge must be the base64url SHA-256 of the verifier")
    return code_challenge


def s256_challenge(code_verifier: str) -> str:
    digest = hashlib.sha256(code_verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def verify(code_verifier: str | None, code_challenge: str) -> bool:
    """Whether ``code_verifier`` is well-formed and hashes to ``code_challenge``."""
    if not code_verifier or not _VERIFIER.fullmatch(code_verifier):
        return False
    return hmac.compare_digest(s256_challenge(code_verifier), code_challenge)
