"""What a portal keeps about a logged-in citizen, and about a login in progress.

``CitizenIdentity`` is built from a verified ID token (who, at what level, when) and the
userinfo answer (the claims the citizen agreed to share). ``PendingLogin`` is the state a
login needs between the redirect to the IdP and the callback. Both travel through the
server-side session as plain JSON.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class PendingLogin:
    state: str
    nonce: str
    code_verifier: str
    level: int
    next_path: str
    started_at: float

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PendingLogin:
        return cls(
            state=str(data["state"]),
            nonce=str(data["nonce"]),
            code_verifier=str(data["code_verifier"]),
            level=int(data["level"]),
            next_path=str(data["next_path"]),
            started_at=float(data["started_at"]),
        )


@dataclass(frozen=True, slots=True)
class CitizenIdentity:
    """A citizen as this portal knows them: ``subject`` is pairwise (this portal only)."""

    subject: str
    level: int
    acr: str
    amr: list[str]
    auth_time: int | None
    claims: dict[str, Any] = field(default_factory=dict)
    # Kept for RP-initiated logout (id_token_hint); never shown on a page.
    id_token: str = ""
    # The IdP's session id (the ID token's ``sid``): a back-channel logout names it.
    idp_session_id: str = ""

    @property
    def name(self) -> str:
        return str(self.claims.get("name") or "")

    @property
    def birthdate(self) -> str:
        return str(self.claims.get("birthdate") or "")

    @property
    def national_id(self) -> str:
        return str(self.claims.get("national_id") or "")

    @property
    def phone_number(self) -> str:
        return str(self.claims.get("phone_number") or "")

    @property
    def gender(self) -> str:
        return str(self.claims.get("gender") or "")

    @property
    def permanent_address(self) -> str:
        return _formatted(self.claims.get("address"))

    @property
    def current_address(self) -> str:
        return _formatted(self.claims.get("current_residence")) or self.permanent_address

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CitizenIdentity:
        return cls(
            subject=str(data["subject"]),
            level=int(data["level"]),
            acr=str(data["acr"]),
            amr=[str(method) for method in data.get("amr", [])],
            auth_time=data.get("auth_time"),
            claims=dict(data.get("claims", {})),
            id_token=str(data.get("id_token", "")),
            idp_session_id=str(data.get("idp_session_id", "")),
        )


def _formatted(address: object) -> str:
    """An OIDC address claim (§5.1.1) as one line."""
    if isinstance(address, dict):
        return str(address.get("formatted") or "")
    return str(address or "")
