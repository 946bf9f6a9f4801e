"""The TOTP second factor (RFC 6238): secrets, codes, replay protection, encryption at rest.

* Codes: SHA-1, 6 digits, 30-second steps, accepted one step either side of now to
  absorb clock drift (what common authenticator apps expect).
* Replay: a code accepted once is never accepted again. The store remembers, per account,
  the last accepted time step; a code for that step or an earlier one is refused. A
  per-step marker taken with an atomic ``incr`` closes the race where two requests carry
  the same fresh code at once.
* At rest the base32 secret is sealed with AES-256-GCM under a key derived by HKDF-SHA256
  from the server secret; the account's ID number is the associated data, so a sealed
  secret copied onto another account does not open.
"""

from __future__ import annotations

import base64
import hmac
import os

import pyotp
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from identity_service.state import StateStore

TOTP_ISSUER = "natid"
TOTP_DIGITS = 6
TOTP_INTERVAL_SECONDS = 30
TOTP_VALID_WINDOW = 1  # steps accepted either side of the current one
_SEALED_VERSION = "v1"
_NONCE_BYTES = 12
_HKDF_INFO = b"natid accounts totp-secret v1"


class SealedSecretError(Exception):
    """A stored TOTP secret cannot be opened (wrong server secret or tampered)."""


def new_totp_secret() -> str:
    """A fresh random base32 secret (160 bits, RFC 4226's recommended length)."""
    return pyotp.random_base32(length=32)


def _totp(secret: str) -> pyotp.TOTP:
    return pyotp.TOTP(secret, digits=TOTP_DIGITS, interval=TOTP_INTERVAL_SECONDS)


def provisioning_uri(secret: str, account_label: str) -> str:
    """The ``otpauth://totp/...`` URI an authenticator app scans (issuer ``natid``)."""
    return _totp(secret).provisioning_uri(name=account_label, issuer_name=TOTP_ISSUER)


def time_step(now: float) -> int:
    return int(now // TOTP_INTERVAL_SECONDS)


def code_at(secret: str, now: float) -> str:
    """The code an authenticator shows at ``now`` (tests and the demo use this)."""
    return _totp(secret).at(int(now))


def matching_time_step(secret: str, code: str, now: float) -> int | None:
    """The time step within the window whose code equals ``code``, or None."""
    candidate = code.strip().replace(" ", "")
    if len(candidate) != TOTP_DIGITS or not candidate.isascii() or not candidate.isdigit():
        return None
    totp = _totp(secret)
    current = time_step(now)
    matched = None
    # Check every step (no early exit) so timing does not reveal which one matched.
    for step in range(current - TOTP_VALID_WINDOW, current + TOTP_VALID_WINDOW + 1):
        if hmac.compare_digest(totp.generate_otp(step), candidate):
            matched = step
    return matched


class TotpReplayGuard:
    """Remembers accepted time steps so that each code works once (see module docstring)."""

    def __init__(self, state: StateStore) -> None:
        self._state = state
        # Long enough to outlive every step a code could still be accepted in.
        self._ttl = TOTP_INTERVAL_SECONDS * (2 * TOTP_VALID_WINDOW + 2)

    def accept(self, account_key: str, step: int) -> bool:
        """Record ``step`` as used; False if it (or a later step) was used already."""
        last = self._state.get(f"totp:last:{account_key}")
        if last is not None and step <= int(last["step"]):
            return False
        if self._state.incr(f"totp:used:{account_key}:{step}", ttl=self._ttl) != 1:
            return False
        self._state.put(f"totp:last:{account_key}", {"step": step}, ttl=self._ttl)
        return True

    def forget(self, account_key: str) -> None:
        """Forget the history (a new authenticator was bound)."""
        self._state.delete(f"totp:last:{account_key}")


class SecretBox:
    """AES-256-GCM sealing of TOTP secrets with a key derived from the server secret."""

    def __init__(self, server_secret: bytes) -> None:
        key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_HKDF_INFO).derive(
            server_secret
        )
        self._aead = AESGCM(key)

    def seal(self, secret: str, associated: str) -> str:
        nonce = os.urandom(_NONCE_BYTES)
        ciphertext = self._aead.encrypt(nonce, secret.encode("ascii"), associated.encode())
        token = base64.urlsafe_b64encode(nonce + ciphertext).decode("ascii").rstrip("=")
        return f"{_SEALED_VERSION}.{token}"

    def open(self, sealed: str, associated: str) -> str:
        version, _, token = sealed.partition(".")
        if version != _SEALED_VERSION or not token:
            raise SealedSecretError("unknown sealed-secret format")
        try:
            raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
            plain = self._aead.decrypt(raw[:_NONCE_BYTES], raw[_NONCE_BYTES:], associated.encode())
        except (InvalidTag, ValueError) as error:
            raise SealedSecretError("the TOTP secret cannot be opened") from error
        return plain.decode("ascii")
