"""Interactions: an authorization request parked while the citizen logs in and consents.

An interaction lives in the state store under a random id with a TTL. It is bound to one
browser (the hash of a random browser-binding cookie) and carries a per-interaction CSRF
token that every form post must return; together they stop cross-site posts and login
CSRF (an attacker cannot make a victim's browser complete the attacker's interaction).

``step`` says which page comes next: ``login`` (ID number + password), ``second_factor``
(TOTP) or ``consent``. Once the citizen is authenticated, ``authentication`` holds the
facts the code will carry (sid, personal ID number, auth_time, level).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Any

from identity_service.oidc.requests import AuthorizationRequest
from identity_service.state import StateStore

BROWSER_COOKIE = "natid_browser"
DEFAULT_INTERACTION_TTL = 600
_KEY_PREFIX = "interaction:"
_MAX_ID_LENGTH = 64


class InteractionError(Exception):
    """An interaction cannot continue; ``reason`` keys the page's explanation.

    Reasons: ``expired`` (unknown or timed out), ``wrong_browser`` (the binding cookie
    does not match), ``csrf`` (the form's token does not match), ``wrong_step`` (a form
    for another step than the one expected).
    """

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)


class Step(StrEnum):
    LOGIN = "login"
    SECOND_FACTOR = "second_factor"
    CONSENT = "consent"


@dataclass(frozen=True, slots=True)
class Authentication:
    """The outcome of authentication that an authorization code will carry."""

    sid: str
    personal_id_number: str
    auth_time: int
    level: int


@dataclass(frozen=True, slots=True)
class Interaction:
    id: str
    request: AuthorizationRequest
    step: Step
    csrf_token: str
    browser_hash: str
    locale: str
    # The citizen being authenticated: known after the password step, or from the
    # session when the interaction is a step-up on top of it (``step_up_sid``).
    subject: str | None = None
    account_level: int | None = None
    password_verified: bool = False
    step_up_sid: str | None = None
    authentication: Authentication | None = None

    def to_json(self) -> dict[str, Any]:
        # Field by field: dataclasses.asdict deep-copied every value, the request's too
        # (about 50 µs for every authorization request), only to have it replaced.
        authentication = self.authentication
        return {
            "id": self.id,
            "request": self.request.to_json(),
            "step": self.step,
            "csrf_token": self.csrf_token,
            "browser_hash": self.browser_hash,
            "locale": self.locale,
            "subject": self.subject,
            "account_level": self.account_level,
            "password_verified": self.password_verified,
            "step_up_sid": self.step_up_sid,
            "authentication": None
            if authentication is None
            else {
                "sid": authentication.sid,
                "personal_id_number": authentication.personal_id_number,
                "auth_time": authentication.auth_time,
                "level": authentication.level,
            },
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Interaction:
        authentication = data.get("authentication")
        return cls(
            id=data["id"],
            request=AuthorizationRequest.from_json(data["request"]),
            step=Step(data["step"]),
            csrf_token=data["csrf_token"],
            browser_hash=data["browser_hash"],
            locale=data["locale"],
            subject=data.get("subject"),
            account_level=data.get("account_level"),
            password_verified=bool(data.get("password_verified")),
            step_up_sid=data.get("step_up_sid"),
            authentication=None if authentication is None else Authentication(**authentication),
        )

    def belongs_to(self, browser_cookie: str | None) -> bool:
        if not browser_cookie:
            return False
        return hmac.compare_digest(self.browser_hash, browser_hash(browser_cookie))

    def csrf_matches(self, presented: str | None) -> bool:
        if not presented:
            return False
        return hmac.compare_digest(self.csrf_token.encode(), presented.encode("utf-8"))


class InteractionStore:
    def __init__(self, state: StateStore, ttl: int = DEFAULT_INTERACTION_TTL) -> None:
        self._state = state
        self.ttl = ttl

    def create(
        self,
        request: AuthorizationRequest,
        *,
        step: Step,
        browser_cookie: str,
        **fields: Any,
    ) -> Interaction:
        interaction = Interaction(
            id=secrets.token_urlsafe(24),
            request=request,
            step=step,
            csrf_token=secrets.token_urlsafe(24),
            browser_hash=browser_hash(browser_cookie),
            locale=request.ui_locale or "vi",
            **fields,
        )
        self.save(interaction)
        return interaction

    def load(self, interaction_id: str) -> Interaction | None:
        if not interaction_id or len(interaction_id) > _MAX_ID_LENGTH:
            return None
        data = self._state.get(_KEY_PREFIX + interaction_id)
        if data is None:
            return None
        try:
            return Interaction.from_json(data)
        except (KeyError, TypeError, ValueError):
            return None

    def save(self, interaction: Interaction) -> None:
        self._state.put(_KEY_PREFIX + interaction.id, interaction.to_json(), self.ttl)

    def update(self, interaction: Interaction, **changes: Any) -> Interaction:
        updated = replace(interaction, **changes)
        self.save(updated)
        return updated

    def finish(self, interaction: Interaction) -> None:
        """Consume the interaction; ``InteractionError`` if another request finished it."""
        if self._state.take(_KEY_PREFIX + interaction.id) is None:
            raise InteractionError("expired")


def new_browser_cookie() -> str:
    return secrets.token_urlsafe(32)


def browser_hash(browser_cookie: str) -> str:
    return hashlib.sha256(browser_cookie.encode("utf-8")).hexdigest()
