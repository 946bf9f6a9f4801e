"""Redirect-URI attacks and open redirects: the provider redirects only to registered URIs.

A redirect URI is trusted only when it equals, character for character, one the client
registered (OIDC Core §3.1.2.1; RFC 9700 §4.1.3). Every near miss — each one a known
trick to make a lax matcher send the code elsewhere — gets an error page and no redirect,
and so does every request whose client cannot be trusted, whatever else is wrong with it.
"""

from __future__ import annotations

from urllib.parse import urlsplit

import httpx
import pytest

from identity_service.api.deps import IdentityServices
from identity_service.oidc.registration import ClientRegistration
from tests.identity_service.oidc.support import (
    LEVEL2_PORTAL,
    LEVEL2_PORTAL_REDIRECT,
    PUBLIC_SERVICES,
    PUBLIC_SERVICES_REDIRECT,
    raw_request,
)
from tests.security.adversary import assert_page_without_redirect

pytestmark = pytest.mark.anyio

HOSTNAME_REDIRECT = "https://dichvucong.example.vn/auth/callback"
EVIL = "evil.example.com"


def near_misses(uri: str) -> dict[str, str]:
    """Variants of a registered URI that a lax comparison would accept."""
    parts = urlsplit(uri)
    scheme, host, path = parts.scheme, parts.hostname or "", parts.path
    port = parts.port
    netloc = parts.netloc
    other_port = f"{host}:{(port or 443) + 1}"
    variants = {
        "appended path segment": uri + "/extra",
        "appended characters": uri + "evil",
        "trailing slash": uri + "/",
        "registered URI as the path of another host": f"https://{EVIL}/{uri}",
        "registered URI in the query of another host": f"https://{EVIL}/?next={uri}",
        "scheme in capitals": scheme.upper() + uri[len(scheme) :],
        "other scheme": ("https" if scheme == "http" else "http") + uri[len(scheme) :],
        "path in capitals": f"{scheme}://{netloc}{path.upper()}",
        "path traversal": uri + "/../../evil",
        "dot segment": f"{scheme}://{netloc}{path.replace('/callback', '/./callback')}",
        "encoded traversal": uri + "%2F..%2F..%2Fevil",
        "percent-encoded letter": f"{scheme}://{netloc}{path.replace('callback', 'c%61llback')}",
        "percent-encoded slash": f"{scheme}://{netloc}{path.replace('/callback', '%2Fcallback')}",
        "double-encoded slash": f"{scheme}://{netloc}{path.replace('/callback', '%252Fcallback')}",
        "other port": f"{scheme}://{other_port}{path}",
        # A URI registered with a port loses it; one registered without gets the default.
        "port changed to the default": (
            f"{scheme}://{host}{path}"
            if port
            else f"{scheme}://{host}:{443 if scheme == 'https' else 80}{path}"
        ),
        "user info naming the real host": f"{scheme}://{netloc}@{EVIL}{path}",
        "user info on the real host": f"{scheme}://{EVIL}@{netloc}{path}",
        "fragment": uri + "#x",
        "empty fragment": uri + "#",
        "added query": uri + f"?next=https://{EVIL}",
        "empty query": uri + "?",
        "backslash before @": f"{scheme}://{netloc}\\@{EVIL}{path}",
        "backslashes in the path": f"{scheme}://{netloc}{path.replace('/', chr(92))}",
        "backslash scheme separator": f"{scheme}:\\\\{EVIL}\\{netloc}{path}",
        "scheme-relative": f"//{netloc}{path}",
        "one slash after the scheme": f"{scheme}:/{netloc}{path}",
        "leading space": " " + uri,
        "trailing space": uri + " ",
        "trailing tab": uri + "\t",
        "encoded trailing space": uri + "%20",
        "trailing NUL": uri + "\x00",
        "encoded NUL": uri + "%00",
        "CRLF header injection": uri + f"\r\nLocation: https://{EVIL}",
        "fullwidth letter in the path": f"{scheme}://{netloc}{path.replace('c', 'ｃ', 1)}",
        "javascript scheme": "javascript:alert(document.domain)//" + uri,
        "data scheme": "data:text/html,<script>location='https://evil.example.com'</script>",
    }
    if host.replace(".", "").isdigit():
        port_part = f":{port}" if port else ""
        variants |= {
            "loopback by name": f"{scheme}://localhost{port_part}{path}",
            "address as one decimal number": f"{scheme}://2130706433{port_part}{path}",
            "address in hexadecimal": f"{scheme}://0x7f.0.0.1{port_part}{path}",
            "short address": f"{scheme}://127.1{port_part}{path}",
            "IPv4-mapped IPv6": f"{scheme}://[::ffff:127.0.0.1]{port_part}{path}",
            "fullwidth digits": f"{scheme}://１２７.0.0.1{port_part}{path}",
            "ideographic full stops": f"{scheme}://127。0。0。1{port_part}{path}",
        }
    else:
        lookalike = host.replace("o", "о", 1)  # Cyrillic о (U+043E)
        variants |= {
            "host in capitals": f"{scheme}://{host.upper()}{path}",
            "trailing dot on the host": f"{scheme}://{host}.{path}",
            "Cyrillic lookalike host": f"{scheme}://{lookalike}{path}",
            "lookalike host in punycode": f"{scheme}://{lookalike.encode('idna').decode()}{path}",
            "fullwidth dots in the host": f"{scheme}://{host.replace('.', '．')}{path}",
            "registered host as a subdomain": f"{scheme}://{host}.{EVIL}{path}",
            "subdomain of the registered host": f"{scheme}://{EVIL}.{host}{path}",
        }
    return variants


@pytest.fixture
def hostname_client(services: IdentityServices) -> str:
    return services.clients.register(
        ClientRegistration(
            name="Cổng dịch vụ công", redirect_uris=(HOSTNAME_REDIRECT,), scopes=("openid",)
        )
    ).client.client_id


async def _refusals(
    http: httpx.AsyncClient, client_id: str, registered: str, method: str
) -> dict[str, str]:
    """The near misses that did not get an error page without a redirect, and why."""
    problems: dict[str, str] = {}
    for name, uri in near_misses(registered).items():
        assert uri != registered
        request = raw_request(client_id, uri, scope="openid")
        if method == "GET":
            response = await http.get(request.url)
        else:
            response = await http.post("/authorize", data=request.params)
        if response.status_code != 400 or "location" in response.headers:
            problems[name] = f"{response.status_code} {response.headers.get('location')}"
        elif not response.headers["content-type"].startswith("text/html"):
            problems[name] = "not a page"
        elif EVIL in response.text:
            problems[name] = "the page echoes the attacker's URI"
    return problems


@pytest.mark.parametrize("method", ["GET", "POST"])
async def test_near_misses_of_a_loopback_redirect_uri_get_a_page(
    http: httpx.AsyncClient, method: str
) -> None:
    control = await http.get(raw_request(PUBLIC_SERVICES, PUBLIC_SERVICES_REDIRECT).url)
    assert control.status_code == 303 and control.headers["location"].startswith("/interaction/")
    assert await _refusals(http, PUBLIC_SERVICES, PUBLIC_SERVICES_REDIRECT, method) == {}


@pytest.mark.parametrize("method", ["GET", "POST"])
async def test_near_misses_of_a_hostname_redirect_uri_get_a_page(
    http: httpx.AsyncClient, hostname_client: str, method: str
) -> None:
    control = await http.get(raw_request(hostname_client, HOSTNAME_REDIRECT, scope="openid").url)
    assert control.status_code == 303 and control.headers["location"].startswith("/interaction/")
    assert await _refusals(http, hostname_client, HOSTNAME_REDIRECT, method) == {}


async def test_another_clients_registered_uri_is_not_trusted(http: httpx.AsyncClient) -> None:
    assert_page_without_redirect(
        await http.get(raw_request(PUBLIC_SERVICES, LEVEL2_PORTAL_REDIRECT).url), 400
    )
    assert_page_without_redirect(
        await http.get(raw_request(LEVEL2_PORTAL, PUBLIC_SERVICES_REDIRECT).url), 400
    )


# Requests that are wrong in a way that, for a trusted client, would be answered by
# redirecting an error to the client; each combined with an untrusted client.
CLIENT_SIDE_ERRORS: list[dict[str, str | None]] = [
    {},
    {"response_type": "token"},
    {"code_challenge": None},
    {"code_challenge_method": "plain"},
    {"scope": "profile"},
    {"prompt": "none"},
    {"request": "eyJhbGciOiJub25lIn0.e30."},
]
UNTRUSTED_CLIENTS: list[dict[str, str | None]] = [
    {"client_id": "no-such-portal", "redirect_uri": f"https://{EVIL}/cb"},
    {"client_id": "no-such-portal", "redirect_uri": PUBLIC_SERVICES_REDIRECT},
    {"client_id": None, "redirect_uri": f"https://{EVIL}/cb"},
    {"client_id": "", "redirect_uri": f"https://{EVIL}/cb"},
    {"client_id": "' OR '1'='1", "redirect_uri": f"https://{EVIL}/cb"},
    {"client_id": PUBLIC_SERVICES, "redirect_uri": f"https://{EVIL}/cb"},
    {"client_id": PUBLIC_SERVICES, "redirect_uri": None},
]


@pytest.mark.parametrize("error", CLIENT_SIDE_ERRORS, ids=lambda e: ",".join(e) or "none")
async def test_no_error_is_ever_redirected_to_an_untrusted_client(
    http: httpx.AsyncClient, error: dict[str, str | None]
) -> None:
    for client in UNTRUSTED_CLIENTS:
        request = raw_request(**{**client, **error})
        for response in (
            await http.get(request.url),
            await http.post("/authorize", data=request.params),
        ):
            assert_page_without_redirect(response, 400)
            assert EVIL not in response.text


async def test_a_repeated_client_id_or_redirect_uri_is_never_trusted(
    http: httpx.AsyncClient,
) -> None:
    request = raw_request()
    evil_uri = httpx.QueryParams({"redirect_uri": f"https://{EVIL}/cb"})
    other_client = httpx.QueryParams({"client_id": LEVEL2_PORTAL})
    for extra in (evil_uri, other_client):
        for url in (f"{request.url}&{extra}", f"/authorize?{extra}&{request.url.split('?')[1]}"):
            assert_page_without_redirect(await http.get(url), 400)
