"""One running portal (``Portal``) and what a request knows about its visitor (``Visitor``).

``Portal`` holds the portal's settings, database engine, session store, e-ID client, the
back-channel logout receiver and the page renderer; it lives in ``app.state.portal``.
Routes take ``VisitorDep`` (the session, the logged-in identity if any, the language) and
call ``portal.render`` to answer with a page, ``require_identity`` to send an anonymous
or too-weakly authenticated visitor to the e-ID login, and ``check_csrf`` on every form
post.
"""

from __future__ import annotations

import datetime as dt
import hmac
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import Depends, HTTPException, Request
from fastapi.responses import HTMLResponse, Response
from jinja2 import ChoiceLoader, Environment, FileSystemLoader, StrictUndefined, select_autoescape
from sqlalchemy import Engine

from portals.common.backchannel_logout import BackchannelLogout
from portals.common.i18n import LOCALES, Catalogue, Messages, choose_locale
from portals.common.identity import CitizenIdentity
from portals.common.oidc_client import EidClient
from portals.common.sessions import PortalSession, SessionStore
from portals.common.settings import PortalSettings

COMMON_TEMPLATES = Path(__file__).parent / "templates"
COMMON_STATIC = Path(__file__).parent / "static"
LANGUAGE_COOKIE_MAX_AGE = 365 * 24 * 3600
VIETNAM_TIME = dt.timezone(dt.timedelta(hours=7), "ICT")
# The page the IdP returns the browser to after logging out (registered for each portal).
LOGGED_OUT_PATH = "/?logged_out=1"
LOGOUT_STATE_KEY = "logout_state"


@dataclass(frozen=True, slots=True)
class NavItem:
    path: str
    label_key: str
    needs_login: bool = False


@dataclass(frozen=True)
class PortalSpec:
    """What makes one portal itself: its name, pages, texts, look and lowest login level."""

    name: str  # short and stable: the database file and cookie names derive from it
    title_key: str
    min_level: int
    templates_dir: Path
    static_dir: Path
    messages: Catalogue
    nav: tuple[NavItem, ...] = field(default_factory=tuple)

    @property
    def session_cookie(self) -> str:
        # Cookies ignore ports: every portal on 127.0.0.1 needs its own cookie names.
        return f"natid_rp_{self.name}_session"

    @property
    def language_cookie(self) -> str:
        return f"natid_rp_{self.name}_lang"


@dataclass(frozen=True, slots=True)
class Visitor:
    locale: str
    session: PortalSession | None
    identity: CitizenIdentity | None


class LoginRequiredError(Exception):
    """The page needs a login at ``level``; answered with a redirect to the e-ID login."""

    def __init__(self, level: int, next_path: str) -> None:
        super().__init__(f"level {level} required")
        self.level = level
        self.next_path = next_path


class Portal:
    def __init__(
        self,
        spec: PortalSpec,
        settings: PortalSettings,
        *,
        engine: Engine,
        sessions: SessionStore,
        eid: EidClient,
        backchannel: BackchannelLogout,
    ) -> None:
        self.spec = spec
        self.settings = settings
        self.engine = engine
        self.sessions = sessions
        self.eid = eid
        self.backchannel = backchannel
        self.messages = Messages.merged(spec.messages)
        self._templates = Environment(
            loader=ChoiceLoader(
                [FileSystemLoader(spec.templates_dir), FileSystemLoader(COMMON_TEMPLATES)]
            ),
            autoescape=select_autoescape(["html"]),
            undefined=StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self._templates.filters["display_date"] = display_date
        self._templates.filters["display_time"] = display_time

    def visitor(self, request: Request) -> Visitor:
        locale = choose_locale(
            request.query_params.get("lang"), request.cookies.get(self.spec.language_cookie)
        )
        session = self.sessions.load(request.cookies.get(self.spec.session_cookie))
        identity = None
        if session is not None and session.data.get("identity"):
            identity = CitizenIdentity.from_dict(session.data["identity"])
        return Visitor(locale=locale, session=session, identity=identity)

    def render(
        self,
        request: Request,
        visitor: Visitor,
        template: str,
        context: dict[str, Any] | None = None,
        *,
        status_code: int = 200,
        page_path: str | None = None,
    ) -> HTMLResponse:
        """The page ``template`` in the visitor's language. ``page_path`` is where the
        language switch and the login button lead back to (default: this path); pages
        answering a one-time URL such as the login callback point them elsewhere."""
        other = "en" if visitor.locale == "vi" else "vi"
        path = page_path or request.url.path
        page_context = {
            "t": self.messages.translator(visitor.locale),
            "locale": visitor.locale,
            "identity": visitor.identity,
            "csrf_token": self.sessions.csrf_token(visitor.session) if visitor.session else "",
            "portal": self.spec,
            "nav": [item for item in self.spec.nav if visitor.identity or not item.needs_login],
            "current_path": path,
            "language_url": f"{path}?{urlencode({'lang': other})}",
            "logged_out": self.logout_notice(request, visitor),
            **(context or {}),
        }
        html = self._templates.get_template(template).render(page_context)
        response = HTMLResponse(html, status_code=status_code)
        if request.query_params.get("lang") in LOCALES:
            self.remember_language(response, visitor.locale)
        return response

    def logout_notice(self, request: Request, visitor: Visitor) -> str:
        """Which "logged out" notice the page shows: ``"everywhere"`` when the IdP sent the
        browser back with the ``state`` this browser's logout sent, ``"portal"`` after a
        logout that ended only the portal's session, ``""`` otherwise (a "logged out" link
        with a foreign ``state`` is not believed)."""
        if request.query_params.get("logged_out") != "1" or visitor.identity is not None:
            return ""
        returned = request.query_params.get("state")
        if returned is None:
            return "portal"
        expected = visitor.session.data.get(LOGOUT_STATE_KEY) if visitor.session else None
        if isinstance(expected, str) and hmac.compare_digest(expected, returned):
            return "everywhere"
        return ""

    def remember_language(self, response: Response, locale: str) -> None:
        response.set_cookie(
            self.spec.language_cookie,
            locale,
            max_age=LANGUAGE_COOKIE_MAX_AGE,
            httponly=True,
            samesite="lax",
            secure=self.settings.secure_cookies,
        )

    def set_session_cookie(self, response: Response, session: PortalSession) -> None:
        response.set_cookie(
            self.spec.session_cookie,
            session.token,
            max_age=self.settings.session_ttl_seconds,
            httponly=True,
            samesite="lax",
            secure=self.settings.secure_cookies,
        )

    def clear_session_cookie(self, response: Response) -> None:
        response.delete_cookie(
            self.spec.session_cookie,
            httponly=True,
            samesite="lax",
            secure=self.settings.secure_cookies,
        )

    def require_identity(
        self, request: Request, visitor: Visitor, level: int | None = None
    ) -> CitizenIdentity:
        """The logged-in citizen at ``level`` (the portal's lowest by default), or a
        redirect to log in and come back here."""
        needed = max(level or self.spec.min_level, self.spec.min_level)
        if visitor.identity is None or visitor.identity.level < needed:
            raise LoginRequiredError(needed, request.url.path)
        return visitor.identity

    def check_csrf(self, visitor: Visitor, token: str) -> PortalSession:
        if visitor.session is None or not self.sessions.csrf_matches(visitor.session, token):
            raise HTTPException(status_code=403)
        return visitor.session


def display_date(value: object) -> str:
    """``1985-03-14`` (or a date) as ``14/03/1985``, the way Vietnamese forms write dates."""
    if isinstance(value, dt.datetime):
        value = value.date()
    if isinstance(value, str):
        try:
            value = dt.date.fromisoformat(value)
        except ValueError:
            return value
    if isinstance(value, dt.date):
        return value.strftime("%d/%m/%Y")
    return "" if value is None else str(value)


def display_time(value: object) -> str:
    """A moment (datetime or POSIX seconds) in Vietnam's time zone (UTC+7, no DST)."""
    if isinstance(value, int | float):
        value = dt.datetime.fromtimestamp(value, dt.UTC)
    if not isinstance(value, dt.datetime):
        return "" if value is None else str(value)
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return value.astimezone(VIETNAM_TIME).strftime("%d/%m/%Y %H:%M")


def get_portal(request: Request) -> Portal:
    return request.app.state.portal


def get_visitor(request: Request) -> Visitor:
    return get_portal(request).visitor(request)


PortalDep = Annotated[Portal, Depends(get_portal)]
VisitorDep = Annotated[Visitor, Depends(get_visitor)]
