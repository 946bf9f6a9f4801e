"""natid's levels of assurance as a relying party sees them: the published ``acr`` values.

They are part of natid's public contract (the discovery document lists them under
``acr_values_supported``); a portal asks for one with ``acr_values`` and reads the level
achieved from the ID token's ``acr``.
"""

from __future__ import annotations

ACR_LEVEL1 = "urn:natid:acr:level1"
ACR_LEVEL2 = "urn:natid:acr:level2"
LEVEL_BY_ACR = {ACR_LEVEL1: 1, ACR_LEVEL2: 2}
LOWEST_LEVEL = 1
HIGHEST_LEVEL = 2


def acr_for_level(level: int) -> str:
    """The ``acr_values`` entry that asks for ``level``."""
    return ACR_LEVEL2 if level >= HIGHEST_LEVEL else ACR_LEVEL1


def level_of_acr(acr: object) -> int | None:
    """The level an ``acr`` claim stands for; None for a value natid never issues."""
    return LEVEL_BY_ACR.get(acr) if isinstance(acr, str) else None
