"""The citizen's account page: login through the IdP's own pages, consents and their
withdrawal (with the portal's refresh tokens), history, password change, second factor."""

from __future__ import annotations

import re

import httpx
import pyotp
import pytest

from identity_service.accounts.errors import LoginFailedError
from identity_service.accounts.models import DemoCredential
from identity_service.api.deps import IdentityServices
from tests.identity_service.idp_harness import RunningIdp
from tests.identity_service.oidc.lifecycle_support import citizen_tokens, refresh
from tests.identity_service.oidc.support import (
    PUBLIC_SERVICES,
    Browser,
    FakeClock,
    csrf_token_of,
    form_actions,
    totp_code,
)

pytestmark = pytest.mark.anyio


def actions(page: httpx.Response) -> list[str]:
    return [action.rsplit("/", 1)[1] for action in form_actions(page)]


def text_of(page: httpx.Response) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page.text))


async def log_in_to_account(browser: Browser, citizen: DemoCredential) -> httpx.Response:
    page = await browser.open("/account")
    assert actions(page) == ["login", "cancel"]
    page = await browser.submit(
        page, "login", personal_id_number=citizen.personal_id_number, password=citizen.password
    )
    assert page.status_code == 200 and str(page.url).endswith("/account"), page.text[:300]
    return page


# --- login -------------------------------------------------------------------------------


async def test_the_page_needs_a_login_through_the_idps_own_pages(
    browser: Browser, demo: dict[int, DemoCredential]
) -> None:
    citizen = demo[1]
    page = await browser.open("/account")
    # The login page, for the account page itself; nothing about the account yet.
    assert "/interaction/" in str(page.url)
    assert "Trang tài khoản định danh điện tử" in page.text
    page = await log_in_to_account(browser, citizen)
    assert 'data-level="1"' in page.text
    assert citizen.personal_id_number not in page.text  # only the masked number
    assert citizen.personal_id_number[:2] + "********" in page.text
    assert "<script" not in page.text
    assert page.headers["x-frame-options"] == "DENY"
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
    assert page.headers["cache-control"] == "no-store"


async def test_an_sso_session_from_a_portal_login_opens_the_page_directly(
    http: httpx.AsyncClient, browser: Browser, demo: dict[int, DemoCredential]
) -> None:
    await citizen_tokens(http, browser, demo[1])
    page = await browser.open("/account")
    assert str(page.url).endswith("/account")
    assert actions(page)[0] == "withdraw"


async def test_cancelling_the_login_shows_the_signed_out_page(browser: Browser) -> None:
    page = await browser.open("/account")
    page = await browser.submit(page, "cancel")
    assert page.status_code == 200
    assert "Bạn đã hủy đăng nhập" in page.text


async def test_english_is_available_and_remembered(
    browser: Browser, demo: dict[int, DemoCredential]
) -> None:
    await log_in_to_account(browser, demo[1])
    page = await browser.open("/account?lang=en")
    assert "Your e-ID account" in page.text
    again = await browser.open("/account")
    assert "Services you share your data with" in again.text


# --- consents and history ----------------------------------------------------------------


async def test_consents_and_the_history_of_released_data(
    http: httpx.AsyncClient,
    browser: Browser,
    services: IdentityServices,
    demo: dict[int, DemoCredential],
) -> None:
    tokens = await citizen_tokens(http, browser, demo[1])
    userinfo = await http.get(
        "/userinfo", headers={"Authorization": f"Bearer {tokens['access_token']}"}
    )
    assert userinfo.status_code == 200
    page = await browser.open("/account")
    portal_name = services.clients.get(PUBLIC_SERVICES).name  # type: ignore[union-attr]
    consent = re.search(rf'<li data-client="{PUBLIC_SERVICES}">(.*?)</li>', page.text, re.S)
    assert consent and portal_name in consent.group(1)
    releases = re.findall(r'<li data-history="release">(.*?)</li>', page.text, re.S)
    assert len(releases) == 1
    assert portal_name in releases[0] and "Họ và tên" in releases[0]
    assert "mức độ 1" in releases[0]
    sign_ins = re.findall(r'<li data-history="sign_in"[^>]*>(.*?)</li>', page.text, re.S)
    assert any("Đăng nhập" in line and portal_name in line for line in sign_ins)


async def test_withdrawing_consent_ends_the_portals_refresh_tokens(
    http: httpx.AsyncClient,
    browser: Browser,
    services: IdentityServices,
    demo: dict[int, DemoCredential],
) -> None:
    tokens = await citizen_tokens(http, browser, demo[1])
    assert "refresh_token" in tokens
    page = await browser.open("/account")
    answer = await browser.post(
        "/account/consents/withdraw",
        {"csrf_token": csrf_token_of(page), "client_id": PUBLIC_SERVICES},
    )
    assert answer.status_code == 200 and "Đã rút lại đồng ý" in answer.text
    assert f'data-client="{PUBLIC_SERVICES}"' not in answer.text
    assert not services.consents.covers(demo[1].personal_id_number, PUBLIC_SERVICES, ["openid"])
    refreshed = await refresh(http, tokens["refresh_token"])
    assert refreshed.status_code == 400 and refreshed.json()["error"] == "invalid_grant"
    userinfo = await http.get(
        "/userinfo", headers={"Authorization": f"Bearer {tokens['access_token']}"}
    )
    assert userinfo.status_code == 401
    events = [entry.event for entry in services.audit.tail(10)]
    assert "consent.withdrawn" in events and "token.revoked" in events
    assert services.audit.verify().ok


async def test_withdrawing_an_unknown_consent_changes_nothing(
    browser: Browser, demo: dict[int, DemoCredential]
) -> None:
    page = await log_in_to_account(browser, demo[1])
    answer = await browser.post(
        "/account/consents/withdraw", {"csrf_token": csrf_token_of(page), "client_id": "nope"}
    )
    assert answer.status_code == 400


# --- CSRF and sessions -------------------------------------------------------------------


async def test_forms_need_the_sessions_csrf_token(
    http: httpx.AsyncClient,
    browser: Browser,
    services: IdentityServices,
    demo: dict[int, DemoCredential],
    idp: RunningIdp,
) -> None:
    await citizen_tokens(http, browser, demo[1])
    async with Browser(idp.app) as attacker:
        attackers_page = await log_in_to_account(attacker, demo[2])
        attackers_token = csrf_token_of(attackers_page)
    for token in ("", "0" * 64, attackers_token):
        answer = await browser.post(
            "/account/consents/withdraw", {"csrf_token": token, "client_id": PUBLIC_SERVICES}
        )
        assert answer.status_code == 403
        answer = await browser.post(
            "/account/password",
            {
                "csrf_token": token,
                "current_password": demo[1].password,
                "new_password": "một mật khẩu mới rất dài",
                "new_password_confirm": "một mật khẩu mới rất dài",
            },
        )
        assert answer.status_code == 403
    assert services.consents.covers(demo[1].personal_id_number, PUBLIC_SERVICES, ["openid"])
    services.accounts.authenticate(demo[1].personal_id_number, demo[1].password, "192.0.2.1")


async def test_a_post_without_a_session_goes_back_to_the_login(browser: Browser) -> None:
    response = await browser.http.post(
        "/account/password", data={"csrf_token": "x", "current_password": "y"}
    )
    assert response.status_code == 303 and response.headers["location"] == "/account"


# --- password ----------------------------------------------------------------------------


async def change_password(
    browser: Browser, page: httpx.Response, current: str, new: str, confirm: str | None = None
) -> httpx.Response:
    return await browser.submit(
        page,
        "password",
        current_password=current,
        new_password=new,
        new_password_confirm=new if confirm is None else confirm,
    )


async def test_changing_the_password_needs_the_current_one_and_the_policy(
    browser: Browser, services: IdentityServices, demo: dict[int, DemoCredential]
) -> None:
    citizen = demo[1]
    number = citizen.personal_id_number
    page = await log_in_to_account(browser, citizen)
    new_password = "Một câu mật khẩu dài và khó đoán"
    refusals = [
        (await change_password(browser, page, "wrong password!", new_password), "không đúng"),
        (await change_password(browser, page, citizen.password, new_password, "x"), "không giống"),
        (await change_password(browser, page, citizen.password, "password123"), "phổ biến"),
        (await change_password(browser, page, citizen.password, "ngắn"), "ít nhất 8"),
        (await change_password(browser, page, citizen.password, f"mk{number}"), "định danh"),
    ]
    for answer, message in refusals:
        assert answer.status_code == 400
        assert message in answer.text
    # Nothing changed so far.
    services.accounts.authenticate(number, citizen.password, "192.0.2.1")
    answer = await change_password(browser, page, citizen.password, new_password)
    assert answer.status_code == 200 and "Đã đổi mật khẩu" in answer.text
    with pytest.raises(LoginFailedError):
        services.accounts.authenticate(number, citizen.password, "192.0.2.1")
    services.accounts.authenticate(number, new_password, "192.0.2.1")
    entries = [entry for entry in services.audit.tail(20) if entry.actor]
    assert any(entry.event == "account.password_changed" for entry in entries)
    assert all(citizen.password not in str(entry.details) for entry in entries)
    assert all(new_password not in str(entry.details) for entry in entries)


async def test_a_password_change_logs_out_the_citizens_other_browsers_only(
    idp: RunningIdp, browser: Browser, demo: dict[int, DemoCredential]
) -> None:
    citizen = demo[1]
    new_password = "Một câu mật khẩu dài và khó đoán"
    async with Browser(idp.app) as other, Browser(idp.app) as stranger:
        await log_in_to_account(other, citizen)
        await log_in_to_account(stranger, demo[2])  # another citizen's session
        idp.clock.advance(5)
        page = await log_in_to_account(browser, citizen)
        answer = await change_password(browser, page, citizen.password, new_password)
        assert "Đã đổi mật khẩu" in answer.text

        # This browser stays logged in; the other one of the same citizen does not.
        assert str((await browser.open("/account")).url).endswith("/account")
        assert "/interaction/" in str((await other.open("/account")).url)
        assert str((await stranger.open("/account")).url).endswith("/account")
        # A login after the change, with the new password, is a session like any other.
        idp.clock.advance(5)
        again = await other.open("/account")
        again = await other.submit(
            again, "login", personal_id_number=citizen.personal_id_number, password=new_password
        )
        assert str(again.url).endswith("/account")
        assert str((await other.open("/account")).url).endswith("/account")


# --- second factor -----------------------------------------------------------------------


async def step_up_to_second_factor_page(
    browser: Browser, citizen: DemoCredential, clock: FakeClock
) -> httpx.Response:
    assert citizen.totp_secret is not None
    page = await browser.open("/account/second-factor")
    assert actions(page) == ["second-factor", "cancel"]  # a step-up: only the code
    clock.advance(30)
    page = await browser.submit(page, "second-factor", code=totp_code(citizen.totp_secret, clock))
    assert str(page.url).endswith("/account/second-factor"), page.text[:300]
    return page


async def test_rebinding_the_second_factor_after_a_step_up(
    browser: Browser,
    services: IdentityServices,
    demo: dict[int, DemoCredential],
    clock: FakeClock,
) -> None:
    citizen = demo[2]
    assert citizen.totp_secret is not None
    await log_in_to_account(browser, citizen)
    page = await step_up_to_second_factor_page(browser, citizen, clock)
    assert actions(page) == ["new"]
    page = await browser.submit(page, "new")
    assert 'src="data:image/svg+xml;base64,' in page.text
    secret = re.search(r'data-field="secret">([A-Z2-7]+)<', page.text)
    assert secret is not None
    new_secret = secret.group(1)
    assert new_secret != citizen.totp_secret
    wrong = await browser.submit(page, "confirm", code=totp_code(citizen.totp_secret, clock))
    assert wrong.status_code == 400
    clock.advance(30)
    done = await browser.submit(wrong, "confirm", code=pyotp.TOTP(new_secret).at(clock()))
    assert done.status_code == 200 and "Đã gắn thiết bị xác thực mới" in done.text
    number = citizen.personal_id_number
    clock.advance(60)
    with pytest.raises(LoginFailedError):
        services.accounts.verify_totp(number, totp_code(citizen.totp_secret, clock), "192.0.2.9")
    services.accounts.verify_totp(number, pyotp.TOTP(new_secret).at(clock()), "192.0.2.9")
    assert any(e.event == "account.second_factor_rebound" for e in services.audit.tail(10))
    assert all(new_secret not in str(entry.details) for entry in services.audit.tail(50))


async def test_rebinding_needs_a_fresh_step_up(
    browser: Browser, demo: dict[int, DemoCredential], clock: FakeClock
) -> None:
    citizen = demo[2]
    await log_in_to_account(browser, citizen)
    page = await step_up_to_second_factor_page(browser, citizen, clock)
    token = csrf_token_of(page)
    clock.advance(301)
    # Too late: the page asks for a login again, and a posted form makes no new secret.
    again = await browser.open("/account/second-factor")
    assert "/interaction/" in str(again.url)
    after = await browser.post("/account/second-factor/new", {"csrf_token": token})
    assert "data:image/svg+xml" not in after.text


async def test_a_level_one_account_has_no_second_factor_to_rebind(
    browser: Browser, demo: dict[int, DemoCredential]
) -> None:
    page = await log_in_to_account(browser, demo[1])
    assert "/account/second-factor" not in page.text
    answer = await browser.open("/account/second-factor")
    assert answer.status_code == 400
    assert "Chỉ tài khoản mức độ 2" in answer.text


async def test_the_logout_link_ends_the_session_after_confirmation(
    browser: Browser, demo: dict[int, DemoCredential]
) -> None:
    page = await log_in_to_account(browser, demo[1])
    link = re.search(r'<a href="(/logout[^"]*)">', page.text)
    assert link is not None
    confirm = await browser.open(link.group(1).replace("&amp;", "&"))
    assert confirm.status_code == 200
    pending = re.search(r'name="pending_id" value="([^"]+)"', confirm.text)
    assert pending is not None
    done = await browser.post(
        form_actions(confirm)[0],
        {
            "csrf_token": csrf_token_of(confirm),
            "pending_id": pending.group(1),
            "decision": "logout",
        },
    )
    assert 'data-outcome="logged-out"' in done.text
    again = await browser.open("/account")
    assert "/interaction/" in str(again.url)  # logged out: the login page again
