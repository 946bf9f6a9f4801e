"""Rendering the provider's HTML pages and setting its cookies.

Pages are Jinja2 templates (``identity_service/templates``), autoescaped, in the
interaction's language. Every page response is ``Cache-Control: no-store`` (set by the
security-headers middleware); cookies are HttpOnly, SameSite=Lax and Secure whenever the
issuer is https.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import Request, Response
from fastapi.templating import Jinja2Templates
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
) -> HTMLResponse:
    templates: Jinja2Templates = request.app.state.templates
    values = {
        "locale": locale,
        "other_locale": other_locale(locale),
        "t": translator(locale),
        "language_url": language_url,
        **(context or {}),
    }
    return templates.TemplateResponse(
        request, template, values, status_code=status_code, headers=headers
    )


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
