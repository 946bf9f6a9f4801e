"""Oversized requests: refused at the edge with 413/414/431 in the protocol's shape.

In-process (ASGI) tests of ``identity_service.limits`` as the app mounts it; what a real
uvicorn server does in front of it is in ``test_real_server.py``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from identity_service.limits import (
    DEFAULT_MAX_BODY_BYTES,
    DEFAULT_MAX_HEADER_BYTES,
    DEFAULT_MAX_HEADER_COUNT,
    DEFAULT_MAX_URL_BYTES,
)
from tests.identity_service.oidc.support import PUBLIC_SERVICES, PUBLIC_SERVICES_SECRET, basic_auth
from tests.security.adversary import assert_oauth_error

pytestmark = pytest.mark.anyio

FORM = {"Content-Type": "application/x-www-form-urlencoded"}
KYC_PATH = "/api/v1/kyc/verify"
# Every endpoint that takes a body; the limit applies before routing, so all alike.
BODY_PATHS = ["/token", "/authorize", "/interaction/x/login", "/userinfo", "/no-such-path"]


def oversized_form() -> bytes:
    return b"grant_type=authorization_code&code=" + b"a" * DEFAULT_MAX_BODY_BYTES


async def chunks(body: bytes, size: int = 8192) -> AsyncIterator[bytes]:
    """The body streamed without a Content-Length (chunked transfer)."""
    for start in range(0, len(body), size):
        yield body[start : start + size]


def assert_refused_at_the_edge(response: httpx.Response, status: int, label: str = "") -> None:
    body = assert_oauth_error(response, status, "invalid_request", label)
    assert body["error_description"], label
    assert response.headers["connection"] == "close", label
    # The refusal passes through the security headers like every other answer.
    assert response.headers["x-frame-options"] == "DENY", label


async def test_a_declared_oversized_body_gets_413(http: httpx.AsyncClient) -> None:
    for path in BODY_PATHS:
        response = await http.post(path, content=oversized_form(), headers=FORM)
        assert_refused_at_the_edge(response, 413, path)


async def test_a_streamed_oversized_body_gets_413(http: httpx.AsyncClient) -> None:
    for path in BODY_PATHS:
        response = await http.post(path, content=chunks(oversized_form()), headers=FORM)
        assert "content-length" not in response.request.headers
        assert_refused_at_the_edge(response, 413, path)


async def test_a_streamed_body_within_the_limit_reaches_the_endpoint(
    http: httpx.AsyncClient,
) -> None:
    body = httpx.QueryParams(
        {
            "grant_type": "authorization_code",
            "code": "no-such-code",
            "redirect_uri": "http://127.0.0.1:8101/auth/callback",
            "code_verifier": "v" * 43,
        }
    )
    streamed = await http.post(
        "/token",
        content=chunks(str(body).encode(), size=7),
        headers={**FORM, **basic_auth(PUBLIC_SERVICES, PUBLIC_SERVICES_SECRET)},
    )
    assert_oauth_error(streamed, 400, "invalid_grant")


async def test_a_body_just_at_the_limit_is_not_refused_for_size(http: httpx.AsyncClient) -> None:
    prefix = b"grant_type=authorization_code&code="
    body = prefix + b"a" * (DEFAULT_MAX_BODY_BYTES - len(prefix))
    response = await http.post("/token", content=body, headers=FORM)
    assert response.status_code != 413
    assert response.json()["error"] in ("invalid_client", "invalid_request")


async def test_the_rest_api_gets_problem_details(http: httpx.AsyncClient) -> None:
    response = await http.post(
        KYC_PATH,
        content=b"{" + b" " * DEFAULT_MAX_BODY_BYTES + b"}",
        headers={"Content-Type": "application/json"},
    )
    assert response.status_code == 413
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["status"] == 413 and problem["title"] and problem["detail"]


async def test_too_many_header_fields_get_431(http: httpx.AsyncClient) -> None:
    headers = [(f"x-filler-{n}", "a") for n in range(DEFAULT_MAX_HEADER_COUNT + 1)]
    assert_refused_at_the_edge(await http.get("/jwks", headers=headers), 431)


async def test_oversized_header_fields_get_431(http: httpx.AsyncClient) -> None:
    value = "Bearer " + "a" * DEFAULT_MAX_HEADER_BYTES
    for name in ("Authorization", "Cookie", "X-Anything"):
        assert_refused_at_the_edge(await http.get("/userinfo", headers={name: value}), 431, name)


async def test_an_oversized_url_gets_414(http: httpx.AsyncClient) -> None:
    url = "/authorize?client_id=" + "a" * DEFAULT_MAX_URL_BYTES
    assert_refused_at_the_edge(await http.get(url), 414)


async def test_a_malformed_content_length_gets_400(http: httpx.AsyncClient) -> None:
    for declared in ("abc", "-1", "1e3", "99999999999999999999999", "1, 2"):
        request = http.build_request("POST", "/token", content=b"grant_type=x", headers=FORM)
        request.headers["Content-Length"] = declared
        assert_refused_at_the_edge(await http.send(request), 400, declared)


async def test_ordinary_requests_pass_untouched(http: httpx.AsyncClient) -> None:
    assert (await http.get("/jwks")).status_code == 200
    assert (await http.get("/.well-known/openid-configuration")).status_code == 200


MANY_FIELDS = "&".join(f"f{n}=v" for n in range(1001)).encode()
NO_BOUNDARY = {"Content-Type": "multipart/form-data"}


async def test_too_many_form_fields_at_the_token_endpoint_are_an_oauth_error(
    http: httpx.AsyncClient,
) -> None:
    response = await http.post("/token", content=MANY_FIELDS, headers=FORM)
    assert_oauth_error(response, 400, "invalid_request")


async def test_a_multipart_body_at_the_token_endpoint_is_an_oauth_error(
    http: httpx.AsyncClient,
) -> None:
    response = await http.post("/token", content=b"x", headers=NO_BOUNDARY)
    assert_oauth_error(response, 400, "invalid_request")


@pytest.mark.parametrize(
    ("content", "headers"), [(MANY_FIELDS, FORM), (b"x", NO_BOUNDARY)], ids=["fields", "multipart"]
)
@pytest.mark.parametrize("path", ["/authorize", "/interaction/x/login"])
async def test_form_parser_refusals_on_pages_are_error_pages(
    http: httpx.AsyncClient, path: str, content: bytes, headers: dict[str, str]
) -> None:
    response = await http.post(path, content=content, headers=headers)
    assert response.status_code == 400
    assert response.headers["content-type"].startswith("text/html")
