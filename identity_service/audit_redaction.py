"""What may go into an audit entry: subject references, masking and redaction of details.

An audit entry never holds a raw personal ID number, password, one-time code or token. A
citizen appears as ``subject_reference`` (keyed HMAC-SHA256 of the ID number: stable, so
the log can be searched for one citizen, but not reversible without the server secret)
plus the masked form people see on screen. Detail keys that name secrets are redacted and
free-standing runs of nine or more digits (ID, phone and card numbers) are masked.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import re
from typing import Any

from population_db.identifiers import mask

SUBJECT_REF_HEX_CHARS = 32
REDACTED = "[redacted]"
_SUBJECT_KEY_LABEL = b"natid/audit-subject/v1"
_SEPARATORS = re.compile(r"[\s.\-]")
# Hyphens count as part of a word so that the digit groups of a UUID are left alone.
_LONG_DIGIT_RUN = re.compile(r"(?<![\w-])\d{9,}(?![\w-])")
_SMALLEST_MASKED_INTEGER = 10**8
SECRET_DETAIL_KEYS = frozenset(
    {
        "password",
        "new_password",
        "otp",
        "totp",
        "totp_code",
        "code",
        "token",
        "access_token",
        "refresh_token",
        "id_token",
        "id_token_hint",
        "client_secret",
        "secret",
        "personal_id_number",
        "national_id",
    }
)


def subject_reference(server_secret: bytes, personal_id_number: str) -> str:
    """Keyed HMAC-SHA256 of the normalised ID number, as truncated hex."""
    message = normalise(personal_id_number).encode("utf-8")
    digest = hmac.digest(_subject_key(server_secret), message, "sha256")
    return digest.hex()[:SUBJECT_REF_HEX_CHARS]


@functools.lru_cache(maxsize=16)
def _subject_key(server_secret: bytes) -> bytes:
    # Derived once per secret: every audited login and e-KYC check asks for it.
    return hmac.new(server_secret, _SUBJECT_KEY_LABEL, hashlib.sha256).digest()


def masked_subject(personal_id_number: str) -> str:
    """The ID number as shown on screens: first and last two digits only."""
    return mask(normalise(personal_id_number))


def normalise(personal_id_number: str) -> str:
    """The number without the spaces, dots or dashes people type in it."""
    return _SEPARATORS.sub("", personal_id_number)


def mask_digit_runs(text: str) -> str:
    """``text`` with every free-standing run of nine or more digits masked."""
    return _LONG_DIGIT_RUN.sub(lambda match: mask(match.group()), text)


def redact_details(value: Any) -> Any:
    """A copy of ``value`` with secret-named keys redacted and long digit runs masked."""
    if isinstance(value, dict):
        return {
            str(key): REDACTED if str(key).lower() in SECRET_DETAIL_KEYS else redact_details(item)
            for key, item in value.items()
        }
    if isinstance(value, list | tuple | set | frozenset):
        return [redact_details(item) for item in value]
    if isinstance(value, str):
        return mask_digit_runs(value)
    if (
        isinstance(value, int)
        and not isinstance(value, bool)
        and abs(value) >= _SMALLEST_MASKED_INTEGER
    ):
        return mask(str(value))
    return value
