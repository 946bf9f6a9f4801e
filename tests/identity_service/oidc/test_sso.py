"""The SSO session: silent logins, prompt/max_age, step-up, remembered consent."""

from __future__ import annotations

import httpx
import jwt
import pytest

from identity_service.accounts.models import DemoCredential
from identity_service.api.deps import IdentityServices
from tests.identity_service.oidc.support import (
    CLINIC,
    CLINIC_REDIRECT,
    LEVEL2_PORTAL,
    LEVEL2_PORTAL_REDIRECT,
    LEVEL2_PORTAL_SECRET,
    Browser,
    FakeClock,
    RawRequest,
    basic_auth,
    form_actions,
    obtain_code,
    query_of,
    raw_request,
    totp_code,
)

pytestmark = pytest.mark.anyio


async def logged_in(browser: Browser, citizen: DemoCredential, **overrides: str) -> str:
    """A full login (password + consent) at the public-services portal; returns the code."""
    return await obtain_code(
        browser, raw_request(**overrides), citizen.personal_id_number, citizen.password
    )


def steps_of(page: httpx.Response) -> list[str]:
    return [action.rsplit("/", 1)[1] for action in form_actions(page)]


async def test_a_second_request_is_answered_without_any_page(
    browser: Browser, demo: dict[int, DemoCredential]
) -> None:
    await logged_in(browser, demo[1])
    again = await browser.open(raw_request().url)
    assert again.status_code == 303
    assert query_of(again.headers["location"])["code"]


@pytest.mark.parametrize("overrides", [{"prompt": "login"}, {"max_age": "0"}])
async def test_prompt_login_and_max_age_zero_ask_for_the_password_again(
    browser: Browser, demo: dict[int, DemoCredential], overrides: dict[str, str]
) -> None:
    await logged_in(browser, demo[1])
    page = await browser.open(raw_request(**overrides).url)
    assert page.status_code == 200 and "login" in steps_of(page)


async def test_max_age_counts_from_the_last_authentication(
    browser: Browser, demo: dict[int, DemoCredential], clock: FakeClock
) -> None:
    await logged_in(browser, demo[1])
    clock.advance(100)
    fresh_enough = await browser.open(raw_request(max_age="3600").url)
    assert fresh_enough.status_code == 303
    too_old = await browser.open(raw_request(max_age="60").url)
    assert too_old.status_code == 200 and "login" in steps_of(too_old)


async def test_prompt_none_answers_with_the_right_error(
    browser: Browser, demo: dict[int, DemoCredential]
) -> None:
    await logged_in(browser, demo[2])  # a level-2 account, logged in at level 1
    silent = await browser.open(raw_request(prompt="none").url)
    assert query_of(silent.headers["location"])["code"]
    new_portal = await browser.open(raw_request(CLINIC, CLINIC_REDIRECT, prompt="none").url)
    assert query_of(new_portal.headers["location"])["error"] == "consent_required"
    higher_level = await browser.open(
        raw_request(LEVEL2_PORTAL, LEVEL2_PORTAL_REDIRECT, prompt="none").url
    )
    assert query_of(higher_level.headers["location"])["error"] == "interaction_required"


async def test_consent_is_remembered_per_portal_and_scope(
    browser: Browser, demo: dict[int, DemoCredential], services: IdentityServices
) -> None:
    citizen = demo[1]
    await logged_in(browser, citizen, scope="openid profile")
    granted = services.consents.granted_scopes(citizen.personal_id_number, "public-services-portal")
    assert granted == {"openid", "profile"}
    narrower = await browser.open(raw_request(scope="openid").url)
    assert narrower.status_code == 303  # already covered: no page
    wider = await browser.open(raw_request(scope="openid profile phone").url)
    assert steps_of(wider) == ["consent"]
    assert 'data-claim="phone_number"' in wider.text
    forced = await browser.open(raw_request(prompt="consent").url)
    assert steps_of(forced) == ["consent"]


async def test_step_up_asks_only_for_the_code_and_reports_level_two(
    http: httpx.AsyncClient,
    browser: Browser,
    demo: dict[int, DemoCredential],
    clock: FakeClock,
) -> None:
    citizen = demo[2]
    assert citizen.totp_secret is not None
    await logged_in(browser, citizen)
    session_before = browser.http.cookies.get("natid_session")
    clock.advance(30)
    request: RawRequest = raw_request(LEVEL2_PORTAL, LEVEL2_PORTAL_REDIRECT)
    page = await browser.open(request.url)
    assert steps_of(page) == ["second-factor", "cancel"]  # no password form
    consent = await browser.submit(
        page, "second-factor", code=totp_code(citizen.totp_secret, clock)
    )
    assert browser.http.cookies.get("natid_session") != session_before  # rotated
    done = await browser.submit(consent, "consent", decision="approve")
    code = query_of(done.headers["location"])["code"]
    tokens = await http.post(
        "/token",
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": LEVEL2_PORTAL_REDIRECT,
            "code_verifier": request.code_verifier,
        },
        headers=basic_auth(LEVEL2_PORTAL, LEVEL2_PORTAL_SECRET),
    )
    claims = jwt.decode(tokens.json()["id_token"], options={"verify_signature": False})
    assert claims["acr"] == "urn:natid:acr:level2"
    assert claims["amr"] == ["pwd", "otp", "mfa"]
    # The stepped-up session now satisfies level 2 silently, and level 1 portals too.
    silent = await browser.open(
        raw_request(LEVEL2_PORTAL, LEVEL2_PORTAL_REDIRECT, prompt="none").url
    )
    assert query_of(silent.headers["location"])["code"]


async def test_a_level_one_session_cannot_step_up_without_a_second_factor(
    browser: Browser, demo: dict[int, DemoCredential]
) -> None:
    await logged_in(browser, demo[1])
    page = await browser.open(raw_request(LEVEL2_PORTAL, LEVEL2_PORTAL_REDIRECT).url)
    assert steps_of(page) == ["login", "cancel"]  # a fresh login, perhaps of someone else


async def test_acr_values_ask_for_level_two_at_a_level_one_portal(
    browser: Browser, demo: dict[int, DemoCredential], clock: FakeClock
) -> None:
    citizen = demo[2]
    assert citizen.totp_secret is not None
    page = await browser.open(raw_request(acr_values="urn:natid:acr:level2").url)
    second = await browser.submit(
        page, "login", personal_id_number=citizen.personal_id_number, password=citizen.password
    )
    assert steps_of(second) == ["second-factor", "cancel"]
    unknown_acr = await browser.open(raw_request(CLINIC, CLINIC_REDIRECT, acr_values="gold").url)
    assert "login" in steps_of(unknown_acr)  # unknown values are ignored, not an error
