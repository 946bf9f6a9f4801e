"""``/debugger``: the token debugger page for integrators (server-rendered, no JavaScript).

``GET /debugger`` shows the form; ``POST /debugger`` inspects the pasted token with
``identity_service.token_debugger`` against the provider's published JWKS and client
registry, and shows the decoded header and claims with every finding. The token goes
only into the response: it is never stored, and this module logs nothing (the page is
``no-store`` like every page). It travels in a POST body, never in a URL, so it stays out
of access logs and browser history.

The form is CSRF-protected by a double-submit: ``GET`` sets a random cookie (HttpOnly,
SameSite=Strict, path ``/debugger``) and the form carries an HMAC of it under the server
secret, so another site can neither post to the page nor read its answer. ``?lang=en`` or
``?lang=vi`` picks the language (Vietnamese by default); the form posts it back.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request, Response

from identity_service.api.deps import IdentityServices, ServicesDep
from identity_service.api.pages import error_page, render
from identity_service.api.routes.kyc import KYC_VERIFY_PATH
from identity_service.i18n import choose_locale, translate
from identity_service.token_debugger import Finding, TokenDebugger, TokenReport

router = APIRouter(tags=["token debugger"])

DEBUGGER_PATH = "/debugger"
CSRF_COOKIE = "natid_debugger"
MAX_AUDIENCE_LENGTH = 200
FormText = Annotated[str, Form()]
_CSRF_CONTEXT = b"natid token debugger csrf|"
_COOKIE_SHAPE = re.compile(r"[A-Za-z0-9_\-]{32,64}")


@router.get(DEBUGGER_PATH, summary="The token debugger (paste a token to inspect it)")
def debugger_form(request: Request, services: ServicesDep, lang: str | None = None) -> Response:
    cookie = request.cookies.get(CSRF_COOKIE) or ""
    fresh = not _well_formed(cookie)
    if fresh:
        cookie = secrets.token_urlsafe(32)
    response = _page(request, services, choose_locale(lang), cookie)
    if fresh:
        response.set_cookie(
            CSRF_COOKIE,
            cookie,
            path=DEBUGGER_PATH,
            httponly=True,
            samesite="strict",
            secure=services.secure_cookies,
        )
    return response


@router.post(DEBUGGER_PATH, summary="Inspect a pasted token (nothing is stored)")
def inspect_token(
    request: Request,
    services: ServicesDep,
    csrf_token: FormText = "",
    token: FormText = "",
    audience: FormText = "",
    lang: FormText = "",
) -> Response:
    locale = choose_locale(lang)
    cookie = request.cookies.get(CSRF_COOKIE) or ""
    if not _well_formed(cookie) or not hmac.compare_digest(
        csrf_token, _csrf_token(services, cookie)
    ):
        return error_page(request, "csrf", locale=locale, status_code=403)
    debugger = TokenDebugger(
        issuer=services.urls.issuer,
        jwks=services.keys.jwks,
        find_client=services.clients.get,
        assertion_audiences=(
            services.urls.token_endpoint,
            services.urls.introspection_endpoint,
            services.urls.revocation_endpoint,
            services.urls.pushed_authorization_request_endpoint,
            services.urls.issuer,
        ),
        dpop_endpoints=(
            services.urls.token_endpoint,
            services.urls.pushed_authorization_request_endpoint,
            services.urls.userinfo_endpoint,
            services.urls.endpoint(KYC_VERIFY_PATH),
        ),
    )
    audience = audience.strip()[:MAX_AUDIENCE_LENGTH]
    report = debugger.inspect(token, expected_audience=audience or None)
    return _page(request, services, locale, cookie, report=report, token=token, audience=audience)


def _page(
    request: Request,
    services: IdentityServices,
    locale: str,
    cookie: str,
    *,
    report: TokenReport | None = None,
    token: str = "",
    audience: str = "",
) -> Response:
    other = "en" if locale == "vi" else "vi"
    context: dict[str, Any] = {
        "csrf_token": _csrf_token(services, cookie),
        "token": token,
        "audience": audience,
        "report": report,
        "findings": _rows(report, locale) if report is not None else [],
    }
    return render(
        request,
        "debugger.html",
        locale=locale,
        context=context,
        language_url=f"{DEBUGGER_PATH}?lang={other}",
    )


def _rows(report: TokenReport, locale: str) -> list[dict[str, str]]:
    return [
        {
            "topic": translate(locale, f"debugger.topic.{finding.topic}"),
            "verdict": finding.verdict.value,
            "verdict_label": translate(locale, f"debugger.verdict.{finding.verdict.value}"),
            "code": finding.code,
            "text": finding_text(locale, finding),
        }
        for finding in report.findings
    ]


def finding_text(locale: str, finding: Finding) -> str:
    """The finding's sentence in ``locale``, its values filled in, durations in words."""
    values = {name: str(value) for name, value in finding.values.items()}
    if "seconds" in finding.values:
        values["duration"] = duration_words(int(finding.values["seconds"]), locale)
    text = translate(locale, f"debugger.finding.{finding.code}")
    return text.format_map(_Blank(values))


def duration_words(seconds: int, locale: str) -> str:
    """``3725`` → ``1 h 2 min`` (the two largest units that are not zero)."""
    seconds = max(seconds, 0)
    parts = (
        ("debugger.duration.hours", seconds // 3600),
        ("debugger.duration.minutes", seconds % 3600 // 60),
        ("debugger.duration.seconds", seconds % 60),
    )
    shown = [translate(locale, key, n=n) for key, n in parts if n][:2]
    return " ".join(shown) or translate(locale, "debugger.duration.seconds", n=0)


class _Blank(dict[str, str]):
    """Values for ``str.format_map``; a value a text names but a finding lacks shows as —."""

    def __missing__(self, key: str) -> str:
        return "—"


def _csrf_token(services: IdentityServices, cookie: str) -> str:
    secret = services.settings.server_secret()
    return hmac.new(secret, _CSRF_CONTEXT + cookie.encode(), hashlib.sha256).hexdigest()


def _well_formed(cookie: str) -> bool:
    return _COOKIE_SHAPE.fullmatch(cookie) is not None
