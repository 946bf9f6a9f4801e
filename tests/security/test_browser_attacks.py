"""Attacks through the citizen's browser: CSRF, login CSRF, session fixation, clickjacking.

* Every form post (login, second factor, consent, cancel) needs its own interaction's
  CSRF token *and* the browser-binding cookie of the browser that started it; a refused
  post changes nothing — no session, no redirect — and the real citizen can still go on.
* A session cookie that exists before a login (planted, or the attacker's own valid one)
  is never the session after it, and the old session is over.
* Every page and every response refuses to be framed.
"""

from __future__ import annotations

import re

import httpx
import pytest
from fastapi import FastAPI

from identity_service.accounts.models import DemoCredential
from identity_service.oidc.interactions import BROWSER_COOKIE
from identity_service.oidc.sessions import SESSION_COOKIE
from tests.identity_service.oidc.support import (
    LEVEL2_PORTAL,
    LEVEL2_PORTAL_REDIRECT,
    Browser,
    FakeClock,
    csrf_token_of,
    form_actions,
    query_of,
    raw_request,
    totp_code,
)
from tests.security.adversary import assert_page_without_redirect

pytestmark = pytest.mark.anyio

COOKIE_DOMAIN = "id.natid.test"


async def page_at(step: str, browser: Browser, demo: dict[int, DemoCredential]) -> httpx.Response:
    """A page whose form posts to ``step`` (login, second-factor, consent or cancel)."""
    if step in ("login", "cancel"):
        page = await browser.open(raw_request(prompt="login").url)
    elif step == "second-factor":
        page = await browser.open(
            raw_request(LEVEL2_PORTAL, LEVEL2_PORTAL_REDIRECT, prompt="login").url
        )
        page = await browser.submit(
            page, "login", personal_id_number=demo[2].personal_id_number, password=demo[2].password
        )
    else:
        page = await browser.open(raw_request(prompt="login consent").url)
        page = await browser.submit(
            page, "login", personal_id_number=demo[1].personal_id_number, password=demo[1].password
        )
    assert page.status_code == 200, page.text[:300]
    assert any(action.endswith(f"/{step}") for action in form_actions(page)), form_actions(page)
    return page


def fields_for(step: str, demo: dict[int, DemoCredential], clock: FakeClock) -> dict[str, str]:
    """What the real citizen would submit at ``step``."""
    if step == "login":
        return {"personal_id_number": demo[1].personal_id_number, "password": demo[1].password}
    if step == "second-factor":
        assert demo[2].totp_secret is not None
        return {"code": totp_code(demo[2].totp_secret, clock)}
    if step == "consent":
        return {"decision": "approve"}
    return {}


def action_of(page: httpx.Response, step: str) -> str:
    return next(action for action in form_actions(page) if action.endswith(f"/{step}"))


STEPS = ["login", "second-factor", "consent", "cancel"]


@pytest.mark.parametrize("step", STEPS)
async def test_a_post_without_the_right_csrf_token_changes_nothing(
    browser: Browser, demo: dict[int, DemoCredential], clock: FakeClock, step: str
) -> None:
    page = await page_at(step, browser, demo)
    other = await browser.open(raw_request(prompt="login").url)  # a second interaction
    token = csrf_token_of(page)
    wrong_tokens = {
        "missing": None,
        "empty": "",
        "forged": "forged-token",
        "one character short": token[:-1],
        "one character more": token + "A",
        "other interaction's": csrf_token_of(other),
        "non-ASCII": token[:-1] + "é",
    }
    fields = fields_for(step, demo, clock)
    for label, wrong in wrong_tokens.items():
        data = dict(fields) if wrong is None else {**fields, "csrf_token": wrong}
        answer = await browser.http.post(action_of(page, step), data=data)
        assert_page_without_redirect(answer, 403)
        assert "set-cookie" not in answer.headers, label
    # Nothing was consumed: the citizen's own post, with the real token, still goes through.
    done = await browser.http.post(action_of(page, step), data={**fields, "csrf_token": token})
    assert done.status_code == 303, done.text[:300]


@pytest.mark.parametrize("step", STEPS)
async def test_a_post_from_another_browser_is_refused(
    app: FastAPI, browser: Browser, demo: dict[int, DemoCredential], clock: FakeClock, step: str
) -> None:
    page = await page_at(step, browser, demo)
    data = {**fields_for(step, demo, clock), "csrf_token": csrf_token_of(page)}
    async with Browser(app) as victim:
        # Login CSRF: the victim's browser never saw this interaction; it holds no binding
        # cookie at all, then a binding cookie of its own.
        without_cookie = await victim.http.post(action_of(page, step), data=data)
        assert_page_without_redirect(without_cookie, 403)
        await victim.open(raw_request().url)
        assert victim.http.cookies.get(BROWSER_COOKIE)
        with_own_cookie = await victim.http.post(action_of(page, step), data=data)
        assert_page_without_redirect(with_own_cookie, 403)
        assert victim.http.cookies.get(SESSION_COOKIE) is None


async def test_a_forged_binding_cookie_does_not_adopt_an_interaction(
    app: FastAPI, browser: Browser, demo: dict[int, DemoCredential]
) -> None:
    page = await page_at("login", browser, demo)
    data = {**fields_for("login", demo, FakeClock(0)), "csrf_token": csrf_token_of(page)}
    for forged in ("x", "a" * 43, "a" * 10_000, "' OR '1'='1", ""):
        async with Browser(app) as attacker:
            attacker.http.cookies.set(BROWSER_COOKIE, forged, domain=COOKIE_DOMAIN)
            answer = await attacker.http.post(action_of(page, "login"), data=data)
            assert_page_without_redirect(answer, 403)


async def test_a_planted_session_cookie_is_replaced_at_login(
    app: FastAPI, browser: Browser, demo: dict[int, DemoCredential]
) -> None:
    planted = "attacker-chosen-session-value-0123456789"
    browser.http.cookies.set(SESSION_COOKIE, planted, domain=COOKIE_DOMAIN)
    page = await page_at("login", browser, demo)
    await browser.submit(page, "login", **fields_for("login", demo, FakeClock(0)))
    issued = browser.http.cookies.get(SESSION_COOKIE)
    assert issued and issued != planted
    # The planted value leads nowhere: in the attacker's browser it is not logged in.
    async with Browser(app) as attacker:
        attacker.http.cookies.set(SESSION_COOKIE, planted, domain=COOKIE_DOMAIN)
        silent = await attacker.open(raw_request(prompt="none").url)
        assert query_of(silent.headers["location"])["error"] == "login_required"


async def test_an_attackers_own_session_planted_in_a_victims_browser_ends_at_login(
    app: FastAPI, browser: Browser, demo: dict[int, DemoCredential]
) -> None:
    async with Browser(app) as attacker:
        await attacker.open(raw_request(prompt="login").url)
        page = await attacker.open(raw_request(prompt="login").url)
        await attacker.submit(page, "login", **fields_for("login", demo, FakeClock(0)))
        attackers_cookie = attacker.http.cookies.get(SESSION_COOKIE)
        assert attackers_cookie
        # The victim's browser carries the attacker's session; the victim logs in anew.
        browser.http.cookies.set(SESSION_COOKIE, attackers_cookie, domain=COOKIE_DOMAIN)
        page = await browser.open(raw_request(prompt="login").url)
        victim = demo[2]
        await browser.submit(
            page, "login", personal_id_number=victim.personal_id_number, password=victim.password
        )
        victims_cookie = browser.http.cookies.get(SESSION_COOKIE)
        assert victims_cookie and victims_cookie != attackers_cookie
        # The attacker's cookie now opens nothing — least of all the victim's session.
        silent = await attacker.open(raw_request(prompt="none").url)
        assert query_of(silent.headers["location"])["error"] == "login_required"


async def test_a_step_up_rotates_the_session_cookie(
    browser: Browser, demo: dict[int, DemoCredential], clock: FakeClock
) -> None:
    citizen = demo[2]
    page = await browser.open(raw_request().url)
    await browser.submit(
        page, "login", personal_id_number=citizen.personal_id_number, password=citizen.password
    )
    before = browser.http.cookies.get(SESSION_COOKIE)
    page = await browser.open(raw_request(LEVEL2_PORTAL, LEVEL2_PORTAL_REDIRECT).url)
    assert citizen.totp_secret is not None
    await browser.submit(page, "second-factor", code=totp_code(citizen.totp_secret, clock))
    after = browser.http.cookies.get(SESSION_COOKIE)
    assert before and after and before != after


# -- clickjacking -------------------------------------------------------------------------


def assert_not_frameable(response: httpx.Response, label: str) -> None:
    assert response.headers.get("x-frame-options") == "DENY", label
    policy = response.headers.get("content-security-policy", "")
    assert "frame-ancestors 'none'" in policy, label


def every_get_path(app: FastAPI) -> list[str]:
    """Every GET operation of the OpenAPI document (path parameters filled in), the
    documentation pages, a static file and a path that does not exist."""
    paths = [
        re.sub(r"\{[^}]+\}", "no-such-id", path)
        for path, operations in app.openapi()["paths"].items()
        if "get" in operations
    ]
    extras = ["/openapi.json", "/docs", "/docs/oauth2-redirect", "/redoc", "/static/style.css"]
    return [*paths, *extras, "/no-such-page"]


async def test_every_route_refuses_to_be_framed(http: httpx.AsyncClient, app: FastAPI) -> None:
    paths = every_get_path(app)
    assert {"/authorize", "/jwks", "/userinfo", "/docs"} <= set(paths)
    for path in paths:
        assert_not_frameable(await http.get(path), path)
    assert_not_frameable(await http.post("/jwks"), "405")


async def test_every_page_of_a_login_refuses_to_be_framed(
    app: FastAPI, browser: Browser, demo: dict[int, DemoCredential], clock: FakeClock
) -> None:
    for step in ("login", "second-factor", "consent"):
        async with Browser(app) as fresh:
            assert_not_frameable(await page_at(step, fresh, demo), step)
    page = await page_at("login", browser, demo)
    failed = await browser.submit(
        page, "login", personal_id_number=demo[1].personal_id_number, password="Wrong-password-1"
    )
    assert failed.status_code == 400
    assert_not_frameable(failed, "failed login")
    for _ in range(5):
        failed = await browser.submit(
            page, "login", personal_id_number=demo[1].personal_id_number, password="Wrong-pass-2"
        )
    assert failed.status_code == 429
    assert_not_frameable(failed, "locked")
    assert_not_frameable(await browser.http.post(action_of(page, "login"), data={}), "csrf")
    assert_not_frameable(await browser.open(raw_request(client_id="nope").url), "bad client")
