"""Scopes and the claims they release, read from the population record.

The provider's one seam to ``population_db`` (like node-oidc-provider's ``findAccount``):
"who is this citizen and what do they release under these scopes". Claims are built from
``population_db.registry.CitizenRecord`` only.

``household`` releases the citizen's own household facts (its file number, their relation
to the head, the member count) and nothing about the other members: their names and ID
numbers are other people's data, which this citizen's consent cannot release.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from population_db.units import unit_name

if TYPE_CHECKING:
    from population_db.registry import CitizenRecord, PopulationRegistry

# Scope → the claims it releases (OIDC Core §5.4 for profile, address, phone).
SCOPE_CLAIMS: dict[str, tuple[str, ...]] = {
    "openid": ("sub",),
    "profile": ("name", "family_name", "given_name", "middle_name", "birthdate", "gender"),
    "national_id": ("national_id",),
    "address": ("address", "current_residence"),
    "phone": ("phone_number", "phone_number_verified"),
    "household": ("household",),
    # OIDC Core §11: releases no claim; lets the portal keep access with refresh tokens.
    "offline_access": (),
}
SUPPORTED_SCOPES: tuple[str, ...] = tuple(SCOPE_CLAIMS)
# Claims about the authentication itself that ID tokens carry.
AUTHENTICATION_CLAIMS = ("iss", "aud", "exp", "iat", "auth_time", "nonce", "acr", "amr", "sid")
COUNTRY_CODE = "VN"
VIETNAM_CALLING_CODE = "84"


def supported_claims() -> list[str]:
    """Every claim the provider can release (the discovery document's claims_supported)."""
    names: list[str] = []
    for claims in SCOPE_CLAIMS.values():
        names.extend(claim for claim in claims if claim not in names)
    names.extend(claim for claim in AUTHENTICATION_CLAIMS if claim not in names)
    return names


class ClaimsService:
    """Claims about a citizen for a set of granted scopes (userinfo)."""

    def __init__(self, registry: PopulationRegistry) -> None:
        self._registry = registry

    def claims_for(self, personal_id_number: str, scopes: Iterable[str]) -> dict[str, Any]:
        """The claims the scopes release; empty if the citizen is no longer in the registry.

        ``sub`` is not included: it is pairwise per client and the caller adds it.
        """
        granted = set(scopes)
        if not granted & (SCOPE_CLAIMS.keys() - {"openid"}):
            return {}
        record = self._registry.get(personal_id_number)
        if record is None:
            return {}
        claims: dict[str, Any] = {}
        if "profile" in granted:
            claims.update(profile_claims(record))
        if "national_id" in granted:
            claims["national_id"] = record.personal_id_number
        if "address" in granted:
            claims.update(address_claims(record))
        if "phone" in granted and record.phone:
            claims["phone_number"] = e164_phone_number(record.phone)
            # The number is the one registered in the population database for this citizen.
            claims["phone_number_verified"] = True
        if "household" in granted and record.household_id is not None:
            claims["household"] = self._household_claim(record)
        return claims

    def _household_claim(self, record: CitizenRecord) -> dict[str, Any]:
        members = self._registry.household_members(record.personal_id_number)
        return {
            "id": str(record.household_id),
            "relation_to_head": record.relation_to_head,
            "member_count": max(len(members), 1),
        }


def profile_claims(record: CitizenRecord) -> dict[str, Any]:
    claims: dict[str, Any] = {
        "name": record.full_name,
        "family_name": record.family_name,
        "given_name": record.given_name,
    }
    if record.middle_name:
        claims["middle_name"] = record.middle_name
    claims["birthdate"] = record.birth_date.isoformat()
    claims["gender"] = record.gender
    return claims


def address_claims(record: CitizenRecord) -> dict[str, Any]:
    """``address`` (the permanent residence, OIDC Core §5.1.1) and ``current_residence``."""
    permanent = _address(record.permanent_address, record.permanent_unit_code)
    if record.temporary_address and record.temporary_unit_code is not None:
        current = _address(record.temporary_address, record.temporary_unit_code)
    else:
        current = dict(permanent)
    current["region"] = unit_name(record.current_unit_code)
    return {"address": permanent, "current_residence": current}


def _address(street_address: str, unit_code: int) -> dict[str, str]:
    region = unit_name(unit_code)
    return {
        "formatted": f"{street_address}, {region}",
        "street_address": street_address,
        "region": region,
        "country": COUNTRY_CODE,
    }


def e164_phone_number(phone: str) -> str:
    """A Vietnamese mobile number in E.164 (``0912345678`` → ``+84912345678``)."""
    digits = "".join(character for character in phone if character.isdigit())
    if phone.strip().startswith("+"):
        return f"+{digits}"
    if digits.startswith("0"):
        return f"+{VIETNAM_CALLING_CODE}{digits[1:]}"
    if digits.startswith(VIETNAM_CALLING_CODE) and len(digits) == 11:
        return f"+{digits}"
    return f"+{VIETNAM_CALLING_CODE}{digits}"
