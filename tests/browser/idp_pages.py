"""Answering the IdP's pages in the browser as the citizen would: type, click, submit.

``answer_idp`` fills whatever the IdP shows (the password page, the one-time-code page,
the consent page) until the browser is back at a portal, and returns the pages it saw in
order, so a test can say "no password was asked" or "the code was asked".
"""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from tests.browser.citizen import Authenticator, DemoCitizen

if TYPE_CHECKING:
    from playwright.sync_api import Page

LOGIN = "login"
SECOND_FACTOR = "second-factor"
CONSENT = "consent"
MAX_STEPS = 5


def on_idp_interaction(page: Page, issuer: str) -> bool:
    url = urlsplit(page.url)
    return f"{url.scheme}://{url.netloc}" == issuer and url.path.startswith("/interaction/")


def idp_step(page: Page) -> str:
    """Which IdP page is shown (by its form), or an error naming the page."""
    if page.locator("input#password").count():
        return LOGIN
    if page.locator("input#code").count():
        return SECOND_FACTOR
    if page.locator("button[name=decision][value=approve]").count():
        return CONSENT
    heading = page.locator("h1").first.inner_text() if page.locator("h1").count() else ""
    raise AssertionError(f"unexpected IdP page at {page.url}: {heading!r}")


def answer_idp(
    page: Page, issuer: str, citizen: DemoCitizen, authenticator: Authenticator
) -> list[str]:
    """Answer the IdP until the browser has left it; the steps answered, in order."""
    steps: list[str] = []
    while on_idp_interaction(page, issuer):
        assert len(steps) < MAX_STEPS, f"the IdP keeps asking: {steps} at {page.url}"
        step = idp_step(page)
        if step == LOGIN:
            page.fill("#personal_id_number", citizen.personal_id_number)
            page.fill("#password", citizen.password)
            submit = page.locator("form[action$='/login'] button[type=submit]")
        elif step == SECOND_FACTOR:
            page.fill("#code", authenticator.next_code())
            submit = page.locator("form[action$='/second-factor'] button[type=submit]")
        else:
            submit = page.locator("button[name=decision][value=approve]")
        with page.expect_navigation():
            submit.click()
        _fail_on_idp_error(page, step)
        steps.append(step)
    return steps


def _fail_on_idp_error(page: Page, step: str) -> None:
    """A refused answer (or a portal's error page) shows an alert: fail with its text."""
    alert = page.locator("[role=alert], .error-panel")
    if alert.count():
        text = alert.first.inner_text()
        raise AssertionError(f"after the {step} answer, {page.url} shows {text!r}")
