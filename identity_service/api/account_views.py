"""Rendering the account page: the overview, the second-factor page and the signed-out page.

Turns what ``AccountPageService`` returns into template values in the page's language:
portal names instead of client ids, claim and scope names from ``i18n``, times in Vietnam
(UTC+7), and the new authenticator's provisioning URI as an inline SVG QR code (a
``data:`` image, which the pages' content security policy allows).
"""

from __future__ import annotations

import base64
import datetime as dt
import io
from collections.abc import Callable
from typing import Any

import qrcode
import qrcode.image.svg
from fastapi import Request, Response

from identity_service.account_page import ACCOUNT_CLIENT_ID, PendingSecondFactor
from identity_service.api.deps import IdentityServices
from identity_service.api.pages import render
from identity_service.audit import AuditEntry, AuditEvent
from identity_service.i18n import translator
from identity_service.oidc.sessions import SsoSession

VIETNAM = dt.timezone(dt.timedelta(hours=7))
TIME_FORMAT = "%d/%m/%Y %H:%M"


def overview_page(
    request: Request,
    services: IdentityServices,
    session: SsoSession,
    cookie: str,
    locale: str,
    *,
    done: str | None = None,
    problem: str | None = None,
    message: str | None = None,
    status_code: int | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    view = services.account_page.view(session)
    if view is None:
        return signed_out_page(request, locale, reason="no_account")
    t = translator(locale)
    name_of = _portal_names(services, t)
    context: dict[str, Any] = {
        "csrf_token": services.account_page.csrf_token(cookie),
        "full_name": view.full_name,
        "masked_id_number": view.masked_id_number,
        "account_level": view.account.level,
        "session_level": view.session_level,
        "can_rebind": view.account.level >= 2 and view.account.has_totp,
        "consents": [
            {
                "client_id": consent.client_id,
                "portal": name_of(consent.client_id),
                "scopes": [t(f"scope.{scope}") for scope in consent.scopes],
                "since": _when(consent.granted_at),
            }
            for consent in view.consents
        ],
        "releases": [_release_row(entry, name_of, t) for entry in view.releases],
        "sign_ins": [_sign_in_row(entry, name_of, t) for entry in view.sign_ins],
        "done": t(f"account.done.{done}") if done else None,
        "message": message or (t(f"account.problem.{problem}") if problem else None),
    }
    failed = problem is not None or message is not None
    return render(
        request,
        "account.html",
        locale=locale,
        context=context,
        status_code=status_code or (400 if failed else 200),
        headers=headers,
        language_url=f"/account?lang={'en' if locale == 'vi' else 'vi'}",
    )


def second_factor_page(
    request: Request,
    services: IdentityServices,
    session: SsoSession,
    cookie: str,
    locale: str,
    pending: PendingSecondFactor | None,
    *,
    problem: str | None = None,
    status_code: int = 200,
) -> Response:
    t = translator(locale)
    context: dict[str, Any] = {
        "csrf_token": services.account_page.csrf_token(cookie),
        "pending": pending,
        "qr_code": None if pending is None else qr_data_uri(pending.provisioning_uri),
        "message": t(f"account.problem.{problem}") if problem else None,
    }
    return render(
        request,
        "account_second_factor.html",
        locale=locale,
        context=context,
        status_code=status_code,
        language_url=f"/account/second-factor?lang={'en' if locale == 'vi' else 'vi'}",
    )


def signed_out_page(request: Request, locale: str, *, reason: str) -> Response:
    return render(
        request,
        "account_signed_out.html",
        locale=locale,
        context={"reason": reason},
        language_url=f"/account?lang={'en' if locale == 'vi' else 'vi'}",
    )


def qr_data_uri(text: str) -> str:
    """``text`` as a QR code, an SVG ``data:`` URI for an ``<img>``."""
    image = qrcode.make(text, image_factory=qrcode.image.svg.SvgPathImage, border=2)
    buffer = io.BytesIO()
    image.save(buffer)
    return "data:image/svg+xml;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def _portal_names(services: IdentityServices, t: Callable[..., str]) -> Callable[[str | None], str]:
    cache: dict[str | None, str] = {}

    def name_of(client_id: str | None) -> str:
        if client_id not in cache:
            if client_id == ACCOUNT_CLIENT_ID:
                cache[client_id] = t("account.client_name")
            else:
                client = services.clients.get(client_id) if client_id else None
                cache[client_id] = client.name if client is not None else (client_id or "—")
        return cache[client_id]

    return name_of


def _release_row(
    entry: AuditEntry, name_of: Callable[[str | None], str], t: Callable[..., str]
) -> dict[str, Any]:
    details = entry.details
    if entry.event == AuditEvent.KYC_VERIFY:
        result = str(details.get("result", ""))
        what = t("account.history.kyc", result=t(f"account.kyc.{result}"))
    else:
        claims = [str(claim) for claim in details.get("claims", [])]
        what = ", ".join(t(f"claim.{claim}") for claim in claims) or t("consent.none")
    return {
        "when": _when(entry.occurred_at),
        "portal": name_of(entry.client_id),
        "what": what,
        "level": entry.level,
    }


def _sign_in_row(
    entry: AuditEntry, name_of: Callable[[str | None], str], t: Callable[..., str]
) -> dict[str, Any]:
    return {
        "when": _when(entry.occurred_at),
        "portal": name_of(entry.client_id),
        "event": t(f"account.sign_in.{entry.event}"),
        "failed": entry.event in (AuditEvent.LOGIN_FAILURE, AuditEvent.LOGIN_LOCKED),
        "level": entry.level,
        "ip": entry.details.get("ip"),
    }


def _when(moment: dt.datetime) -> str:
    return moment.astimezone(VIETNAM).strftime(TIME_FORMAT)
