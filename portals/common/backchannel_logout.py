"""Acting on the IdP's back-channel logout (OpenID Connect Back-Channel Logout 1.0 §2.7).

A verified logout token (``logout_tokens``) ends every portal session that came from the
IdP session it names (its ``sid``, and its pairwise ``sub`` when given; or every session
of that ``sub`` when it names no ``sid``). Each token works once: its ``jti`` is
recorded, in the same transaction as the sessions it ends, and kept until the token has
expired (after which the expiry check refuses it anyway). A token seen before is
refused with ``LogoutReplayError``, so a captured token cannot be replayed to end
sessions made later in the same IdP session.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable

from sqlalchemy import Column, Engine, Float, MetaData, String, Table, delete
from sqlalchemy.exc import IntegrityError

from portals.common.logout_tokens import LogoutRequest
from portals.common.sessions import SessionStore

replay_metadata = MetaData()
seen_logout_tokens = Table(
    "backchannel_logout_seen",
    replay_metadata,
    Column("token_digest", String(64), primary_key=True),
    Column("expires_at", Float, nullable=False, index=True),
)


class LogoutReplayError(Exception):
    """This logout token (its ``jti``) was already acted on."""


class BackchannelLogout:
    def __init__(
        self,
        engine: Engine,
        sessions: SessionStore,
        *,
        issuer: str,
        clock_skew_seconds: int = 60,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._engine = engine
        self._sessions = sessions
        self._issuer = issuer
        self._skew = clock_skew_seconds
        self._clock = clock

    def create_schema(self) -> None:
        replay_metadata.create_all(self._engine)

    def end_sessions(self, request: LogoutRequest) -> int:
        """End the sessions ``request`` names; how many. Raises ``LogoutReplayError``."""
        now = self._clock()
        digest = hashlib.sha256(f"{self._issuer}|{request.token_id}".encode()).hexdigest()
        try:
            with self._engine.begin() as connection:
                connection.execute(
                    delete(seen_logout_tokens).where(seen_logout_tokens.c.expires_at <= now)
                )
                connection.execute(
                    seen_logout_tokens.insert().values(
                        token_digest=digest, expires_at=request.expires_at + self._skew
                    )
                )
                return self._sessions.end_idp_session(
                    request.session_id, request.subject, connection=connection
                )
        except IntegrityError:
            raise LogoutReplayError("this logout token was already used") from None
