"""``/register``: self-service registration of a level-1 e-ID account (no JavaScript).

The citizen declares their ID number, full name, birth date and mobile number; the
accounts service matches them against the population record (names after NFC
normalisation and case folding), checks age, life and the password policy, and counts
every attempt against the client IP's rate limit, because the form answers whether a
set of details matches. Every refusal about the record reads "mismatch", so the page
does not reveal who exists or who already has an account.

There is no session yet, so CSRF protection is a double submit bound to the browser
cookie: the form carries an HMAC of that cookie under the server secret.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
from typing import Annotated

from fastapi import APIRouter, Form, Request, Response

from identity_service.accounts.errors import AuthenticationError, RegistrationError
from identity_service.api.deps import ServicesDep, client_ip
from identity_service.api.pages import render, set_cookie
from identity_service.i18n import choose_locale, other_locale, translate
from identity_service.oidc.interactions import BROWSER_COOKIE, new_browser_cookie

router = APIRouter(tags=["registration"])

FormText = Annotated[str, Form()]
_CSRF_LABEL = b"natid registration form"
_MAX_FIELD = 256
_MAX_PASSWORD = 1024
_MAX_COOKIE = 64


def _csrf_token(server_secret: bytes, browser_cookie: str) -> str:
    key = hmac.new(server_secret, _CSRF_LABEL, hashlib.sha256).digest()
    return hmac.new(key, browser_cookie.encode(), hashlib.sha256).hexdigest()


def _page(
    request: Request,
    services: ServicesDep,
    locale: str,
    cookie: str,
    *,
    form: dict[str, str] | None = None,
    message: str | None = None,
    status_code: int = 200,
    headers: dict[str, str] | None = None,
) -> Response:
    empty = {"personal_id_number": "", "full_name": "", "birth_date": "", "phone": ""}
    response = render(
        request,
        "register.html",
        locale=locale,
        context={
            "csrf_token": _csrf_token(services.settings.server_secret(), cookie),
            "form": form or empty,
            "message": message,
        },
        status_code=status_code,
        headers=headers,
        language_url=f"/register?lang={other_locale(locale)}",
    )
    set_cookie(response, BROWSER_COOKIE, cookie, secure=services.secure_cookies)
    return response


def _browser_cookie(request: Request) -> str | None:
    cookie = request.cookies.get(BROWSER_COOKIE)
    return cookie if cookie and len(cookie) <= _MAX_COOKIE else None


@router.get("/register", summary="The level-1 registration form")
def registration_form(request: Request, services: ServicesDep, lang: str | None = None) -> Response:
    locale = choose_locale(lang)
    return _page(request, services, locale, _browser_cookie(request) or new_browser_cookie())


@router.post("/register", summary="Register a level-1 e-ID account")
def register(
    request: Request,
    services: ServicesDep,
    lang: str | None = None,
    csrf_token: FormText = "",
    personal_id_number: FormText = "",
    full_name: FormText = "",
    birth_date: FormText = "",
    phone: FormText = "",
    password: FormText = "",
    password_confirm: FormText = "",
) -> Response:
    locale = choose_locale(lang)
    cookie = _browser_cookie(request)
    fields = {
        "personal_id_number": personal_id_number[:_MAX_FIELD],
        "full_name": full_name[:_MAX_FIELD],
        "birth_date": birth_date[:_MAX_FIELD],
        "phone": phone[:_MAX_FIELD],
    }
    if cookie is None or not hmac.compare_digest(
        _csrf_token(services.settings.server_secret(), cookie), csrf_token[:_MAX_FIELD]
    ):
        fresh = cookie or new_browser_cookie()
        message = translate(locale, "register.expired")
        return _page(
            request, services, locale, fresh, form=fields, message=message, status_code=403
        )

    def refuse(
        message: str, status_code: int = 400, headers: dict[str, str] | None = None
    ) -> Response:
        return _page(
            request, services, locale, cookie, form=fields, message=message,
            status_code=status_code, headers=headers,
        )  # fmt: skip

    if len(password) > _MAX_PASSWORD or password != password_confirm:
        return refuse(translate(locale, "register.mismatch_confirmation"))
    try:
        born = dt.date.fromisoformat(fields["birth_date"].strip())
    except ValueError:
        return refuse(translate(locale, "register.bad_date"))
    try:
        services.accounts.register(
            fields["personal_id_number"],
            fields["full_name"],
            born,
            fields["phone"],
            password,
            client_ip=client_ip(request),
        )
    except AuthenticationError as error:  # the per-IP rate limit
        retry = error.retry_after or 60
        return refuse(error.message(locale), 429, {"Retry-After": str(retry)})
    except RegistrationError as error:
        return refuse(error.message(locale))
    services.audit.record(
        "account.registered", subject=fields["personal_id_number"].strip(), level=1
    )
    return render(request, "register_done.html", locale=locale)
