"""The authorization endpoint: request validation, safe error handling, security headers."""

from __future__ import annotations

import httpx
import pytest

from identity_service.api.deps import IdentityServices
from identity_service.app import create_app
from identity_service.config import IdentitySettings
from identity_service.oidc.registration import ClientRegistration
from identity_service.state import MemoryStateStore
from tests.identity_service.oidc.environment import CLIENT_SEEDS
from tests.identity_service.oidc.support import (
    CLINIC,
    CLINIC_REDIRECT,
    ISSUER,
    LEVEL2_PORTAL_REDIRECT,
    PUBLIC_SERVICES_REDIRECT,
    query_of,
    raw_request,
)

pytestmark = pytest.mark.anyio

ATTACK_REDIRECT_URIS = [
    "https://evil.example.com/auth/callback",  # unregistered
    "http://127.0.0.1:8101/auth/callback/extra",  # registered URI as a prefix
    "http://127.0.0.1:8101/auth/callbackevil",
    "http://127.0.0.1:8101/auth/callback/../../evil",  # path traversal
    "http://127.0.0.1:8101/auth/callback%2F..%2F..%2Fevil",  # encoded traversal
    "http://127.0.0.1:8101/auth/callback?next=https://evil.example.com",  # added query
    "http://127.0.0.1:8101/auth/callback#frag",
    "http://127.0.0.1:8101/auth/callback/",  # trailing slash
    "HTTP://127.0.0.1:8101/auth/callback",  # case-changed scheme
    "http://127.0.0.1:8101/Auth/Callback",  # case-changed path
    "http://127.0.0.1:81010/auth/callback",  # other port
    LEVEL2_PORTAL_REDIRECT,  # another client's registered URI
    "http://127.0.0.1:8101@evil.example.com/auth/callback",  # user-info trick
    "http://evil.example.com/http://127.0.0.1:8101/auth/callback",  # registered URI as a suffix
    "//evil.example.com/auth/callback",
    "",
]


@pytest.mark.parametrize("redirect_uri", ATTACK_REDIRECT_URIS)
async def test_unregistered_redirect_uris_get_a_page_never_a_redirect(
    http: httpx.AsyncClient, redirect_uri: str
) -> None:
    response = await http.get(raw_request(redirect_uri=redirect_uri).url)
    assert response.status_code == 400
    assert "location" not in response.headers
    assert response.headers["content-type"].startswith("text/html")
    assert "evil" not in response.text


@pytest.mark.parametrize(
    "overrides",
    [
        {"client_id": "no-such-portal"},
        {"client_id": None},
        {"client_id": ""},
        {"redirect_uri": None},
    ],
)
async def test_unknown_clients_and_missing_redirect_uris_get_a_page(
    http: httpx.AsyncClient, overrides: dict[str, str | None]
) -> None:
    response = await http.get(raw_request(**overrides).url)
    assert response.status_code == 400
    assert "location" not in response.headers


async def test_repeated_client_id_or_redirect_uri_is_not_trusted(http: httpx.AsyncClient) -> None:
    request = raw_request()
    url = (
        request.url + "&redirect_uri=" + httpx.URL("https://evil.example.com/cb").raw_path.decode()
    )
    response = await http.get(url)
    assert response.status_code == 400 and "location" not in response.headers


@pytest.mark.parametrize(
    ("overrides", "error"),
    [
        ({"response_type": None}, "invalid_request"),
        ({"response_type": "token"}, "unsupported_response_type"),
        ({"response_type": "code id_token"}, "unsupported_response_type"),
        ({"code_challenge": None}, "invalid_request"),
        ({"code_challenge_method": None}, "invalid_request"),
        ({"code_challenge_method": "plain"}, "invalid_request"),
        ({"code_challenge": "short"}, "invalid_request"),
        ({"scope": "profile"}, "invalid_scope"),
        ({"scope": ""}, "invalid_scope"),
        ({"prompt": "none login"}, "invalid_request"),
        ({"prompt": "sideways"}, "invalid_request"),
        ({"max_age": "soon"}, "invalid_request"),
        ({"max_age": "-5"}, "invalid_request"),
        ({"response_mode": "fragment"}, "invalid_request"),
        ({"response_mode": "form_post"}, "invalid_request"),
        ({"request": "eyJhbGciOiJub25lIn0.e30."}, "invalid_request_object"),
        ({"request_uri": "https://evil.example.com/request.jwt"}, "request_uri_not_supported"),
        ({"prompt": "none"}, "login_required"),
        ({"nonce": "n" * 5000}, "invalid_request"),
    ],
)
async def test_errors_for_a_trusted_client_redirect_with_state_and_iss(
    http: httpx.AsyncClient, overrides: dict[str, str | None], error: str
) -> None:
    request = raw_request(**overrides)
    response = await http.get(request.url)
    assert response.status_code == 303
    location = response.headers["location"]
    assert location.startswith(PUBLIC_SERVICES_REDIRECT + "?")
    answer = query_of(location)
    assert answer["error"] == error
    assert answer["error_description"]
    assert answer["state"] == request.params["state"]
    assert answer["iss"] == ISSUER
    assert "code" not in answer


async def test_scope_not_registered_for_the_client_is_refused(http: httpx.AsyncClient) -> None:
    # The clinic is not registered for household: it must never get the household data.
    request = raw_request(CLINIC, CLINIC_REDIRECT, scope="openid profile household")
    answer = query_of((await http.get(request.url)).headers["location"])
    assert answer["error"] == "invalid_scope"


async def test_unknown_scopes_are_ignored(http: httpx.AsyncClient) -> None:
    response = await http.get(raw_request(scope="openid profile email offline").url)
    assert response.status_code == 303
    assert response.headers["location"].startswith("/interaction/")


async def test_a_repeated_parameter_is_refused(http: httpx.AsyncClient) -> None:
    request = raw_request()
    response = await http.get(request.url + "&scope=openid")
    answer = query_of(response.headers["location"])
    assert answer["error"] == "invalid_request"
    assert answer["state"] == request.params["state"]


async def test_error_redirect_keeps_the_registered_query(
    http: httpx.AsyncClient, services: IdentityServices
) -> None:
    uri = "https://tenant.example.vn/cb?tenant=7"
    client = services.clients.register(
        ClientRegistration(name="Tenant portal", redirect_uris=(uri,), scopes=("openid",))
    ).client
    request = raw_request(client.client_id, uri, scope="openid", code_challenge_method="plain")
    location = (await http.get(request.url)).headers["location"]
    assert location.startswith(uri + "&")
    assert query_of(location)["tenant"] == "7"


async def test_a_valid_request_leads_to_the_login_page_with_a_bound_browser(
    http: httpx.AsyncClient,
) -> None:
    response = await http.get(raw_request().url)
    assert response.status_code == 303
    assert response.headers["location"].startswith("/interaction/")
    cookie = response.headers["set-cookie"]
    assert cookie.startswith("natid_browser=")
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Secure" in cookie
    page = await http.get(response.headers["location"])
    assert page.status_code == 200
    assert "<script" not in page.text
    assert 'name="csrf_token"' in page.text


async def test_post_form_requests_work_like_get(http: httpx.AsyncClient) -> None:
    response = await http.post("/authorize", data=raw_request().params)
    assert response.status_code == 303
    assert response.headers["location"].startswith("/interaction/")


@pytest.mark.parametrize("path", ["/authorize?client_id=nope", "/authorize"])
async def test_pages_refuse_framing_and_caching(http: httpx.AsyncClient, path: str) -> None:
    response = await http.get(path)
    assert response.headers["x-frame-options"] == "DENY"
    csp = response.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in csp and "default-src 'self'" in csp
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["referrer-policy"] == "no-referrer"
    assert response.headers["x-content-type-options"] == "nosniff"


async def test_language_follows_ui_locales_and_can_be_switched(http: httpx.AsyncClient) -> None:
    default = await http.get((await http.get(raw_request().url)).headers["location"])
    assert 'lang="vi"' in default.text and "Đăng nhập" in default.text
    english_url = (await http.get(raw_request(ui_locales="en-GB fr").url)).headers["location"]
    english = await http.get(english_url)
    assert 'lang="en"' in english.text and "Log in" in english.text
    switched = await http.get(english_url + "?lang=vi")
    assert 'lang="vi"' in switched.text


async def test_login_hint_prefills_only_an_id_number(http: httpx.AsyncClient) -> None:
    hinted = await http.get(
        (await http.get(raw_request(login_hint="079092999004").url)).headers["location"]
    )
    assert 'value="079092999004"' in hinted.text
    hostile = await http.get(
        (await http.get(raw_request(login_hint='"><script>x</script>').url)).headers["location"]
    )
    assert "<script>x" not in hostile.text


async def test_cookies_are_not_secure_when_the_issuer_is_http(
    settings: IdentitySettings, state: MemoryStateStore
) -> None:
    plain = settings.model_copy(update={"issuer": "http://127.0.0.1:8000"})
    app = create_app(plain, state_store=state, client_seeds=CLIENT_SEEDS)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url=plain.issuer) as http:
        response = await http.get(raw_request().url)
    assert response.status_code == 303
    assert "Secure" not in response.headers["set-cookie"]
    assert "HttpOnly" in response.headers["set-cookie"]
    app.state.services.identity_engine.dispose()
    app.state.services.population.close()
