"""Test drivers: several ASGI apps behind one "network", and a citizen's browser.

``Network`` is an httpx transport that routes each request by its URL's host and port to
the in-process app listening there (the IdP on 127.0.0.1:8000, the portals on 8101-8103),
and keeps a log of the requests so tests can count, say, JWKS fetches. It can also tamper
with responses on their way back, like an attacker on the wire.

``Browser`` is an httpx client on that network: it keeps cookies per host like a browser
(ports share cookies, as in real browsers), follows redirects across apps, and submits
HTML forms it finds on a page.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit

import httpx
import pyotp
from starlette.types import ASGIApp

IDP = "http://127.0.0.1:8000"
PUBLIC_SERVICES = "http://127.0.0.1:8101"
BANK = "http://127.0.0.1:8102"
CLINIC = "http://127.0.0.1:8103"

ResponseHook = Callable[[httpx.Request, httpx.Response], httpx.Response]


class FakeClock:
    """time.time() that tests move forward by hand; shared by the IdP and the portals."""

    def __init__(self, start: float) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class Network(httpx.AsyncBaseTransport):
    def __init__(self) -> None:
        self._apps: dict[str, httpx.ASGITransport] = {}
        self.log: list[httpx.Request] = []
        self.response_hooks: list[ResponseHook] = []

    def attach(self, origin: str, app: ASGIApp) -> None:
        self._apps[_origin_key(origin)] = httpx.ASGITransport(app=app)

    def requests_to(self, origin: str, path: str) -> list[httpx.Request]:
        key = _origin_key(origin)
        return [
            request
            for request in self.log
            if _origin_key(str(request.url)) == key and request.url.path == path
        ]

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.log.append(request)
        transport = self._apps.get(_origin_key(str(request.url)))
        if transport is None:
            raise httpx.ConnectError(f"nothing listens at {request.url}", request=request)
        response = await transport.handle_async_request(request)
        for hook in self.response_hooks:
            await response.aread()
            response = hook(request, response)
        return response


def _origin_key(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.hostname}:{parts.port or (443 if parts.scheme == 'https' else 80)}"


@dataclass
class Form:
    action: str
    method: str
    fields: dict[str, str] = field(default_factory=dict)


class _FormParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.forms: list[Form] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = {name: value or "" for name, value in attrs}
        if tag == "form":
            self.forms.append(
                Form(attributes.get("action", ""), attributes.get("method", "get").lower())
            )
        elif tag == "input" and self.forms and attributes.get("name"):
            kind = attributes.get("type", "text")
            if kind in ("radio", "checkbox") and "checked" not in attributes:
                return
            if kind == "submit":
                return
            self.forms[-1].fields[attributes["name"]] = attributes.get("value", "")


def forms_on(page: httpx.Response) -> list[Form]:
    parser = _FormParser()
    parser.feed(page.text)
    return parser.forms


class Browser:
    def __init__(self, network: Network) -> None:
        self.http = httpx.AsyncClient(transport=network, follow_redirects=True)

    async def aclose(self) -> None:
        await self.http.aclose()

    async def get(self, url: str) -> httpx.Response:
        return await self.http.get(url)

    def find_form(self, page: httpx.Response, action_ending: str) -> Form | None:
        for form in forms_on(page):
            if form.method == "post" and urlsplit(form.action).path.endswith(action_ending):
                return form
        return None

    async def submit(
        self, page: httpx.Response, action_ending: str, **values: str
    ) -> httpx.Response:
        """Post the page's form whose action ends with ``action_ending``, its hidden
        fields (CSRF tokens) included, with ``values`` filled in."""
        form = self.find_form(page, action_ending)
        assert form is not None, f"no form {action_ending} on {page.url}: {page.text[:400]}"
        data = {**form.fields, **values}
        return await self.http.post(urljoin(str(page.url), form.action), data=data)


@dataclass(frozen=True)
class Citizen:
    personal_id_number: str
    password: str
    level: int
    totp_secret: str | None
    full_name: str


async def pass_idp(
    browser: Browser,
    page: httpx.Response,
    citizen: Citizen,
    clock: FakeClock,
    *,
    consent: bool = True,
) -> httpx.Response:
    """Answer whatever the IdP asks (password, one-time code, consent) until the browser
    is back at a portal; returns the portal's page."""
    for _ in range(4):
        if not page.url.path.startswith("/interaction/"):
            return page
        if browser.find_form(page, "/login"):
            page = await browser.submit(
                page,
                "/login",
                personal_id_number=citizen.personal_id_number,
                password=citizen.password,
            )
        elif browser.find_form(page, "/second-factor"):
            assert citizen.totp_secret, "the IdP asked a level-1 citizen for a code"
            page = await browser.submit(page, "/second-factor", code=totp_code(citizen, clock))
        elif browser.find_form(page, "/consent"):
            page = await browser.submit(page, "/consent", decision="approve" if consent else "deny")
        else:
            raise AssertionError(f"unexpected IdP page {page.url}: {page.text[:400]}")
    return page


def totp_code(citizen: Citizen, clock: FakeClock) -> str:
    assert citizen.totp_secret is not None
    return pyotp.TOTP(citizen.totp_secret).at(clock())


def idp_steps_answered(network: Network) -> list[str]:
    """The IdP forms the browser posted, in order: "login", "second-factor", "consent"."""
    return [
        request.url.path.rsplit("/", 1)[-1]
        for request in network.log
        if _origin_key(str(request.url)) == _origin_key(IDP)
        and request.url.path.startswith("/interaction/")
        and request.method == "POST"
    ]


async def log_in(
    browser: Browser, url: str, citizen: Citizen, clock: FakeClock, *, consent: bool = True
) -> httpx.Response:
    """Open ``url`` on a portal and answer the IdP until the portal's page comes back."""
    return await pass_idp(browser, await browser.get(url), citizen, clock, consent=consent)
