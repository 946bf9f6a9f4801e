"""Attacks on the authorization response and the code: mix-up, PKCE downgrade, code injection.

* Mix-up (RFC 9207): every authorization response — a code or any error — names the
  issuer in ``iss`` exactly once, and ``state`` comes back exactly as sent, even when the
  client's ``state`` tries to smuggle in parameters of its own.
* PKCE downgrade (RFC 7636, RFC 9700 §2.1.1): only S256 is accepted; a code is redeemed
  only with the verifier of the request it answers, and a wrong verifier burns the code.
* Code injection: a code works only for the client, redirect URI and PKCE verifier of
  the request it answers; a code shown to the wrong client is dead for everyone.
"""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from fastapi import FastAPI

from identity_service.accounts.models import DemoCredential
from identity_service.api.deps import IdentityServices
from identity_service.oidc.registration import ClientRegistration
from tests.identity_service.oidc.support import (
    ISSUER,
    LEVEL2_PORTAL,
    LEVEL2_PORTAL_REDIRECT,
    LEVEL2_PORTAL_SECRET,
    PUBLIC_SERVICES,
    PUBLIC_SERVICES_REDIRECT,
    PUBLIC_SERVICES_SECRET,
    Browser,
    RawRequest,
    basic_auth,
    form_actions,
    obtain_code,
    raw_request,
)
from tests.security.adversary import assert_oauth_error

pytestmark = pytest.mark.anyio

SMUGGLING_STATE = "s&iss=https://evil.example.com&code=forged&error=none#frag"


def response_parameters(location: str, redirect_uri: str) -> dict[str, list[str]]:
    """Every parameter of an authorization response, with all of its values."""
    assert location.startswith(redirect_uri + "?"), location
    assert "#" not in location
    return parse_qs(urlsplit(location).query, keep_blank_values=True)


def assert_names_the_issuer(
    location: str, request: RawRequest, redirect_uri: str = PUBLIC_SERVICES_REDIRECT
) -> dict[str, list[str]]:
    answer = response_parameters(location, redirect_uri)
    assert answer["iss"] == [ISSUER], location
    assert answer["state"] == [request.params["state"]], location
    assert ("code" in answer) != ("error" in answer), location
    for values in answer.values():
        assert len(values) == 1, location
    return answer


async def redemption(
    http: httpx.AsyncClient,
    request: RawRequest,
    code: str,
    *,
    client: tuple[str, str] = (PUBLIC_SERVICES, PUBLIC_SERVICES_SECRET),
    **changes: str | None,
) -> httpx.Response:
    form: dict[str, str | None] = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": request.params["redirect_uri"],
        "code_verifier": request.code_verifier,
        **changes,
    }
    data = {name: value for name, value in form.items() if value is not None}
    return await http.post("/token", data=data, headers=basic_auth(*client))


async def code_for(browser: Browser, citizen: DemoCredential, request: RawRequest) -> str:
    return await obtain_code(browser, request, citizen.personal_id_number, citizen.password)


# -- mix-up -------------------------------------------------------------------------------


async def test_every_authorization_response_names_the_issuer_once(
    app: FastAPI, browser: Browser, demo: dict[int, DemoCredential]
) -> None:
    citizen, level_two = demo[1], demo[2]
    seen: dict[str, dict[str, list[str]]] = {}

    async def answer_to(label: str, request: RawRequest, *, redirect: str) -> None:
        response = await browser.open(request.url)
        assert response.status_code == 303, (label, response.text[:200])
        seen[label] = assert_names_the_issuer(response.headers["location"], request, redirect)

    # Errors before anyone logs in.
    for label, overrides in {
        "invalid_request": {"code_challenge": None},
        "unsupported_response_type": {"response_type": "token"},
        "invalid_scope": {"scope": "profile"},
        "login_required": {"prompt": "none"},
        "request_not_supported": {"request": "e30.e30."},
        "request_uri_not_supported": {"request_uri": "urn:example:x"},
    }.items():
        await answer_to(label, raw_request(**overrides), redirect=PUBLIC_SERVICES_REDIRECT)
    # A code after a full login, then one from the SSO session without any page.
    request = raw_request()
    location = await _login(browser, request, citizen)
    seen["code after login"] = assert_names_the_issuer(location, request)
    await answer_to("code from SSO", raw_request(), redirect=PUBLIC_SERVICES_REDIRECT)
    await answer_to(
        "consent_required",
        raw_request(scope="openid profile address", prompt="none"),
        redirect=PUBLIC_SERVICES_REDIRECT,
    )
    await answer_to(
        "login_required for a level the session lacks",
        raw_request(LEVEL2_PORTAL, LEVEL2_PORTAL_REDIRECT, prompt="none"),
        redirect=LEVEL2_PORTAL_REDIRECT,
    )
    # Refusals the citizen causes on the pages.
    denied = raw_request(prompt="consent")
    seen["consent denied"] = assert_names_the_issuer(
        await _login(browser, denied, citizen, consent="deny"), denied
    )
    cancelled = raw_request(prompt="login")
    page = await browser.open(cancelled.url)
    seen["cancelled"] = assert_names_the_issuer(
        (await browser.submit(page, "cancel")).headers["location"], cancelled
    )
    too_weak = raw_request(LEVEL2_PORTAL, LEVEL2_PORTAL_REDIRECT, prompt="login")
    page = await browser.open(too_weak.url)
    weak_answer = await browser.submit(
        page, "login", personal_id_number=citizen.personal_id_number, password=citizen.password
    )
    seen["level-1 account at a level-2 portal"] = assert_names_the_issuer(
        weak_answer.headers["location"], too_weak, LEVEL2_PORTAL_REDIRECT
    )
    # A level-2 account logged in with its password only: a level-2 portal needs a step-up.
    async with Browser(app) as second_browser:
        await _login(second_browser, raw_request(), level_two)
        step_up = raw_request(LEVEL2_PORTAL, LEVEL2_PORTAL_REDIRECT, prompt="none")
        response = await second_browser.open(step_up.url)
        seen["interaction_required"] = assert_names_the_issuer(
            response.headers["location"], step_up, LEVEL2_PORTAL_REDIRECT
        )
    errors = {label: answer.get("error", ["code"])[0] for label, answer in seen.items()}
    assert errors["consent denied"] == errors["cancelled"] == "access_denied"
    assert errors["level-1 account at a level-2 portal"] == "access_denied"
    assert errors["interaction_required"] == "interaction_required"
    assert errors["login_required for a level the session lacks"] == "login_required"
    assert errors["code after login"] == errors["code from SSO"] == "code"
    assert errors["consent_required"] == "consent_required"


async def _login(
    browser: Browser, request: RawRequest, citizen: DemoCredential, *, consent: str = "approve"
) -> str:
    page = await browser.open(request.url)
    if "/login" in " ".join(form_actions(page)):
        page = await browser.submit(
            page, "login", personal_id_number=citizen.personal_id_number, password=citizen.password
        )
    if "/consent" in " ".join(form_actions(page)):
        page = await browser.submit(page, "consent", decision=consent)
    assert page.status_code == 303, page.text[:300]
    return page.headers["location"]


async def test_state_cannot_smuggle_parameters_into_the_response(
    browser: Browser, demo: dict[int, DemoCredential]
) -> None:
    failing = raw_request(state=SMUGGLING_STATE, code_challenge_method="plain")
    response = await browser.open(failing.url)
    answer = assert_names_the_issuer(response.headers["location"], failing)
    assert answer["error"] == ["invalid_request"] and "code" not in answer
    succeeding = raw_request(state=SMUGGLING_STATE)
    answer = assert_names_the_issuer(await _login(browser, succeeding, demo[1]), succeeding)
    assert answer["code"] != ["forged"] and "error" not in answer


# -- PKCE downgrade -----------------------------------------------------------------------

CHALLENGE_DOWNGRADES: dict[str, dict[str, str | None]] = {
    "plain": {"code_challenge_method": "plain"},
    "PLAIN": {"code_challenge_method": "PLAIN"},
    "lower-case s256": {"code_challenge_method": "s256"},
    "S256 with a space": {"code_challenge_method": "S256 "},
    "method left out (plain by default)": {"code_challenge_method": None},
    "challenge left out": {"code_challenge": None},
    "neither": {"code_challenge": None, "code_challenge_method": None},
    "challenge 42 characters": {"code_challenge": "a" * 42},
    "challenge 44 characters": {"code_challenge": "a" * 44},
    "challenge of verifier length": {"code_challenge": "a" * 128},
    "challenge with padding": {"code_challenge": "a" * 42 + "="},
    "challenge in standard base64": {"code_challenge": "a" * 41 + "+/"},
    "challenge with non-ASCII": {"code_challenge": "a" * 42 + "é"},
}


@pytest.mark.parametrize("downgrade", list(CHALLENGE_DOWNGRADES))
async def test_only_an_s256_challenge_is_accepted(http: httpx.AsyncClient, downgrade: str) -> None:
    request = raw_request(**CHALLENGE_DOWNGRADES[downgrade])
    response = await http.get(request.url)
    assert response.status_code == 303
    answer = assert_names_the_issuer(response.headers["location"], request)
    assert answer["error"] == ["invalid_request"]


def _bad_verifiers(request: RawRequest) -> dict[str, str]:
    good = request.code_verifier
    return {
        "the challenge itself (plain)": request.params["code_challenge"],
        "42 characters": good[:42] if len(good) > 42 else "a" * 42,
        "129 characters": (good * 3)[:129],
        "another request's verifier": raw_request().code_verifier,
        "with a space": good[:-1] + " ",
        "with a plus": good[:-1] + "+",
        "with a slash": good[:-1] + "/",
        "with padding": good[:-1] + "=",
        "with non-ASCII": good[:-1] + "é",
        "with NUL": good[:-1] + "\x00",
        "upper-cased": good.upper() if good.upper() != good else good.lower(),
    }


async def test_a_code_needs_the_verifier_of_its_own_request(
    http: httpx.AsyncClient, browser: Browser, demo: dict[int, DemoCredential]
) -> None:
    for label in _bad_verifiers(raw_request()):
        request = raw_request()
        code = await code_for(browser, demo[1], request)
        bad = _bad_verifiers(request)[label]
        assert_oauth_error(
            await redemption(http, request, code, code_verifier=bad), 400, "invalid_grant"
        )
        # The failed attempt burned the code: the right verifier comes too late.
        late = await redemption(http, request, code)
        assert_oauth_error(late, 400, "invalid_grant")
    request = raw_request()
    code = await code_for(browser, demo[1], request)
    missing = await redemption(http, request, code, code_verifier=None)
    assert_oauth_error(missing, 400, "invalid_request")
    assert (await redemption(http, request, code)).status_code == 200


async def test_a_public_client_has_no_way_around_pkce(
    http: httpx.AsyncClient,
    browser: Browser,
    demo: dict[int, DemoCredential],
    services: IdentityServices,
) -> None:
    redirect = "http://127.0.0.1:7000/cb"
    public = services.clients.register(
        ClientRegistration(
            name="Ứng dụng di động",
            redirect_uris=(redirect,),
            scopes=("openid", "profile"),
            token_endpoint_auth_method="none",
        )
    ).client.client_id
    request = raw_request(public, redirect)
    code = await code_for(browser, demo[1], request)
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": redirect,
        "client_id": public,
        "code_verifier": request.params["code_challenge"],
    }
    assert_oauth_error(await http.post("/token", data=form), 400, "invalid_grant")


# -- code injection -----------------------------------------------------------------------


async def test_a_code_shown_to_another_client_is_dead_for_everyone(
    http: httpx.AsyncClient, browser: Browser, demo: dict[int, DemoCredential]
) -> None:
    request = raw_request()
    code = await code_for(browser, demo[1], request)
    stolen = await redemption(http, request, code, client=(LEVEL2_PORTAL, LEVEL2_PORTAL_SECRET))
    assert_oauth_error(stolen, 400, "invalid_grant")
    stolen_with_own_uri = await redemption(
        http,
        request,
        code,
        client=(LEVEL2_PORTAL, LEVEL2_PORTAL_SECRET),
        redirect_uri=LEVEL2_PORTAL_REDIRECT,
    )
    assert_oauth_error(stolen_with_own_uri, 400, "invalid_grant")
    assert_oauth_error(await redemption(http, request, code), 400, "invalid_grant")


async def test_a_client_cannot_claim_another_clients_id_in_the_body(
    http: httpx.AsyncClient, browser: Browser, demo: dict[int, DemoCredential]
) -> None:
    request = raw_request()
    code = await code_for(browser, demo[1], request)
    posing = await redemption(
        http, request, code, client=(LEVEL2_PORTAL, LEVEL2_PORTAL_SECRET), client_id=PUBLIC_SERVICES
    )
    assert_oauth_error(posing, 401, "invalid_client")


async def test_an_attackers_code_injected_into_a_victims_flow_is_refused(
    http: httpx.AsyncClient, app: FastAPI, demo: dict[int, DemoCredential]
) -> None:
    """The attacker logs in as themselves and slips their code into the victim's callback;
    the victim's portal redeems it with the victim's own PKCE verifier."""
    attacker_request, victim_request = raw_request(), raw_request()
    async with Browser(app) as attacker_browser:
        attacker_code = await code_for(attacker_browser, demo[2], attacker_request)
    injected = await redemption(
        http, victim_request, attacker_code, code_verifier=victim_request.code_verifier
    )
    assert_oauth_error(injected, 400, "invalid_grant")


async def test_a_code_is_bound_to_its_redirect_uri(
    http: httpx.AsyncClient,
    browser: Browser,
    demo: dict[int, DemoCredential],
    services: IdentityServices,
) -> None:
    first, second = "https://two.example.vn/cb", "https://two.example.vn/other"
    registered = services.clients.register(
        ClientRegistration(name="Two callbacks", redirect_uris=(first, second), scopes=("openid",))
    )
    client = (registered.client.client_id, registered.client_secret or "")
    request = raw_request(client[0], first, scope="openid")
    code = await code_for(browser, demo[1], request)
    moved = await redemption(http, request, code, client=client, redirect_uri=second)
    assert_oauth_error(moved, 400, "invalid_grant")
