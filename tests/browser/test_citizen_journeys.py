"""A citizen's journeys through the running demo in headless Chromium, by real clicks.

The IdP and the three portals run as their own processes (``tests/browser/servers.py``);
each test starts with an empty browser profile and logs in as the level-2 demo citizen:
applying for a criminal-record certificate (password, consent, then the one-time code at
the step-up), single sign-on at the bank (no password, the code for level 2), logout
through the IdP, and the IdP's login page in English.

Each pytest-xdist worker that runs a test of this module starts its own servers (on its
own ports). ``make test`` (``-n 2``, load scheduling) hands out consecutive tests in
batches, so the four normally share one worker and one start. (``--dist loadgroup``
would pin them, but pytest-xdist 3.8 cannot rename node ids under pytest 9.2, so its
groups do nothing here.)
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.browser.chromium import browser_missing, browser_required
from tests.browser.citizen import Authenticator, DemoCitizen, level2_demo_citizen
from tests.browser.idp_pages import CONSENT, LOGIN, SECOND_FACTOR, answer_idp, idp_step
from tests.browser.servers import DemoSystem

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        browser_missing() is not None and not browser_required(), reason=browser_missing() or ""
    ),
]

if TYPE_CHECKING:
    from playwright.sync_api import Page, Request
if browser_missing() is None:
    from playwright.sync_api import expect

APPLY_PATH = "/services/criminal-record/apply"
# The IdP remembers consent per citizen and portal: the test that logs in at a portal
# first in this module's run sees the consent page, the later ones do not.
FIRST_LOGIN_STEPS = ([LOGIN, CONSENT], [LOGIN])


@pytest.fixture(scope="module")
def citizen() -> DemoCitizen:
    return level2_demo_citizen()


@pytest.fixture(scope="module")
def authenticator(demo_system: DemoSystem, citizen: DemoCitizen) -> Authenticator:
    """One authenticator app for the whole module: the IdP accepts each code once."""
    return Authenticator(citizen.totp_secret)


def log_in_at_portal(
    page: Page, system: DemoSystem, citizen: DemoCitizen, authenticator: Authenticator
) -> None:
    """Open the public-service catalogue and log in at level 1 with the password."""
    page.goto(f"{system.portal_url('public-services')}/services")
    assert answer_idp(page, system.issuer, citizen, authenticator) in FIRST_LOGIN_STEPS
    expect(page.locator(".site-header .who")).to_contain_text(citizen.full_name)


def test_application_with_login_consent_and_step_up_is_submitted(
    page: Page, demo_system: DemoSystem, citizen: DemoCitizen, authenticator: Authenticator
) -> None:
    portal = demo_system.portal_url("public-services")
    page.goto(f"{portal}{APPLY_PATH}")
    expect(page.locator("h1")).to_have_text("Đăng nhập")
    assert answer_idp(page, demo_system.issuer, citizen, authenticator) in FIRST_LOGIN_STEPS

    # Level 1: the form is filled from the e-ID, but submitting needs the step-up.
    expect(page).to_have_url(f"{portal}{APPLY_PATH}")
    expect(page.locator(".identity-card")).to_contain_text(citizen.personal_id_number)
    expect(page.locator(".site-header .level")).to_have_text("Mức 1")
    expect(page.locator("button.primary")).to_have_count(0)
    with page.expect_navigation():
        page.locator("a.step-up").first.click()
    assert answer_idp(page, demo_system.issuer, citizen, authenticator) == [SECOND_FACTOR]

    expect(page).to_have_url(f"{portal}{APPLY_PATH}")
    expect(page.locator(".site-header .level")).to_have_text("Mức 2")
    page.fill("#purpose", "Bổ sung hồ sơ xin việc")
    page.fill("#copies", "2")
    page.check("input[name=delivery_method][value=counter]")
    with page.expect_navigation():
        page.get_by_role("button", name="Nộp hồ sơ").click()

    landed = urlsplit(page.url)
    reference = landed.path.removeprefix("/applications/")
    assert landed.path.startswith("/applications/") and reference
    assert parse_qs(landed.query) == {"submitted": ["1"]}
    expect(page.locator("[role=status]")).to_contain_text(f"Mã hồ sơ của bạn: {reference}")
    card = page.locator(".identity-card")
    for shown in (citizen.full_name, citizen.personal_id_number, "Bổ sung hồ sơ xin việc"):
        expect(card).to_contain_text(shown)
    expect(card).to_contain_text("Mức 2")

    page.get_by_role("link", name="Hồ sơ của tôi").first.click()
    expect(page).to_have_url(f"{portal}/applications")
    expect(page.locator("table")).to_contain_text(reference)
    expect(page.locator("td.status")).to_have_count(1)


def test_bank_logs_in_by_single_sign_on_with_only_the_code_for_level2(
    page: Page, demo_system: DemoSystem, citizen: DemoCitizen, authenticator: Authenticator
) -> None:
    log_in_at_portal(page, demo_system, citizen, authenticator)
    bank = demo_system.portal_url("bank")

    page.goto(f"{bank}/open-account")
    # One password in all: the bank asks for level 2, so the IdP asks only for the code,
    # then the bank's own consent.
    assert answer_idp(page, demo_system.issuer, citizen, authenticator) == [
        SECOND_FACTOR,
        CONSENT,
    ]

    expect(page).to_have_url(f"{bank}/open-account")
    card = page.locator(".identity-card")
    expect(card).to_contain_text(citizen.full_name)
    expect(card).to_contain_text(citizen.personal_id_number)
    expect(card).to_contain_text("urn:natid:acr:level2")
    expect(page.locator(".site-header .level")).to_have_text("Mức 2")


def test_logout_goes_through_the_idp_and_ends_both_sessions(
    page: Page, demo_system: DemoSystem, citizen: DemoCitizen, authenticator: Authenticator
) -> None:
    log_in_at_portal(page, demo_system, citizen, authenticator)
    portal = demo_system.portal_url("public-services")

    idp_visits: list[str] = []

    def note_idp_page(request: Request) -> None:
        if request.is_navigation_request() and request.url.startswith(demo_system.issuer):
            idp_visits.append(urlsplit(request.url).path)

    page.on("request", note_idp_page)
    with page.expect_navigation(url=re.compile(re.escape(portal) + r"/\?")):
        page.get_by_role("button", name="Đăng xuất").click()

    assert idp_visits == ["/logout"]  # through the IdP's end-session endpoint
    landed = urlsplit(page.url)
    assert landed.path == "/" and parse_qs(landed.query)["logged_out"] == ["1"]
    expect(page.locator("main [role=status]")).to_contain_text("Bạn đã đăng xuất khỏi cổng này.")
    expect(page.get_by_role("button", name="Đăng xuất")).to_have_count(0)
    expect(page.locator("a.login")).to_be_visible()
    expect(page.locator("body")).not_to_contain_text(citizen.full_name)

    # The IdP's session ended too: the portal sends the browser to the password page.
    page.goto(f"{portal}/applications")
    assert idp_step(page) == LOGIN


def test_the_idp_pages_switch_to_english_and_the_login_goes_on(
    page: Page, demo_system: DemoSystem, citizen: DemoCitizen, authenticator: Authenticator
) -> None:
    # The clinic: no other test logs in there, so its consent page is always asked for.
    clinic = demo_system.portal_url("clinic")
    page.goto(f"{clinic}/visits")
    expect(page.locator("html")).to_have_attribute("lang", "vi")
    expect(page.locator("h1")).to_have_text("Đăng nhập")
    expect(page.locator("label[for=password]")).to_have_text("Mật khẩu")

    with page.expect_navigation():
        page.get_by_role("link", name="English").click()

    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.locator("h1")).to_have_text("Log in")
    expect(page.locator("label[for=personal_id_number]")).to_have_text("Personal ID number")
    expect(page.get_by_role("link", name="Tiếng Việt")).to_be_visible()
    # The switch kept the login in progress, and the next page stays in English.
    page.fill("#personal_id_number", citizen.personal_id_number)
    page.fill("#password", citizen.password)
    with page.expect_navigation():
        page.get_by_role("button", name="Log in").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.get_by_role("button", name="Allow")).to_be_visible()
    assert answer_idp(page, demo_system.issuer, citizen, authenticator) == [CONSENT]
    expect(page).to_have_url(f"{clinic}/visits")
    expect(page.locator(".site-header .who")).to_contain_text(citizen.full_name)
