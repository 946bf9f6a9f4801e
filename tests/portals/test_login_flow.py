"""Logging in to the portals with the real IdP: levels, step-up, SSO, refusals, logout."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from fastapi import FastAPI

from tests.portals.support import (
    BANK,
    IDP,
    PUBLIC_SERVICES,
    Browser,
    Citizen,
    FakeClock,
    Network,
    idp_steps_answered,
    log_in,
    pass_idp,
)

pytestmark = pytest.mark.anyio
SESSION_COOKIE = "natid_rp_public_services_session"


async def test_browsing_needs_a_level1_login_and_shows_the_citizen(
    public_services: FastAPI,
    browser: Browser,
    citizens: dict[int, Citizen],
    clock: FakeClock,
    network: Network,
) -> None:
    citizen = citizens[1]
    first = await browser.get(f"{PUBLIC_SERVICES}/services")
    assert urlsplit(str(first.url)).netloc == "127.0.0.1:8000"  # sent to the IdP to log in
    authorize = network.requests_to(IDP, "/authorize")[0]
    query = parse_qs(authorize.url.query.decode())
    assert query["code_challenge_method"] == ["S256"]
    assert query["acr_values"] == ["urn:natid:acr:level1"]
    assert query["nonce"][0] and query["state"][0]

    page = await pass_idp(browser, first, citizen, clock)

    assert str(page.url) == f"{PUBLIC_SERVICES}/services"
    assert page.status_code == 200
    assert citizen.full_name in page.text
    assert "Mức 1" in page.text
    assert idp_steps_answered(network) == ["login", "consent"]


async def test_submitting_steps_up_to_level2_with_a_one_time_code_only(
    public_services: FastAPI,
    browser: Browser,
    citizens: dict[int, Citizen],
    clock: FakeClock,
    network: Network,
) -> None:
    citizen = citizens[2]
    form_page = await log_in(
        browser, f"{PUBLIC_SERVICES}/services/criminal-record/apply", citizen, clock
    )
    assert browser.find_form(form_page, "/services/criminal-record/apply") is not None
    assert "step-up" in form_page.text  # level 1: the form offers the step-up, not submit
    refused = await browser.submit(
        form_page, "/services/criminal-record/apply", purpose="Xin việc", copies="1"
    )
    assert refused.status_code == 403

    step_up = await browser.get(
        f"{PUBLIC_SERVICES}/auth/login?level=2&next=/services/criminal-record/apply"
    )
    page = await pass_idp(browser, step_up, citizen, clock)

    assert str(page.url) == f"{PUBLIC_SERVICES}/services/criminal-record/apply"
    assert "Mức 2" in page.text
    # The IdP asked for the password once (first login) and for the code at the step-up.
    assert idp_steps_answered(network) == ["login", "consent", "second-factor"]
    authorize = network.requests_to(IDP, "/authorize")[-1]
    assert parse_qs(authorize.url.query.decode())["acr_values"] == ["urn:natid:acr:level2"]


async def test_sso_logs_the_citizen_in_at_the_bank_without_a_password(
    public_services: FastAPI,
    bank: FastAPI,
    browser: Browser,
    citizens: dict[int, Citizen],
    clock: FakeClock,
    network: Network,
) -> None:
    citizen = citizens[2]
    await log_in(browser, f"{PUBLIC_SERVICES}/services", citizen, clock)
    clock.advance(30)

    page = await log_in(browser, f"{BANK}/open-account", citizen, clock)

    assert str(page.url) == f"{BANK}/open-account"
    assert citizen.personal_id_number in page.text  # the bank shows the verified identity
    # One password in all; the bank (level 2) needed only the code and its own consent.
    assert idp_steps_answered(network) == ["login", "consent", "second-factor", "consent"]


async def test_a_level1_account_is_refused_by_the_bank_with_a_clear_page(
    bank: FastAPI, browser: Browser, citizens: dict[int, Citizen], clock: FakeClock
) -> None:
    page = await log_in(browser, f"{BANK}/open-account", citizens[1], clock)

    assert urlsplit(str(page.url)).path == "/auth/callback"
    assert page.status_code == 400
    assert "access_denied" in page.text
    assert "mức 2" in page.text  # the hint that the bank needs a level-2 account
    again = await browser.get(f"{BANK}/open-account")
    assert urlsplit(str(again.url)).netloc == "127.0.0.1:8000"  # still not logged in


async def test_denied_consent_ends_on_a_clear_error_page_without_a_login(
    public_services: FastAPI, browser: Browser, citizens: dict[int, Citizen], clock: FakeClock
) -> None:
    page = await log_in(browser, f"{PUBLIC_SERVICES}/services", citizens[1], clock, consent=False)

    assert page.status_code == 400
    assert "access_denied" in page.text
    assert "Cổng chưa nhận được dữ liệu nào của bạn" in page.text
    assert 'href="/auth/login?level=1&amp;next=%2Fservices"' in page.text  # try again
    home = await browser.get(f"{PUBLIC_SERVICES}/")
    assert citizens[1].full_name not in home.text


async def test_logout_ends_the_portal_session_for_good(
    public_services: FastAPI,
    browser: Browser,
    citizens: dict[int, Citizen],
    clock: FakeClock,
    network: Network,
) -> None:
    page = await log_in(browser, f"{PUBLIC_SERVICES}/services", citizens[1], clock)
    old_cookie = browser.http.cookies.get(SESSION_COOKIE)
    without_csrf = await browser.http.post(f"{PUBLIC_SERVICES}/auth/logout", data={})
    assert without_csrf.status_code == 403

    page = await browser.submit(page, "/auth/logout")

    # Through the IdP's end-session endpoint and back to the portal's "logged out" page.
    assert [request.url.path for request in network.requests_to(IDP, "/logout")] == ["/logout"]
    landed = urlsplit(str(page.url))
    assert f"{landed.scheme}://{landed.netloc}{landed.path}" == f"{PUBLIC_SERVICES}/"
    assert parse_qs(landed.query)["logged_out"] == ["1"]
    assert "Bạn đã đăng xuất khỏi cổng này." in page.text
    assert "Phiên đăng nhập định danh điện tử cũng đã kết thúc" in page.text
    assert citizens[1].full_name not in page.text
    async with httpx.AsyncClient(transport=network) as replay:
        stolen = await replay.get(
            f"{PUBLIC_SERVICES}/applications", headers={"Cookie": f"{SESSION_COOKIE}={old_cookie}"}
        )
    assert stolen.status_code == 303
    assert stolen.headers["location"].startswith("/auth/login")
    # The IdP's session is over too: the next login asks for the password again.
    await log_in(browser, f"{PUBLIC_SERVICES}/services", citizens[1], clock)
    assert idp_steps_answered(network) == ["login", "consent", "login"]


async def test_logout_sends_hint_client_registered_return_and_state_to_the_idp(
    public_services: FastAPI,
    browser: Browser,
    citizens: dict[int, Citizen],
    clock: FakeClock,
    network: Network,
) -> None:
    page = await log_in(browser, f"{PUBLIC_SERVICES}/services", citizens[1], clock)
    form = browser.find_form(page, "/auth/logout")
    assert form is not None
    answer = await browser.http.post(
        f"{PUBLIC_SERVICES}/auth/logout", data=form.fields, follow_redirects=False
    )

    location = urlsplit(answer.headers["location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == f"{IDP}/logout"
    query = parse_qs(location.query)
    assert query["post_logout_redirect_uri"] == [f"{PUBLIC_SERVICES}/?logged_out=1"]
    assert query["client_id"] == ["public-services-portal"]
    assert query["id_token_hint"][0].count(".") == 2
    state = query["state"][0]
    assert len(state) >= 16

    # Only the state this browser sent makes the page say the e-ID session ended.
    forged = await browser.get(f"{PUBLIC_SERVICES}/?logged_out=1&state=someone-elses")
    assert "Bạn đã đăng xuất" not in forged.text
    genuine = await browser.get(f"{PUBLIC_SERVICES}/?logged_out=1&state={state}")
    assert "Phiên đăng nhập định danh điện tử cũng đã kết thúc" in genuine.text
    elsewhere = Browser(network)  # the same link opened in another browser
    try:
        replayed = await elsewhere.get(f"{PUBLIC_SERVICES}/?logged_out=1&state={state}")
    finally:
        await elsewhere.aclose()
    assert "Bạn đã đăng xuất" not in replayed.text


async def test_without_end_session_logout_ends_only_the_portal_session(
    public_services: FastAPI,
    browser: Browser,
    citizens: dict[int, Citizen],
    clock: FakeClock,
    network: Network,
) -> None:
    def hide_end_session(request: httpx.Request, response: httpx.Response) -> httpx.Response:
        if request.url.path != "/.well-known/openid-configuration":
            return response
        document = {**response.json()}
        document.pop("end_session_endpoint")
        return httpx.Response(200, json=document, request=request)

    network.response_hooks.append(hide_end_session)
    page = await log_in(browser, f"{PUBLIC_SERVICES}/services", citizens[1], clock)

    page = await browser.submit(page, "/auth/logout")

    assert str(page.url) == f"{PUBLIC_SERVICES}/?logged_out=1"
    assert "Phiên đăng nhập định danh điện tử của bạn có thể vẫn còn" in page.text
    assert network.requests_to(IDP, "/logout") == []


async def test_logging_in_replaces_the_session_token(
    public_services: FastAPI, browser: Browser, citizens: dict[int, Citizen], clock: FakeClock
) -> None:
    await browser.get(f"{PUBLIC_SERVICES}/services")  # anonymous session holding the login
    before = browser.http.cookies.get(SESSION_COOKIE)
    page = await log_in(browser, f"{PUBLIC_SERVICES}/services", citizens[1], clock)
    after = browser.http.cookies.get(SESSION_COOKIE)
    assert before and after and before != after
    assert citizens[1].full_name in page.text


async def test_login_never_redirects_off_the_portal(
    public_services: FastAPI, browser: Browser, citizens: dict[int, Citizen], clock: FakeClock
) -> None:
    for target in ("https://evil.example/", "//evil.example/", "/\\evil.example"):
        page = await log_in(
            browser, f"{PUBLIC_SERVICES}/auth/login?next={target}", citizens[1], clock
        )
        assert str(page.url) == f"{PUBLIC_SERVICES}/"


async def test_a_callback_without_its_login_or_from_another_issuer_is_refused(
    public_services: FastAPI, browser: Browser, citizens: dict[int, Citizen], clock: FakeClock
) -> None:
    stale = await browser.get(f"{PUBLIC_SERVICES}/auth/callback?code=abc&state=unknown")
    assert stale.status_code == 400
    assert "login_state" in stale.text

    started = await browser.http.get(
        f"{PUBLIC_SERVICES}/auth/login?next=/services", follow_redirects=False
    )
    state = parse_qs(urlsplit(started.headers["location"]).query)["state"][0]
    mixed_up = await browser.get(
        f"{PUBLIC_SERVICES}/auth/callback?code=abc&state={state}&iss=https://other-idp.example"
    )
    assert mixed_up.status_code == 400
    assert "issuer_mismatch" in mixed_up.text


@pytest.mark.parametrize(
    ("error", "explanation"),
    [
        ("login_required", "Bạn cần đăng nhập tại dịch vụ định danh điện tử."),
        ("interaction_required", "Dịch vụ định danh cần bạn thao tác thêm"),
        ("invalid_request", "Yêu cầu đăng nhập không hợp lệ."),
        ("temporarily_unavailable", "Dịch vụ định danh tạm thời quá tải."),
        ("something_new", "Dịch vụ định danh trả về lỗi: something_new."),
    ],
)
async def test_each_error_from_the_idp_gets_its_explanation(
    public_services: FastAPI, browser: Browser, error: str, explanation: str
) -> None:
    started = await browser.http.get(
        f"{PUBLIC_SERVICES}/auth/login?next=/applications", follow_redirects=False
    )
    state = parse_qs(urlsplit(started.headers["location"]).query)["state"][0]

    page = await browser.get(
        f"{PUBLIC_SERVICES}/auth/callback?error={error}&error_description=why&state={state}"
        f"&iss={IDP}"
    )

    assert page.status_code == 400
    assert explanation in page.text
    assert f"<code>{error}</code>: why" in page.text
    assert 'href="/auth/login?level=1&amp;next=%2Fapplications"' in page.text
    replayed = await browser.get(f"{PUBLIC_SERVICES}/auth/callback?code=x&state={state}&iss={IDP}")
    assert "login_state" in replayed.text  # a callback URL works once


async def test_an_unreachable_idp_gets_a_service_unavailable_page(
    public_services: FastAPI, browser: Browser, network: Network
) -> None:
    network.response_hooks.append(
        lambda request, response: (
            httpx.Response(502, request=request) if request.url.port == 8000 else response
        )
    )

    page = await browser.get(f"{PUBLIC_SERVICES}/services")

    assert page.status_code == 503
    assert page.headers["retry-after"] == "30"
    assert "Không kết nối được dịch vụ định danh điện tử" in page.text
    network.response_hooks.clear()  # the IdP is back: the next login just works
    recovered = await browser.get(f"{PUBLIC_SERVICES}/services")
    assert recovered.url.port == 8000 and recovered.url.path.startswith("/interaction/")
