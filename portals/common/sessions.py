"""Server-side sessions of a portal, and the CSRF tokens bound to them.

The browser holds only a random session token in an HttpOnly, SameSite=Lax cookie; the
session's data (pending logins, the verified identity, the ID token kept as a logout hint)
lives in the portal's own database, with the IdP session it came from, so that the
IdP's back-channel logout can end it. That keeps cookies small whatever the claims weigh,
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

from sqlalchemy import (
    Column,
    Connection,
    Engine,
    Float,
    MetaData,
    String,
    Table,
    Text,
    delete,
    select,
)

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
# Which IdP session (``sid``) and pairwise subject a logged-in session came from, so a
# back-channel logout can find it. A table of its own: portal databases made before it
# existed gain it from ``create_all`` without a migration.
session_link_table = Table(
    "portal_session_idp_link",
    session_metadata,
    Column("token_digest", String(64), primary_key=True),
    Column("idp_session_id", String(256), nullable=True, index=True),
    Column("subject", String(256), nullable=True, index=True),
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

    def create(
        self,
        data: dict[str, Any] | None = None,
        *,
        idp_session_id: str | None = None,
        subject: str | None = None,
    ) -> PortalSession:
        """A new session with a fresh token (also clears out expired sessions). A session
        that a login started names the IdP session (``sid``) and the pairwise subject,
        which a back-channel logout may end (``end_idp_session``)."""
        now = self._clock()
        session = PortalSession(
            token=secrets.token_urlsafe(SESSION_TOKEN_BYTES),
            expires_at=now + self._ttl,
            data=dict(data or {}),
        )
        digest = self._digest(session.token)
        with self._engine.begin() as connection:
            for table in (session_table, session_link_table):
                connection.execute(delete(table).where(table.c.expires_at <= now))
            connection.execute(
                session_table.insert().values(
                    token_digest=digest,
                    data=json.dumps(session.data),
                    expires_at=session.expires_at,
                )
            )
            if idp_session_id or subject:
                connection.execute(
                    session_link_table.insert().values(
                        token_digest=digest,
                        idp_session_id=idp_session_id or None,
                        subject=subject or None,
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
        digest = self._digest(token)
        with self._engine.begin() as connection:
            for table in (session_table, session_link_table):
                connection.execute(delete(table).where(table.c.token_digest == digest))

    def end_idp_session(
        self, idp_session_id: str | None, subject: str | None, *, connection: Connection
    ) -> int:
        """End every session started in IdP session ``idp_session_id`` (for ``subject``
        when given), or every session of ``subject`` when no ``sid`` is given (Back-Channel
        Logout §2.7); how many ended. Runs in the caller's transaction."""
        if not idp_session_id and not subject:
            return 0
        conditions = []
        if idp_session_id:
            conditions.append(session_link_table.c.idp_session_id == idp_session_id)
        if subject:
            conditions.append(session_link_table.c.subject == subject)
        digests = select(session_link_table.c.token_digest).where(*conditions)
        ended = connection.execute(
            delete(session_table).where(session_table.c.token_digest.in_(digests))
        ).rowcount
        connection.execute(delete(session_link_table).where(*conditions))
        return ended

    def csrf_token(self, session: PortalSession) -> str:
        return self._mac(b"csrf|" + session.token.encode("ascii"))

    def csrf_matches(self, session: PortalSession, candidate: str) -> bool:
        return hmac.compare_digest(self.csrf_token(session), candidate or "")

    def _digest(self, token: str) -> str:
        return self._mac(b"session|" + token.encode("ascii", "replace"))

    def _mac(self, message: bytes) -> str:
        return hmac.new(self._key, message, hashlib.sha256).hexdigest()
