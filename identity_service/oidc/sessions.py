"""The single sign-on session: who is logged in at the provider, since when, how strongly.

The browser holds only a random session key in an HttpOnly, SameSite=Lax cookie; the
session itself (``sid``, personal ID number, ``auth_time``, level, ``amr``) lives in the
state store under a hash of that key, so a leaked store does not yield usable cookies.
``sid`` is a separate public identifier (it goes into ID tokens); the key is rotated on
every login and step-up, so a key planted before login is worthless (session fixation).

``end_others`` ends every other session of a citizen (after a password change): sessions
are found by cookie, not by citizen, so it leaves a marker under a keyed hash of the
citizen's number (when, and which session stays), and ``load`` ends a session older than
that marker. One more state-store read per loaded session.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from identity_service.oidc.levels import acr_for_level, amr_for_level
from identity_service.state import StateStore

SESSION_COOKIE = "natid_session"
_KEY_PREFIX = "sso:"
_ENDED_BEFORE_PREFIX = "sso-ended-before:"
_MAX_COOKIE_LENGTH = 128


@dataclass(frozen=True, slots=True)
class SsoSession:
    sid: str
    personal_id_number: str
    auth_time: int
    level: int  # the level achieved by the last authentication
    account_level: int  # the account's own level (can it step up?)
    expires_at: int

    @property
    def acr(self) -> str:
        return acr_for_level(self.level)

    @property
    def amr(self) -> list[str]:
        return amr_for_level(self.level)

    def to_json(self) -> dict[str, Any]:
        return {
            "sid": self.sid,
            "personal_id_number": self.personal_id_number,
            "auth_time": self.auth_time,
            "level": self.level,
            "account_level": self.account_level,
            "expires_at": self.expires_at,
        }


class SsoSessions:
    """Creates, finds, upgrades and ends SSO sessions in the state store."""

    def __init__(
        self,
        state: StateStore,
        ttl: int,
        *,
        marker_key: bytes,
        clock: Callable[[], float] = time.time,
    ) -> None:
        """``marker_key`` keys the hash that names a citizen's marker in the store (the
        server secret's, so the store holds no hash of a bare ID number)."""
        self._state = state
        self._ttl = ttl
        self._clock = clock
        self._marker_key = hmac.new(marker_key, b"natid/sso-ended-before/v1", "sha256").digest()

    def load(self, cookie_value: str | None) -> SsoSession | None:
        if not cookie_value or len(cookie_value) > _MAX_COOKIE_LENGTH:
            return None
        data = self._state.get(_key(cookie_value))
        if data is None:
            return None
        try:
            session = SsoSession(**data)
        except TypeError:  # written by an incompatible version: treat as logged out
            return None
        ended = self._state.get(self._ended_before_key(session.personal_id_number))
        if (
            ended is not None
            and session.sid != ended["kept_sid"]
            and session.auth_time <= ended["time"]
        ):
            self.end(cookie_value)
            return None
        return session

    def end_others(self, session: SsoSession) -> None:
        """End every session of ``session``'s citizen except ``session`` itself (in
        other browsers too); sessions made later are not affected."""
        self._state.put(
            self._ended_before_key(session.personal_id_number),
            {"time": int(self._clock()), "kept_sid": session.sid},
            self._ttl,  # no session that the marker ends outlives it
        )

    def create(
        self,
        personal_id_number: str,
        *,
        level: int,
        account_level: int,
        replaces: str | None = None,
    ) -> tuple[str, SsoSession]:
        """A fresh session after a full login; the old cookie's session (if any) ends."""
        if replaces:
            self.end(replaces)
        now = int(self._clock())
        session = SsoSession(
            sid=secrets.token_urlsafe(16),
            personal_id_number=personal_id_number,
            auth_time=now,
            level=level,
            account_level=account_level,
            expires_at=now + self._ttl,
        )
        return self._store(session), session

    def step_up(self, cookie_value: str, session: SsoSession, level: int) -> tuple[str, SsoSession]:
        """The same session (same sid and expiry) at a higher level, under a new key."""
        self.end(cookie_value)
        now = int(self._clock())
        upgraded = SsoSession(
            sid=session.sid,
            personal_id_number=session.personal_id_number,
            auth_time=now,
            level=max(level, session.level),
            account_level=session.account_level,
            expires_at=session.expires_at,
        )
        return self._store(upgraded), upgraded

    def end(self, cookie_value: str) -> None:
        if cookie_value and len(cookie_value) <= _MAX_COOKIE_LENGTH:
            self._state.delete(_key(cookie_value))

    def _store(self, session: SsoSession) -> str:
        remaining = session.expires_at - int(self._clock())
        cookie_value = secrets.token_urlsafe(32)
        self._state.put(_key(cookie_value), session.to_json(), max(remaining, 1))
        return cookie_value

    @property
    def ttl(self) -> int:
        return self._ttl

    def _ended_before_key(self, personal_id_number: str) -> str:
        digest = hmac.new(self._marker_key, personal_id_number.encode("ascii"), "sha256")
        return _ENDED_BEFORE_PREFIX + digest.hexdigest()


def _key(cookie_value: str) -> str:
    return _KEY_PREFIX + hashlib.sha256(cookie_value.encode("utf-8")).hexdigest()
