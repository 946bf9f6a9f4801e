"""Levels of assurance as OpenID Connect sees them: ``acr`` and ``amr`` values.

Level 1 is a password, level 2 a password plus a TOTP code (DOMAIN.md §4). A portal asks
for a level in its registration (``min_level``) or with ``acr_values``; the provider
satisfies the highest level asked and reports the level achieved.
"""

from __future__ import annotations

from collections.abc import Iterable

ACR_LEVEL1 = "urn:natid:acr:level1"
ACR_LEVEL2 = "urn:natid:acr:level2"
ACR_VALUES = (ACR_LEVEL1, ACR_LEVEL2)
LOWEST_LEVEL = 1
HIGHEST_LEVEL = 2

# RFC 8176 method references: pwd, otp (a one-time code), mfa (more than one factor).
AMR_PASSWORD = ("pwd",)
AMR_PASSWORD_AND_OTP = ("pwd", "otp", "mfa")

_LEVEL_BY_ACR = {ACR_LEVEL1: 1, ACR_LEVEL2: 2}


def acr_for_level(level: int) -> str:
    """The ``acr`` value of an achieved level."""
    return ACR_LEVEL2 if level >= HIGHEST_LEVEL else ACR_LEVEL1


def amr_for_level(level: int) -> list[str]:
    """The ``amr`` values of an achieved level."""
    return list(AMR_PASSWORD_AND_OTP if level >= HIGHEST_LEVEL else AMR_PASSWORD)


def requested_level(acr_values: Iterable[str], client_min_level: int) -> int:
    """The highest level asked by the registration or by known ``acr_values``.

    Unknown acr values are ignored: OIDC Core §3.1.2.1 makes them voluntary claims, and
    the provider answers with the level actually achieved.
    """
    asked = [_LEVEL_BY_ACR[value] for value in acr_values if value in _LEVEL_BY_ACR]
    return max([client_min_level, LOWEST_LEVEL, *asked])
