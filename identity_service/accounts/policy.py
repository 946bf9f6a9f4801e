"""The password policy, after NIST SP 800-63B §5.1.1 (memorised secrets).

* Length counts Unicode code points after NFKC normalisation: at least 8, at most 256
  (long passphrases welcome; the cap only bounds hashing work). Any character is allowed
  and there are no composition rules.
* The password is normalised with NFKC before it is checked and before it is hashed, so
  the same passphrase typed on different keyboards (composed or decomposed Vietnamese
  diacritics, full-width digits) is the same password.
* Rejected: passwords on the common-password list ``seeds/common_passwords.txt``
  (case-insensitive), and passwords that contain the citizen's own ID number or birth
  date in a common written form (ddmmyyyy, yyyymmdd, dd/mm/yyyy, yyyy-mm-dd, ddmmyy, ...).

Each rejection raises ``PasswordPolicyError`` whose ``reason`` names the rule; messages in
Vietnamese and English are in ``errors.MESSAGES``.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
import unicodedata
from pathlib import Path

from identity_service.accounts.errors import PasswordPolicyError
from population_db.seeds import seeds_dir

MIN_LENGTH = 8
MAX_LENGTH = 256
COMMON_PASSWORDS_FILE = "common_passwords.txt"
_SEPARATORS = re.compile(r"[\s./\-_]")


def normalize_password(password: str) -> str:
    """The form a password is checked and hashed in (NFKC)."""
    return unicodedata.normalize("NFKC", password)


@functools.lru_cache(maxsize=4)
def load_common_passwords(path: Path) -> frozenset[str]:
    """The list at ``path``, one password a line; ``#`` lines are comments. Cached."""
    entries: set[str] = set()
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            text = line.rstrip("\r\n")
            if not text.strip() or text.startswith("#"):
                continue
            entries.add(_fold(text))
    return frozenset(entries)


def birth_date_forms(birth_date: dt.date) -> set[str]:
    """The written forms of a birth date that a password must not contain."""
    d, m, y = birth_date.day, birth_date.month, birth_date.year
    dd, mm, yyyy, yy = f"{d:02d}", f"{m:02d}", f"{y:04d}", f"{y % 100:02d}"
    forms = {dd + mm + yyyy, yyyy + mm + dd, dd + mm + yy}
    for separator in "/-.":
        forms.add(separator.join((dd, mm, yyyy)))
        forms.add(separator.join((str(d), str(m), str(y))))
        forms.add(separator.join((yyyy, mm, dd)))
    return forms


class PasswordPolicy:
    def __init__(self, common_passwords: frozenset[str]) -> None:
        self._common = frozenset(_fold(entry) for entry in common_passwords)

    @classmethod
    def from_seeds(cls, path: Path | None = None) -> PasswordPolicy:
        return cls(load_common_passwords(path or seeds_dir() / COMMON_PASSWORDS_FILE))

    def check(
        self,
        password: str,
        *,
        personal_id_number: str | None = None,
        birth_date: dt.date | None = None,
    ) -> str:
        """The normalised password if it passes; else raise ``PasswordPolicyError``."""
        normalized = normalize_password(password)
        if len(normalized) < MIN_LENGTH:
            raise PasswordPolicyError("too_short", minimum_length=MIN_LENGTH)
        if len(normalized) > MAX_LENGTH:
            raise PasswordPolicyError("too_long", maximum_length=MAX_LENGTH)
        folded = _fold(normalized)
        if folded in self._common:
            raise PasswordPolicyError("common")
        compact = _SEPARATORS.sub("", folded)
        if personal_id_number and (personal_id_number in folded or personal_id_number in compact):
            raise PasswordPolicyError("id_number")
        if birth_date is not None:
            forms = birth_date_forms(birth_date)
            if any(form in folded or form in compact for form in forms):
                raise PasswordPolicyError("birth_date")
        return normalized


def _fold(text: str) -> str:
    return normalize_password(text).casefold()
