"""OpenID Connect Back-Channel Logout 1.0: who shared a session, logout tokens, delivery.

* ``SessionParticipants`` notes, in the state store, each client registered for
  back-channel logout that received tokens in an SSO session (one key per ``sid`` and
  client, holding the citizen's pairwise ``sub`` for that client), for as long as an SSO
  session can live. One key per client keeps concurrent code exchanges from losing
  each other's entries.
* ``LogoutTokens`` signs a logout token (§2.4): ``typ: logout+jwt``, signed like the
  client's ID tokens, with ``iss``, ``aud``, ``iat``, ``exp``, ``jti``, the back-channel
  logout ``events`` member, ``sub`` and ``sid``, and never a ``nonce``.
* ``BackchannelNotifier`` POSTs the tokens (§2.5) to each client's
  ``backchannel_logout_uri`` concurrently with a short timeout. It runs after the logout
  response has been sent; a failed delivery is logged with the client id and the reason
  only, never the token.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

import httpx

from identity_service.compact_jws import sign_compact_jws
from identity_service.keys import KeyStore
from identity_service.oidc.clients import RegisteredClient
from identity_service.state import StateStore

logger = logging.getLogger(__name__)

BACKCHANNEL_LOGOUT_EVENT = "http://schemas.openid.net/event/backchannel-logout"
LOGOUT_TOKEN_TYPE = "logout+jwt"
LOGOUT_TOKEN_TTL = 120
DELIVERY_TIMEOUT_SECONDS = 5.0
_PARTICIPANT_PREFIX = "sso-client:"


@dataclass(frozen=True, slots=True)
class Participant:
    """A client that received tokens in the ending session, and the citizen's sub there."""

    client: RegisteredClient
    subject: str


@dataclass(frozen=True, slots=True)
class LogoutNotice:
    """One logout token to deliver."""

    client_id: str
    uri: str
    logout_token: str


class SessionParticipants:
    def __init__(self, state: StateStore, ttl: int) -> None:
        self._state = state
        self._ttl = ttl

    def joined(self, sid: str, client_id: str, subject: str) -> None:
        """``client_id`` received tokens for ``subject`` in session ``sid``."""
        self._state.put(_key(sid, client_id), {"sub": subject}, self._ttl)

    def leave_all(self, sid: str, clients: Iterable[RegisteredClient]) -> list[Participant]:
        """The participants of ``sid`` among ``clients``, forgotten as they are found."""
        found = []
        for client in clients:
            if not client.backchannel_logout_uri:
                continue
            entry = self._state.take(_key(sid, client.client_id))
            if entry is not None:
                found.append(Participant(client, entry["sub"]))
        return found


class LogoutTokens:
    def __init__(
        self, keys: KeyStore, issuer: str, *, clock: Callable[[], float] = time.time
    ) -> None:
        self._keys = keys
        self._issuer = issuer
        self._clock = clock

    def logout_token(self, client: RegisteredClient, subject: str, sid: str) -> str:
        now = int(self._clock())
        claims = {
            "iss": self._issuer,
            "aud": client.client_id,
            "iat": now,
            "exp": now + LOGOUT_TOKEN_TTL,
            "jti": secrets.token_urlsafe(16),
            "events": {BACKCHANNEL_LOGOUT_EVENT: {}},
            "sub": subject,
            "sid": sid,
        }
        alg = client.id_token_signed_response_alg
        key = self._keys.signing_key(alg)
        return sign_compact_jws(claims, key.private_key, alg, kid=key.kid, typ=LOGOUT_TOKEN_TYPE)

    def notices(self, participants: Iterable[Participant], sid: str) -> list[LogoutNotice]:
        return [
            LogoutNotice(
                participant.client.client_id,
                participant.client.backchannel_logout_uri or "",
                self.logout_token(participant.client, participant.subject, sid),
            )
            for participant in participants
            if participant.client.backchannel_logout_uri
        ]


class BackchannelNotifier:
    """Delivers logout tokens; ``transport`` replaces the network (tests)."""

    def __init__(
        self,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        timeout_seconds: float = DELIVERY_TIMEOUT_SECONDS,
    ) -> None:
        self._transport = transport
        self._timeout = timeout_seconds

    async def deliver(self, notices: Sequence[LogoutNotice]) -> None:
        if not notices:
            return
        async with httpx.AsyncClient(
            transport=self._transport, timeout=self._timeout, follow_redirects=False
        ) as http:
            await asyncio.gather(*(self._deliver_one(http, notice) for notice in notices))

    @staticmethod
    async def _deliver_one(http: httpx.AsyncClient, notice: LogoutNotice) -> None:
        try:
            response = await http.post(
                notice.uri,
                data={"logout_token": notice.logout_token},
                headers={"Cache-Control": "no-store"},
            )
        except httpx.HTTPError as error:
            logger.warning(
                "back-channel logout to client %s failed: %s",
                notice.client_id,
                error.__class__.__name__,
            )
            return
        # §2.8: 200 on success; some frameworks answer 204 for an empty body.
        if response.status_code not in (200, 204):
            logger.warning(
                "back-channel logout to client %s answered HTTP %s",
                notice.client_id,
                response.status_code,
            )


def _key(sid: str, client_id: str) -> str:
    return f"{_PARTICIPANT_PREFIX}{sid}:{client_id}"
