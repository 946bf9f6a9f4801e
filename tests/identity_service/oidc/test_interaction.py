"""The login, second-factor and consent pages: forms, CSRF, lockout, levels, consent."""

from __future__ import annotations

import asyncio
import re
import threading
from typing import Any

import argon2
import httpx
import pytest
from fastapi import FastAPI

from identity_service.accounts.models import DemoCredential
from tests.identity_service.oidc.support import (
    ISSUER,
    LEVEL2_PORTAL,
    LEVEL2_PORTAL_REDIRECT,
    PUBLIC_SERVICES_REDIRECT,
    Browser,
    FakeClock,
    csrf_token_of,
    form_actions,
    query_of,
    raw_request,
    totp_code,
)

pytestmark = pytest.mark.anyio

ALL_SCOPES = "openid profile national_id address phone household"
_ERROR_MESSAGE = re.compile(r'<p class="error" role="alert">([^<]*)</p>')


def message_of(page: httpx.Response) -> str:
    match = _ERROR_MESSAGE.search(page.text)
    assert match, "no error message on the page"
    return match.group(1)


async def open_login(browser: Browser, **overrides: str) -> httpx.Response:
    page = await browser.open(raw_request(**overrides).url)
    assert page.status_code == 200
    return page


async def test_wrong_password_and_unknown_id_get_the_same_answer(
    browser: Browser, demo: dict[int, DemoCredential]
) -> None:
    known = demo[1].personal_id_number
    page = await open_login(browser)
    wrong_password = await browser.submit(
        page, "login", personal_id_number=known, password="Not-The-Password-1"
    )
    unknown_id = await browser.submit(
        page, "login", personal_id_number="001090123456", password="Not-The-Password-1"
    )
    malformed_id = await browser.submit(
        page, "login", personal_id_number="12345", password="Not-The-Password-1"
    )
    assert wrong_password.status_code == unknown_id.status_code == malformed_id.status_code == 400
    assert message_of(wrong_password) == message_of(unknown_id) == message_of(malformed_id)
    # The whole page is the same apart from the echoed nothing: no hint either way.
    assert wrong_password.text == unknown_id.text
    assert known not in wrong_password.text


async def test_lockout_after_five_failures_and_its_release(
    browser: Browser, demo: dict[int, DemoCredential], clock: FakeClock
) -> None:
    citizen = demo[1]
    page = await open_login(browser)
    answers = [
        await browser.submit(
            page, "login", personal_id_number=citizen.personal_id_number, password=f"Wrong-{n}!x"
        )
        for n in range(5)
    ]
    assert [answer.status_code for answer in answers[:4]] == [400] * 4
    locked = answers[4]
    assert locked.status_code == 429
    retry_after = int(locked.headers["retry-after"])
    assert retry_after > 0
    # Locked: even the right password is refused, and nothing leaks about it.
    still_locked = await browser.submit(
        page, "login", personal_id_number=citizen.personal_id_number, password=citizen.password
    )
    assert still_locked.status_code == 429
    clock.advance(retry_after + 1)
    released = await browser.submit(
        page, "login", personal_id_number=citizen.personal_id_number, password=citizen.password
    )
    assert released.status_code == 200
    assert "/consent" in " ".join(form_actions(released))


async def test_forged_or_missing_csrf_token_is_refused(
    browser: Browser, demo: dict[int, DemoCredential]
) -> None:
    page = await open_login(browser)
    action = form_actions(page)[0]
    credentials = {
        "personal_id_number": demo[1].personal_id_number,
        "password": demo[1].password,
    }
    for token in ("", "forged-token", csrf_token_of(page)[:-1]):
        answer = await browser.http.post(action, data={**credentials, "csrf_token": token})
        assert answer.status_code == 403
        assert "set-cookie" not in answer.headers  # no session was created


async def test_another_browser_cannot_complete_the_interaction(
    app: FastAPI, browser: Browser, demo: dict[int, DemoCredential]
) -> None:
    """Login CSRF: an attacker's interaction cannot be finished in the victim's browser."""
    page = await open_login(browser)
    async with Browser(app) as other_browser:
        stolen = await other_browser.http.post(
            form_actions(page)[0],
            data={
                "csrf_token": csrf_token_of(page),
                "personal_id_number": demo[1].personal_id_number,
                "password": demo[1].password,
            },
        )
        assert stolen.status_code == 403
        viewed = await other_browser.http.get(form_actions(page)[0].rsplit("/", 1)[0])
        assert viewed.status_code == 403


async def test_an_expired_interaction_shows_a_page(
    browser: Browser, demo: dict[int, DemoCredential], clock: FakeClock
) -> None:
    page = await open_login(browser)
    clock.advance(601)
    answer = await browser.submit(
        page, "login", personal_id_number=demo[1].personal_id_number, password=demo[1].password
    )
    assert answer.status_code == 400
    assert "location" not in answer.headers


async def test_consent_lists_exactly_the_data_released(
    browser: Browser, demo: dict[int, DemoCredential]
) -> None:
    page = await open_login(browser, scope=ALL_SCOPES, ui_locales="en")
    consent = await browser.submit(
        page, "login", personal_id_number=demo[1].personal_id_number, password=demo[1].password
    )
    listed = set(re.findall(r'data-claim="([^"]+)"', consent.text))
    assert listed == {
        "sub",
        "name",
        "family_name",
        "given_name",
        "middle_name",
        "birthdate",
        "gender",
        "national_id",
        "address",
        "current_residence",
        "phone_number",
        "phone_number_verified",
        "household",
    }
    assert "Lê Hoàng Nam" in consent.text and demo[1].personal_id_number in consent.text
    narrow = await open_login(browser, scope="openid profile")
    narrow_claims = set(re.findall(r'data-claim="([^"]+)"', narrow.text))
    assert "national_id" not in narrow_claims and "phone_number" not in narrow_claims


async def test_denied_consent_and_cancel_return_access_denied(
    browser: Browser, demo: dict[int, DemoCredential]
) -> None:
    request = raw_request()
    page = await browser.open(request.url)
    consent = await browser.submit(
        page, "login", personal_id_number=demo[1].personal_id_number, password=demo[1].password
    )
    denied = await browser.submit(consent, "consent", decision="deny")
    answer = query_of(denied.headers["location"])
    assert denied.headers["location"].startswith(PUBLIC_SERVICES_REDIRECT)
    assert answer["error"] == "access_denied"
    assert answer["state"] == request.params["state"] and answer["iss"] == ISSUER
    cancelled = await browser.submit(await open_login(browser, prompt="login"), "cancel")
    assert query_of(cancelled.headers["location"])["error"] == "access_denied"


async def test_level_two_login_asks_for_the_code_after_the_password(
    browser: Browser, demo: dict[int, DemoCredential], clock: FakeClock
) -> None:
    citizen = demo[2]
    page = await open_login(browser, client_id=LEVEL2_PORTAL, redirect_uri=LEVEL2_PORTAL_REDIRECT)
    assert "mức độ 2" in page.text
    second = await browser.submit(
        page, "login", personal_id_number=citizen.personal_id_number, password=citizen.password
    )
    assert "/second-factor" in " ".join(form_actions(second))
    wrong = await browser.submit(second, "second-factor", code="000000")
    assert wrong.status_code == 400
    assert citizen.totp_secret is not None
    consent = await browser.submit(
        second, "second-factor", code=totp_code(citizen.totp_secret, clock)
    )
    assert "/consent" in " ".join(form_actions(consent))
    done = await browser.submit(consent, "consent", decision="approve")
    assert query_of(done.headers["location"])["code"]


async def test_a_level_one_account_cannot_enter_a_level_two_portal(
    browser: Browser, demo: dict[int, DemoCredential]
) -> None:
    page = await open_login(browser, client_id=LEVEL2_PORTAL, redirect_uri=LEVEL2_PORTAL_REDIRECT)
    answer = await browser.submit(
        page, "login", personal_id_number=demo[1].personal_id_number, password=demo[1].password
    )
    assert answer.status_code == 303
    assert query_of(answer.headers["location"])["error"] == "access_denied"


async def test_session_cookie_is_new_after_login_and_locked_down(
    browser: Browser, demo: dict[int, DemoCredential]
) -> None:
    """Session fixation: a cookie planted before login is never the session afterwards."""
    planted = "attacker-chosen-session-value"
    browser.http.cookies.set("natid_session", planted, domain="id.natid.test")
    page = await open_login(browser)
    answer = await browser.http.post(
        form_actions(page)[0],
        data={
            "csrf_token": csrf_token_of(page),
            "personal_id_number": demo[1].personal_id_number,
            "password": demo[1].password,
        },
    )
    assert answer.status_code == 303
    set_cookie = answer.headers["set-cookie"]
    assert set_cookie.startswith("natid_session=")
    assert "HttpOnly" in set_cookie and "SameSite=lax" in set_cookie and "Secure" in set_cookie
    assert planted not in set_cookie


async def test_pages_work_in_english_too(browser: Browser, demo: dict[int, DemoCredential]) -> None:
    page = await open_login(browser, ui_locales="en")
    failed = await browser.submit(
        page, "login", personal_id_number=demo[1].personal_id_number, password="Wrong-pass-1"
    )
    assert "not correct" in message_of(failed)


async def test_a_slow_password_check_does_not_block_other_requests(
    app: FastAPI, browser: Browser, demo: dict[int, DemoCredential], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Argon2 runs off the event loop: while one login is being checked, others are served.

    The password check waits until a discovery request has been answered; that can only
    happen if the check is off the event loop (on the loop it would wait in vain).
    """
    real_verify = argon2.PasswordHasher.verify
    checking, discovery_served = threading.Event(), threading.Event()
    served_during_check: list[bool] = []
    loop_thread = threading.get_ident()
    on_loop: list[bool] = []

    def slow_verify(hasher: argon2.PasswordHasher, *args: Any, **kwargs: Any) -> Any:
        on_loop.append(threading.get_ident() == loop_thread)
        checking.set()
        served_during_check.append(discovery_served.wait(timeout=2))
        return real_verify(hasher, *args, **kwargs)

    monkeypatch.setattr(argon2.PasswordHasher, "verify", slow_verify)
    page = await open_login(browser)
    login = asyncio.create_task(
        browser.submit(
            page, "login", personal_id_number=demo[1].personal_id_number, password=demo[1].password
        )
    )
    for _ in range(300):
        if checking.is_set():
            break
        await asyncio.sleep(0.01)
    discovery = await browser.http.get("/.well-known/openid-configuration")
    discovery_served.set()
    assert discovery.status_code == 200
    assert (await login).status_code == 200
    assert served_during_check == [True]
    assert on_loop == [False]


async def test_the_password_step_holds_no_pool_thread_with_local_storage(
    app: FastAPI, browser: Browser, demo: dict[int, DemoCredential], monkeypatch: pytest.MonkeyPatch
) -> None:
    # With local storage it runs on the loop and awaits argon2id from its own threads;
    # with Redis, whose calls may wait on the network, it runs in the thread pool.
    services = app.state.services
    accounts = services.accounts
    loop_thread = threading.get_ident()
    calls: list[tuple[str, bool]] = []
    sync_authenticate, async_authenticate = accounts.authenticate, accounts.authenticate_async

    def recorded_sync(*args: Any) -> Any:
        calls.append(("sync", threading.get_ident() == loop_thread))
        return sync_authenticate(*args)

    async def recorded_async(*args: Any) -> Any:
        calls.append(("async", threading.get_ident() == loop_thread))
        return await async_authenticate(*args)

    monkeypatch.setattr(accounts, "authenticate", recorded_sync)
    monkeypatch.setattr(accounts, "authenticate_async", recorded_async)
    page = await open_login(browser)
    answer = await browser.submit(
        page, "login", personal_id_number=demo[1].personal_id_number, password=demo[1].password
    )
    assert answer.status_code == 200
    assert calls == ([("async", True)] if services.local_storage else [("sync", False)])
