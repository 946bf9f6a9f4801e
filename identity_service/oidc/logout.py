"""RP-initiated logout (OpenID Connect RP-Initiated Logout 1.0) and ending the SSO session.

A portal sends the browser to the end-session endpoint with ``id_token_hint``,
``client_id``, ``post_logout_redirect_uri``, ``state`` and ``ui_locales``. The rules:

* The hint counts only if it is an ID token we signed (a published key, the algorithm
  the key is for, not an access or logout token) for our issuer and a registered
  client; an expired one is fine (§2: the portal's copy is often old). A forged hint,
  one from another issuer or for an unknown client is ignored, not trusted.
* ``client_id``, if sent with a valid hint, must name the hint's audience.
* ``post_logout_redirect_uri`` is used only if it exactly equals one registered for the
  identified client; otherwise there is no redirect at all (no open redirector), and the
  citizen sees the outcome on our page. ``state`` is echoed on the redirect.
* Without a valid hint that matches the browser's session, the citizen is asked to
  confirm (a page with a form): another site cannot log them out behind their back. The
  pending confirmation is bound to the session it would end, so a confirmation form
  obtained by someone else cannot be replayed into this browser.

Ending the session deletes it from the state store and finds the portals that shared it
(``backchannel.SessionParticipants``); their logout notices are returned for delivery
off the request path.
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any
from urllib.parse import urlencode, urlsplit, urlunsplit

import jwt

from identity_service.keys import KeyStore
from identity_service.oidc.backchannel import LogoutNotice, LogoutTokens, SessionParticipants
from identity_service.oidc.clients import ClientRegistry, RegisteredClient
from identity_service.oidc.metadata import ID_TOKEN_SIGNING_ALGORITHMS
from identity_service.oidc.sessions import SsoSession, SsoSessions
from identity_service.state import StateStore

MAX_HINT_LENGTH = 8192
MAX_PARAMETER_LENGTH = 2048
PENDING_LOGOUT_TTL = 600
_PENDING_PREFIX = "logout:"
_MAX_PENDING_ID_LENGTH = 64
_NOT_ID_TOKEN_TYPES = frozenset({"at+jwt", "application/at+jwt", "logout+jwt"})


@dataclass(frozen=True, slots=True)
class IdTokenHint:
    """The parts of a verified ``id_token_hint`` logout needs."""

    client_id: str
    subject: str
    sid: str | None


@dataclass(frozen=True, slots=True)
class LogoutPlan:
    """What an end-session request leads to.

    ``confirm``: ask the citizen first (``pending_id`` and ``csrf_token`` go in the form);
    otherwise the session (if any) is ended now. ``redirect_uri`` is set only when it is
    registered for ``client``.
    """

    client: RegisteredClient | None
    redirect_uri: str | None
    state: str | None
    confirm: bool
    pending_id: str | None = None
    csrf_token: str | None = None


@dataclass(frozen=True, slots=True)
class PendingLogout:
    """A logout waiting for the citizen's confirmation (kept in the state store)."""

    id: str
    csrf_token: str
    sid: str | None
    client_id: str | None
    redirect_uri: str | None
    state: str | None

    def csrf_matches(self, presented: str) -> bool:
        return bool(presented) and hmac.compare_digest(
            self.csrf_token.encode(), presented.encode("utf-8")
        )


class EndSession:
    def __init__(
        self,
        *,
        keys: KeyStore,
        issuer: str,
        clients: ClientRegistry,
        sessions: SsoSessions,
        state: StateStore,
        participants: SessionParticipants,
        logout_tokens: LogoutTokens,
    ) -> None:
        self._keys = keys
        self._issuer = issuer
        self._clients = clients
        self._sessions = sessions
        self._state = state
        self._participants = participants
        self._logout_tokens = logout_tokens

    def plan(self, parameters: Mapping[str, str], session: SsoSession | None) -> LogoutPlan:
        """Decide what to do with an end-session request from a browser holding ``session``."""
        hint = self.verify_hint(parameters.get("id_token_hint"))
        client_id = parameters.get("client_id")
        client: RegisteredClient | None = None
        if hint is not None and client_id is not None and client_id != hint.client_id:
            hint = None  # the request contradicts itself: trust neither for a redirect
            client_id = None
        if hint is not None:
            client = self._clients.get(hint.client_id)
        elif client_id:
            client = self._clients.get(client_id)
        requested_uri = parameters.get("post_logout_redirect_uri")
        redirect_uri = (
            requested_uri
            if client is not None and requested_uri in client.post_logout_redirect_uris
            else None
        )
        state = parameters.get("state")
        matches_session = hint is not None and (session is None or hint.sid == session.sid)
        if session is None or matches_session:
            return LogoutPlan(client, redirect_uri, state, confirm=False)
        pending = PendingLogout(
            id=secrets.token_urlsafe(24),
            csrf_token=secrets.token_urlsafe(24),
            sid=session.sid,
            client_id=None if client is None else client.client_id,
            redirect_uri=redirect_uri,
            state=state,
        )
        self._state.put(_PENDING_PREFIX + pending.id, asdict(pending), PENDING_LOGOUT_TTL)
        return LogoutPlan(
            client,
            redirect_uri,
            state,
            confirm=True,
            pending_id=pending.id,
            csrf_token=pending.csrf_token,
        )

    def take_pending(self, pending_id: str) -> PendingLogout | None:
        """The pending confirmation, consumed (a form works once), or None."""
        if not pending_id or len(pending_id) > _MAX_PENDING_ID_LENGTH:
            return None
        data = self._state.take(_PENDING_PREFIX + pending_id)
        return None if data is None else PendingLogout(**data)

    def client(self, client_id: str | None) -> RegisteredClient | None:
        return self._clients.get(client_id) if client_id else None

    def end(self, cookie_value: str | None, session: SsoSession | None) -> list[LogoutNotice]:
        """End the browser's SSO session; the logout notices for the portals that shared it."""
        if cookie_value:
            self._sessions.end(cookie_value)
        if session is None:
            return []
        participants = self._participants.leave_all(session.sid, self._clients.list_clients())
        return self._logout_tokens.notices(participants, session.sid)

    def verify_hint(self, token: str | None) -> IdTokenHint | None:
        """The hint if it is an ID token we issued to a registered client, else None."""
        if not token or len(token) > MAX_HINT_LENGTH:
            return None
        try:
            header = jwt.get_unverified_header(token)
        except jwt.InvalidTokenError:
            return None
        alg, kid, token_type = header.get("alg"), header.get("kid"), header.get("typ")
        if alg not in ID_TOKEN_SIGNING_ALGORITHMS or not isinstance(kid, str):
            return None
        if isinstance(token_type, str) and token_type.lower() in _NOT_ID_TOKEN_TYPES:
            return None
        key = self._keys.published_key(kid)
        if key is None or key.alg != alg:
            return None
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key.public_key,
                algorithms=[alg],
                issuer=self._issuer,
                # An expired hint is still a proof of who the portal logged in (§2).
                options={
                    "verify_exp": False,
                    "verify_iat": False,
                    "verify_nbf": False,
                    "verify_aud": False,
                    "require": ["iss", "sub", "aud"],
                },
            )
        except jwt.InvalidTokenError:
            return None
        client_id = _audience(claims)
        if client_id is None or self._clients.get(client_id) is None:
            return None
        sid = claims.get("sid")
        subject = claims["sub"]
        if not isinstance(subject, str):
            return None
        return IdTokenHint(client_id, subject, sid if isinstance(sid, str) else None)


def end_session_parameters(items: Mapping[str, list[str]]) -> dict[str, str]:
    """The first non-empty value of each known parameter, within length limits."""
    known = ("id_token_hint", "client_id", "post_logout_redirect_uri", "state", "ui_locales")
    parameters = {}
    for name in known:
        values = [value for value in items.get(name, []) if value]
        if not values:
            continue
        limit = MAX_HINT_LENGTH if name == "id_token_hint" else MAX_PARAMETER_LENGTH
        if len(values[0]) <= limit:
            parameters[name] = values[0]
    return parameters


def post_logout_redirect(redirect_uri: str, state: str | None) -> str:
    """The registered URI with ``state`` added to any query it already has."""
    if state is None:
        return redirect_uri
    parts = urlsplit(redirect_uri)
    added = urlencode({"state": state})
    query = f"{parts.query}&{added}" if parts.query else added
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, ""))


def _audience(claims: Mapping[str, Any]) -> str | None:
    """The client an ID token was for: ``azp``, else its single audience."""
    azp = claims.get("azp")
    if isinstance(azp, str):
        return azp
    audience = claims.get("aud")
    if isinstance(audience, str):
        return audience
    if isinstance(audience, list) and len(audience) == 1 and isinstance(audience[0], str):
        return audience[0]
    return None
