"""Rendering the provider's HTML pages and setting its cookies.

Pages are Jinja2 templates (``identity_service/templates``), autoescaped, in the
interaction's language. Every page response is ``Cache-Control: no-store`` (set by the
security-headers middleware); cookies are HttpOnly, SameSite=Lax and Secure whenever the
issuer is https.
"""

from __future__ import annotations

import secrets
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from fastapi import Request, Response
from fastapi.templating import Jinja2Templates
from markupsafe import escape
from starlette.responses import HTMLResponse

from identity_service.i18n import other_locale, translator

TEMPLATES_DIR = Path(__file__).resolve().parent.parent / "templates"
STATIC_DIR = Path(__file__).resolve().parent.parent / "static"


def create_templates() -> Jinja2Templates:
    templates = Jinja2Templates(directory=str(TEMPLATES_DIR))
    # The templates ship with the package and never change while it runs: without this,
    # Jinja2 stats the template file on every page it renders.
    templates.env.auto_reload = False
    return templates


def render(
    request: Request,
    template: str,
    *,
    locale: str,
    context: dict[str, Any] | None = None,
    status_code: int = 200,
    headers: dict[str, str] | None = None,
    language_url: str | None = None,
    slots: tuple[str, ...] = (),
) -> HTMLResponse:
    """The page ``template`` in ``locale``. ``slots`` names the context's per-request
    strings (an interaction's id and CSRF token): the page is then made from a skeleton
    rendered once with the rest of the context (``PageSkeletons``), those values put in
    its slots."""
    templates: Jinja2Templates = request.app.state.templates
    values = {
        "locale": locale,
        "other_locale": other_locale(locale),
        "t": translator(locale),
        "language_url": language_url,
        **(context or {}),
    }
    skeletons: PageSkeletons | None = getattr(request.app.state, "page_skeletons", None)
    if slots and skeletons is not None:
        page = skeletons.page(template, values, {name: values[name] for name in slots})
        if page is not None:
            return HTMLResponse(page, status_code=status_code, headers=headers)
    return templates.TemplateResponse(
        request, template, values, status_code=status_code, headers=headers
    )


class PageSkeletons:
    """Pages rendered once per template and context, their per-request values left as
    slots: a login page is the same for every citizen of a portal but for its interaction
    id and CSRF token, and rendering it through Jinja2 costs about 165 µs where filling
    the slots costs a few. A slot is a unique alphanumeric marker, which autoescaping
    leaves alone, rendered where the value goes; the value, escaped as Jinja2 would,
    replaces every marker. Values that also appear inside another context string (the
    language link holds the interaction id) are marked there too. Skeletons are kept per
    template and the context's other values, at most ``max_pages`` of them (the oldest
    goes first); contexts that cannot be a key (unhashable values) are rendered as usual.
    The templates may not read the request (skeletons are rendered without one)."""

    def __init__(self, templates: Jinja2Templates, *, max_pages: int = 256) -> None:
        self._environment = templates.env
        self._max_pages = max_pages
        self._pages: dict[tuple[Any, ...], str] = {}
        self._lock = threading.Lock()
        self._marker = f"natidslot{secrets.token_hex(8)}n"

    def page(
        self, template: str, values: Mapping[str, Any], slots: Mapping[str, Any]
    ) -> str | None:
        """The page, or None when the values cannot be a skeleton's key or a slot's value
        is not a string of at least ``_MIN_SLOT_VALUE`` characters."""
        markers: dict[str, str] = {}
        for index, (name, value) in enumerate(slots.items()):
            if not isinstance(value, str) or len(value) < _MIN_SLOT_VALUE:
                return None
            markers[name] = f"{self._marker}{index}x"
        skeleton_values: dict[str, Any] = {}
        key_items: list[tuple[str, Any]] = []
        for name, value in values.items():
            if name in markers:
                value = markers[name]
            elif isinstance(value, str):
                for slot, marker in markers.items():
                    value = value.replace(slots[slot], marker)
            skeleton_values[name] = value
            if name not in ("t", "other_locale"):  # both follow from the locale
                key_items.append((name, _frozen(value)))
        key = (template, *key_items)
        try:
            skeleton = self._pages.get(key)
        except TypeError:
            return None
        if skeleton is None:
            skeleton = self._environment.get_template(template).render(skeleton_values)
            with self._lock:
                if len(self._pages) >= self._max_pages:
                    self._pages.pop(next(iter(self._pages)))
                self._pages[key] = skeleton
        for name, marker in markers.items():
            skeleton = skeleton.replace(marker, str(escape(slots[name])))
        return skeleton


# Slot values are found in other strings by plain search: only long random ones (an id,
# a token), which nothing else could contain by chance.
_MIN_SLOT_VALUE = 16


def _frozen(value: Any) -> Any:
    if isinstance(value, list | tuple):
        return tuple(_frozen(item) for item in value)
    if isinstance(value, dict):
        return tuple(sorted((key, _frozen(item)) for key, item in value.items()))
    return value


def error_page(
    request: Request,
    reason: str,
    *,
    locale: str = "vi",
    status_code: int = 400,
    detail: str | None = None,
    headers: dict[str, str] | None = None,
) -> HTMLResponse:
    """A page that explains why the flow cannot go on (never a redirect)."""
    return render(
        request,
        "error.html",
        locale=locale,
        context={"reason": reason, "detail": detail},
        status_code=status_code,
        headers=headers,
    )


def set_cookie(response: Response, name: str, value: str, *, secure: bool) -> None:
    """A session-lifetime cookie for the whole site: HttpOnly, SameSite=Lax."""
    response.set_cookie(name, value, path="/", httponly=True, samesite="lax", secure=secure)
