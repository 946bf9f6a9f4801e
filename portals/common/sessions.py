"""Server-side sessions of a portal, and the CSRF tokens bound to them.

The browser holds only a random session token in an HttpOnly, SameSite=Lax cookie; the
session's data (pending logins, the verified identity, the ID token kept as a logout hint)
lives in the portal's own database. That keeps cookies small whatever the claims weigh,
and logging out really ends the session: a copied cookie is worthless afterwards.

The database stores an HMAC of the token, never the token itself, so reading the table
does not let anyone ride a session. CSRF tokens are HMACs of the session token: nothing
to store, and they die with the session.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Column, Engine, Float, MetaData, String, Table, Text, delete, select

SESSION_TOKEN_BYTES = 32
MAX_TOKEN_LENGTH = 128

session_metadata = MetaData()
session_table = Table(
    "portal_session",
    session_metadata,
    Column("token_digest", String(64), primary_key=True),
    Column("data", Text, nullable=False),
    Column("expires_at", Float, nullable=False, index=True),
)


@dataclass
class PortalSession:
    """One browser's session: ``token`` is the cookie value, ``data`` is JSON-able."""

    token: str
    expires_at: float
    data: dict[str, Any] = field(default_factory=dict)


class SessionStore:
    """Sessions in the portal's database, with an absolute lifetime of ``ttl`` seconds."""

    def __init__(
        self,
        engine: Engine,
        key: bytes,
        ttl: int,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._engine = engine
        self._key = key
        self._ttl = ttl
        self._clock = clock

    def create_schema(self) -> None:
        session_metadata.create_all(self._engine)

    def create(self, data: dict[str, Any] | None = None) -> PortalSession:
        """A new session with a fresh token (also clears out expired sessions)."""
        now = self._clock()
        session = PortalSession(
            token=secrets.token_urlsafe(SESSION_TOKEN_BYTES),
            expires_at=now + self._ttl,
            data=dict(data or {}),
        )
        with self._engine.begin() as connection:
            connection.execute(delete(session_table).where(session_table.c.expires_at <= now))
            connection.execute(
                session_table.insert().values(
                    token_digest=self._digest(session.token),
                    data=json.dumps(session.data),
                    expires_at=session.expires_at,
                )
            )
        return session

    def load(self, token: str | None) -> PortalSession | None:
        """The live session of ``token``, or None (unknown, expired or malformed)."""
        if not token or len(token) > MAX_TOKEN_LENGTH:
            return None
        with self._engine.connect() as connection:
            row = connection.execute(
                select(session_table.c.data, session_table.c.expires_at).where(
                    session_table.c.token_digest == self._digest(token)
                )
            ).first()
        if row is None or row.expires_at <= self._clock():
            return None
        return PortalSession(token=token, expires_at=row.expires_at, data=json.loads(row.data))

    def save(self, session: PortalSession) -> None:
        with self._engine.begin() as connection:
            connection.execute(
                session_table.update()
                .where(session_table.c.token_digest == self._digest(session.token))
                .values(data=json.dumps(session.data))
            )

    def delete(self, token: str) -> None:
        with self._engine.begin() as connection:
            connection.execute(
                delete(session_table).where(session_table.c.token_digest == self._digest(token))
            )

    def csrf_token(self, session: PortalSession) -> str:
        return self._mac(b"csrf|" + session.token.encode("ascii"))

    def csrf_matches(self, session: PortalSession, candidate: str) -> bool:
        return hmac.compare_digest(self.csrf_token(session), candidate or "")

    def _digest(self, token: str) -> str:
        return self._mac(b"session|" + token.encode("ascii", "replace"))

    def _mac(self, message: bytes) -> str:
        return hmac.new(self._key, message, hashlib.sha256).hexdigest()
