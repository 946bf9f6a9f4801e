"""Hostile input in every field: SQL metacharacters, ID numbers of every wrong shape,
invalid UTF-8, deeply nested JSON and names in mixed Unicode forms.

Each is answered in the shape of the protocol it arrived through — the login page's one
failure message, an OAuth error (JSON, or a redirect for a trusted client), an RFC 6750
challenge, problem details for the e-KYC API — and never with a 500. Opaque values
(``state``, ``nonce``) are not errors at all: they come back exactly as sent.
"""

from __future__ import annotations

import json
import re
import unicodedata
from typing import Any
from urllib.parse import quote

import httpx
import jwt
import pytest

from identity_service.accounts.errors import RegistrationError
from identity_service.accounts.models import DemoCredential
from identity_service.api.deps import IdentityServices
from tests.identity_service.idp_harness import KYC_CLIENT, kyc_token, register_kyc_client
from tests.identity_service.oidc.support import (
    ISSUER,
    PUBLIC_SERVICES,
    PUBLIC_SERVICES_REDIRECT,
    PUBLIC_SERVICES_SECRET,
    Browser,
    FakeClock,
    basic_auth,
    csrf_token_of,
    form_actions,
    query_of,
    raw_request,
)
from tests.security.adversary import (
    SQL_PAYLOADS,
    assert_bearer_refusal,
    assert_oauth_error,
    assert_page_without_redirect,
)

pytestmark = pytest.mark.anyio

KYC_PATH = "/api/v1/kyc/verify"
# ID numbers of every wrong shape (the right one is 12 ASCII digits with a known code).
WRONG_ID_NUMBERS = [
    "",
    " ",
    "0",
    "07909299900",  # 11 digits
    "0790929990041",  # 13 digits
    "079092999004" * 50,
    "ABCDEFGHIJKL",
    "07909299900A",
    "０７９０９２９９９００４",  # fullwidth digits
    "٠٧٩٠٩٢٩٩٩٠٠٤",  # Arabic-Indic digits
    "079092999004\x00",
    "079\u200b092999004",  # zero-width space
    "+79092999004",
    "-79092999004",
    "7.9092999e11",
    "999092999004",  # no such province code
    "000000000000",
    "079 092 999 004 5",
    "079092999004; --",
    "０79092999004",
]
LOGIN_FAILED = re.compile(r'<p class="error" role="alert">([^<]*)</p>')


def failure_message(page: httpx.Response) -> str:
    match = LOGIN_FAILED.search(page.text)
    assert match, page.text[:300]
    return match.group(1)


def step_clock(clock: FakeClock) -> None:
    """Space attempts out: the per-IP rate limit is for attackers, not for this test."""
    clock.advance(3)


@pytest.fixture
def kyc_bearer(services: IdentityServices) -> dict[str, str]:
    register_kyc_client(services)
    return {"Authorization": f"Bearer {kyc_token(services)}"}


async def kyc_result(http: httpx.AsyncClient, response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 200, response.text
    return jwt.decode(
        response.json()["result_jws"],
        options={"verify_signature": False},
        audience=KYC_CLIENT,
        issuer=ISSUER,
    )


def assert_problem(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text[:300]
    assert response.headers["content-type"].startswith("application/problem+json")
    problem = response.json()
    assert problem["status"] == status and problem["type"] and problem["title"]
    return problem


# -- SQL metacharacters -------------------------------------------------------------------


@pytest.mark.parametrize("payload", SQL_PAYLOADS)
async def test_sql_metacharacters_in_every_field_are_just_text(
    http: httpx.AsyncClient,
    browser: Browser,
    demo: dict[int, DemoCredential],
    services: IdentityServices,
    clock: FakeClock,
    kyc_bearer: dict[str, str],
    payload: str,
) -> None:
    # The login form: the same failure as for any unknown account.
    page = await browser.open(raw_request(prompt="login").url)
    reference = await browser.submit(
        page, "login", personal_id_number="079092999999", password="Wrong-password-1"
    )
    step_clock(clock)
    for id_number, password in ((payload, payload), (demo[1].personal_id_number, payload)):
        answer = await browser.submit(
            page, "login", personal_id_number=id_number, password=password
        )
        assert answer.status_code == 400
        assert failure_message(answer) == failure_message(reference)
        step_clock(clock)
    # The authorization endpoint: an untrusted client or URI gets a page ...
    for field in ("client_id", "redirect_uri"):
        assert_page_without_redirect(await http.get(raw_request(**{field: payload}).url), 400)
    # ... a trusted client gets a redirected error for parameters that must have a form ...
    for field in ("prompt", "max_age", "code_challenge", "code_challenge_method"):
        location = (await http.get(raw_request(**{field: payload}).url)).headers["location"]
        assert location.startswith(PUBLIC_SERVICES_REDIRECT + "?")
        assert query_of(location)["error"] == "invalid_request"
    scope_only = (await http.get(raw_request(scope=payload).url)).headers["location"]
    assert query_of(scope_only)["error"] == "invalid_scope"
    # ... and opaque values pass through untouched.
    for field in ("nonce", "login_hint", "ui_locales", "acr_values"):
        response = await http.get(raw_request(**{field: payload}).url)
        assert response.status_code == 303 and response.headers["location"].startswith(
            "/interaction/"
        )
    echoed = await http.get(raw_request(state=payload, prompt="none").url)
    answer = query_of(echoed.headers["location"])
    assert (answer["error"], answer["state"], answer["iss"]) == ("login_required", payload, ISSUER)
    # The token endpoint.
    basic = basic_auth(PUBLIC_SERVICES, PUBLIC_SERVICES_SECRET)
    for field in ("code", "code_verifier", "redirect_uri"):
        form = {
            "grant_type": "authorization_code",
            "code": "x",
            "redirect_uri": PUBLIC_SERVICES_REDIRECT,
            "code_verifier": "v" * 43,
            field: payload,
        }
        assert_oauth_error(
            await http.post("/token", data=form, headers=basic), 400, "invalid_grant"
        )
    as_client = {"grant_type": "authorization_code", "client_id": payload, "client_secret": payload}
    assert_oauth_error(await http.post("/token", data=as_client), 401, "invalid_client")
    assert_oauth_error(
        await http.post(
            "/token",
            data={"grant_type": "authorization_code"},
            headers=basic_auth(payload, payload),
        ),
        401,
        "invalid_client",
    )
    grant = await http.post("/token", data={"grant_type": payload}, headers=basic)
    assert_oauth_error(grant, 400, "unsupported_grant_type")
    # Userinfo, the interaction pages, the e-KYC API.
    assert_bearer_refusal(
        await http.get("/userinfo", headers={"Authorization": f"Bearer {payload}"})
    )
    interaction = await http.get(f"/interaction/{quote(payload, safe='')}")
    # A payload with a slash names no route at all (404); any other finds no interaction.
    assert interaction.status_code == (404 if "/" in payload else 400)
    assert "location" not in interaction.headers
    kyc_name = await http.post(
        KYC_PATH,
        json={
            "personal_id_number": demo[1].personal_id_number,
            "full_name": payload,
            "birth_date": "1992-11-30",
            "gender": "male",
        },
        headers=kyc_bearer,
    )
    assert (await kyc_result(http, kyc_name))["result"] == "no_match"
    # Nothing was harmed: the account, the client registry and logins still work.
    assert services.clients.get(PUBLIC_SERVICES) is not None
    assert services.accounts.get(demo[1].personal_id_number) is not None
    page = await browser.open(raw_request(prompt="login").url)
    welcome = await browser.submit(
        page, "login", personal_id_number=demo[1].personal_id_number, password=demo[1].password
    )
    assert welcome.status_code in (200, 303) and "natid_session" in str(browser.http.cookies)


# -- ID numbers of every wrong shape --------------------------------------------------------


async def test_id_numbers_of_every_wrong_shape_fail_like_a_wrong_password(
    browser: Browser, demo: dict[int, DemoCredential], clock: FakeClock
) -> None:
    page = await browser.open(raw_request(prompt="login").url)
    reference = await browser.submit(
        page, "login", personal_id_number=demo[1].personal_id_number, password="Wrong-password-1"
    )
    for wrong in WRONG_ID_NUMBERS:
        step_clock(clock)
        # A valid password of a real account, so only the number's shape is on trial.
        answer = await browser.submit(
            page, "login", personal_id_number=wrong, password=demo[1].password
        )
        assert answer.status_code == 400, repr(wrong)
        assert failure_message(answer) == failure_message(reference), repr(wrong)


async def test_a_login_hint_of_a_wrong_shape_prefills_nothing(browser: Browser) -> None:
    for wrong in [*WRONG_ID_NUMBERS, *SQL_PAYLOADS]:
        page = await browser.open(raw_request(login_hint=wrong).url)
        assert page.status_code == 200
        prefilled = re.search(r'id="personal_id_number"[^>]*value="([^"]*)"', page.text, re.S)
        assert prefilled is not None and prefilled.group(1) in ("", "079092999004"), repr(wrong)


async def test_the_kyc_api_refuses_wrong_id_numbers_as_invalid_fields(
    http: httpx.AsyncClient, kyc_bearer: dict[str, str], clock: FakeClock
) -> None:
    for wrong in [*WRONG_ID_NUMBERS, 79092999004, None, ["079092999004"]]:
        body = {
            "personal_id_number": wrong,
            "full_name": "Lê Hoàng Nam",
            "birth_date": "1992-11-30",
            "gender": "male",
        }
        problem = assert_problem(await http.post(KYC_PATH, json=body, headers=kyc_bearer), 422)
        assert [error["field"] for error in problem["errors"]] == ["personal_id_number"], wrong
        assert "079092999004" not in json.dumps(problem)
        clock.advance(1)


# -- invalid UTF-8 --------------------------------------------------------------------------

INVALID_UTF8 = [b"\xff\xfe", b"\xc0\xaf", b"\xed\xa0\x80", b"\xf8\x88\x80\x80\x80", b"\x80"]


@pytest.mark.parametrize("raw", INVALID_UTF8, ids=[raw.hex() for raw in INVALID_UTF8])
async def test_invalid_utf8_anywhere_gets_the_protocols_refusal(
    http: httpx.AsyncClient,
    browser: Browser,
    kyc_bearer: dict[str, str],
    raw: bytes,
) -> None:
    encoded = quote(raw)
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    # Query strings and form bodies of the authorization endpoint.
    for field in ("client_id", "redirect_uri"):
        url = raw_request(**{field: "X"}).url.replace(f"{field}=X", f"{field}={encoded}")
        assert_page_without_redirect(await http.get(url), 400)
        body = "&".join(f"{k}={quote(v)}" for k, v in raw_request().params.items() if k != field)
        response = await http.post("/authorize", content=f"{body}&{field}={encoded}", headers=form)
        assert_page_without_redirect(response, 400)
    state_url = raw_request(prompt="none").url + f"&nonce={encoded}"
    assert (await http.get(state_url)).status_code == 303
    # Form fields of the login page, sent both percent-encoded and as raw bytes.
    page = await browser.open(raw_request(prompt="login").url)
    action = form_actions(page)[0]
    token = csrf_token_of(page)
    for value in (encoded.encode(), raw):
        content = b"csrf_token=" + token.encode() + b"&personal_id_number=" + value
        content += b"&password=" + value
        answer = await browser.http.post(action, content=content, headers=form)
        assert answer.status_code == 400 and failure_message(answer)
    # The token endpoint, userinfo, the e-KYC API.
    token_body = b"grant_type=authorization_code&code=" + raw + b"&redirect_uri=" + raw
    basic = basic_auth(PUBLIC_SERVICES, PUBLIC_SERVICES_SECRET)
    response = await http.post("/token", content=token_body, headers={**form, **basic})
    assert response.status_code == 400 and response.json()["error"] in (
        "invalid_request",
        "invalid_grant",
    )
    auth = await http.get("/userinfo", headers={"Authorization": b"Bearer " + raw})
    assert_bearer_refusal(auth)
    kyc = await http.post(
        KYC_PATH,
        content=b'{"personal_id_number": "' + raw + b'"}',
        headers={**kyc_bearer, "Content-Type": "application/json"},
    )
    assert_problem(kyc, 400)


# -- deeply nested JSON ----------------------------------------------------------------------


@pytest.mark.parametrize("opening", ["[", '{"a":'])
async def test_deeply_nested_json_is_refused_not_recursed_into(
    http: httpx.AsyncClient, kyc_bearer: dict[str, str], opening: str
) -> None:
    closing = "]" if opening == "[" else "}"
    json_headers = {"Content-Type": "application/json"}
    for depth in (200, 2000):
        nested = (opening * depth + "1" + closing * depth)[:4000]
        kyc = await http.post(KYC_PATH, content=nested, headers={**kyc_bearer, **json_headers})
        assert kyc.status_code in (400, 422), kyc.text[:200]
        assert_problem(kyc, kyc.status_code)
    deep = opening * 30_000 + "1" + closing * 30_000
    for path in ("/token", "/authorize", "/userinfo", "/interaction/x/login"):
        response = await http.post(path, content=deep, headers=json_headers)
        assert 400 <= response.status_code < 500, (path, response.status_code)


# -- names in mixed Unicode forms ------------------------------------------------------------


def mixed_forms(name: str) -> str:
    """Every other word decomposed (NFD), the others composed (NFC)."""
    words = unicodedata.normalize("NFC", name).split(" ")
    return " ".join(
        unicodedata.normalize("NFD" if index % 2 == 0 else "NFC", word)
        for index, word in enumerate(words)
    )


LOOKALIKES = {
    "Cyrillic а": lambda name: name.replace("a", "а", 1),
    "fullwidth letters": lambda name: "".join(
        chr(ord(c) + 0xFEE0) if "A" <= c <= "Z" else c for c in name
    ),
    "marks in another order": lambda name: re.sub(
        "([\u0300-\u036f])([\u0300-\u036f])", r"\2\1", unicodedata.normalize("NFD", name), count=1
    ),
    "zero-width joiner": lambda name: name.replace(" ", " \u200d", 1),
}


async def test_the_kyc_api_matches_names_in_any_unicode_form_but_no_lookalike(
    http: httpx.AsyncClient,
    services: IdentityServices,
    kyc_bearer: dict[str, str],
    clock: FakeClock,
) -> None:
    record = services.population.get("046178999006")  # stored decomposed (nfd_name)
    assert record is not None
    assert unicodedata.is_normalized("NFD", record.full_name)

    async def result_for(full_name: str) -> str:
        clock.advance(1)
        body = {
            "personal_id_number": record.personal_id_number,
            "full_name": full_name,
            "birth_date": record.birth_date.isoformat(),
            "gender": record.gender,
        }
        return (await kyc_result(http, await http.post(KYC_PATH, json=body, headers=kyc_bearer)))[
            "result"
        ]

    for form in ("NFC", "NFD", "NFKC"):
        assert await result_for(unicodedata.normalize(form, record.full_name)) == "match", form
    assert await result_for(mixed_forms(record.full_name)) == "match"
    for label, disguise in LOOKALIKES.items():
        disguised = disguise(unicodedata.normalize("NFC", record.full_name))
        if unicodedata.normalize("NFC", disguised) == unicodedata.normalize(
            "NFC", record.full_name
        ):
            continue  # the disguise does not apply to this name
        assert await result_for(disguised) == "no_match", label


def test_registration_matches_names_in_any_unicode_form_but_no_lookalike(
    services: IdentityServices,
) -> None:
    record = services.population.get("036083999002")  # Trần Văn Hùng, no account yet
    assert record is not None and record.phone

    def register(full_name: str) -> None:
        services.accounts.register(
            record.personal_id_number,
            full_name,
            record.birth_date,
            record.phone or "",
            "Một mật khẩu dài 2025!",
        )

    for label, disguise in LOOKALIKES.items():
        disguised = disguise(record.full_name)
        if unicodedata.normalize("NFC", disguised) == unicodedata.normalize(
            "NFC", record.full_name
        ):
            continue
        with pytest.raises(RegistrationError) as refused:
            register(disguised)
        assert refused.value.code == "mismatch", label
    register(mixed_forms(record.full_name))
    assert services.accounts.get(record.personal_id_number) is not None
