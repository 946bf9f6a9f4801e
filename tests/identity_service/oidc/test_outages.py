"""Dependency outages answer 503 with Retry-After; hostile requests never get a 500."""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from identity_service.accounts.models import DemoCredential
from identity_service.config import IdentitySettings
from identity_service.state import MemoryStateStore, StateStoreUnavailableError
from tests.identity_service.oidc.environment import close_app, demo_accounts, make_app
from tests.identity_service.oidc.support import (
    PUBLIC_SERVICES,
    PUBLIC_SERVICES_SECRET,
    Browser,
    FakeClock,
    RawRequest,
    basic_auth,
    obtain_code,
    raw_request,
)

pytestmark = pytest.mark.anyio


class SwitchableStateStore:
    """A memory store that can be made to fail like an unreachable Redis."""

    def __init__(self, clock: FakeClock) -> None:
        self._store = MemoryStateStore(clock=clock)
        self.down = False

    def __getattr__(self, name: str) -> Callable[..., Any]:
        operation = getattr(self._store, name)

        def call(*args: Any, **kwargs: Any) -> Any:
            if self.down:
                raise StateStoreUnavailableError("the state store (Redis) is unavailable")
            return operation(*args, **kwargs)

        return call


@pytest.fixture
def switchable(clock: FakeClock) -> SwitchableStateStore:
    return SwitchableStateStore(clock)


@pytest.fixture
def flaky_app(
    settings: IdentitySettings, switchable: SwitchableStateStore, clock: FakeClock
) -> Iterator[FastAPI]:
    application = make_app(settings, switchable, clock)  # type: ignore[arg-type]
    yield application
    close_app(application)


def redeem(request: RawRequest, code: str) -> dict[str, Any]:
    return {
        "data": {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": request.params["redirect_uri"],
            "code_verifier": request.code_verifier,
        },
        "headers": basic_auth(PUBLIC_SERVICES, PUBLIC_SERVICES_SECRET),
    }


async def test_state_store_outage_gives_503_and_loses_nothing(flaky_app: FastAPI) -> None:
    switchable: SwitchableStateStore = flaky_app.state.services.state
    demo = demo_accounts(flaky_app.state.services)[1]
    async with Browser(flaky_app) as browser:
        first, second = raw_request(), raw_request()
        first_code = await obtain_code(browser, first, demo.personal_id_number, demo.password)
        second_code = await obtain_code(browser, second, demo.personal_id_number, demo.password)
        tokens = (await browser.http.post("/token", **redeem(first, first_code))).json()
        bearer = {"Authorization": f"Bearer {tokens['access_token']}"}

        switchable.down = True
        page = await browser.http.get(raw_request().url)
        token = await browser.http.post("/token", **redeem(second, second_code))
        userinfo = await browser.http.get("/userinfo", headers=bearer)
        switchable.down = False

        recovered_token = await browser.http.post("/token", **redeem(second, second_code))
        recovered_userinfo = await browser.http.get("/userinfo", headers=bearer)
    assert page.status_code == 503 and page.headers["content-type"].startswith("text/html")
    assert page.headers["retry-after"] == "5"
    assert token.status_code == 503 and token.json()["error"] == "temporarily_unavailable"
    assert token.headers["retry-after"] == "5" and token.headers["cache-control"] == "no-store"
    assert userinfo.status_code == 503
    # Nothing was lost while the store was away: the code and the token still work.
    assert recovered_token.status_code == 200
    assert recovered_userinfo.status_code == 200


async def test_population_database_outage_gives_503_at_userinfo(
    tmp_path: Path,
    settings: IdentitySettings,
    population_url: str,
    clock: FakeClock,
) -> None:
    source = Path(population_url.removeprefix("sqlite:///"))
    private = tmp_path / f"population-{uuid.uuid4().hex}.db"
    shutil.copyfile(source, private)
    own = settings.model_copy(update={"population_db_url": f"sqlite:///{private}"})
    app = make_app(own, MemoryStateStore(clock=clock), clock)
    demo: DemoCredential = demo_accounts(app.state.services)[1]
    try:
        async with Browser(app) as browser:
            request = raw_request()
            code = await obtain_code(browser, request, demo.personal_id_number, demo.password)
            tokens = await browser.http.post(
                "/token",
                data={
                    "grant_type": "authorization_code",
                    "code": code,
                    "redirect_uri": request.params["redirect_uri"],
                    "code_verifier": request.code_verifier,
                },
                headers=basic_auth(PUBLIC_SERVICES, PUBLIC_SERVICES_SECRET),
            )
            app.state.services.population.engine.dispose()
            private.unlink()  # the database disappears under the running service
            answer = await browser.http.get(
                "/userinfo", headers={"Authorization": f"Bearer {tokens.json()['access_token']}"}
            )
    finally:
        close_app(app)
    assert answer.status_code == 503
    assert answer.headers["retry-after"] == "5"
    assert answer.json()["error"] == "temporarily_unavailable"
    assert "Traceback" not in answer.text and "sqlite" not in answer.text.lower()


HOSTILE_REQUESTS: list[tuple[str, str, dict[str, Any]]] = [
    ("GET", "/authorize?client_id=%ff%fe&redirect_uri=%00", {}),
    ("GET", "/authorize?" + "&".join(f"p{n}=v" for n in range(500)), {}),
    ("GET", "/authorize?client_id=" + "a" * 5000, {}),
    ("POST", "/authorize", {"content": b"\xff\xfe\x00", "headers": {"Content-Type": "text/plain"}}),
    ("GET", "/interaction/does-not-exist", {}),
    ("GET", "/interaction/" + "x" * 3000, {}),
    ("POST", "/interaction/does-not-exist/login", {"data": {"csrf_token": "x"}}),
    ("POST", "/interaction/x/consent", {"content": b"decision=approve&" * 2000}),
    ("GET", "/token", {}),
    ("POST", "/token", {"content": b"{]", "headers": {"Content-Type": "application/json"}}),
    (
        "POST",
        "/token",
        {
            "content": b"grant_type=authorization_code&code=%ff%fe&redirect_uri=%00",
            "headers": {"Content-Type": "application/x-www-form-urlencoded"},
        },
    ),
    (
        "POST",
        "/token",
        {
            "data": {"grant_type": "authorization_code"},
            "headers": {"Authorization": "Basic " + "A" * 9000},
        },
    ),
    ("GET", "/userinfo", {"headers": {"Authorization": "Bearer " + "." * 50}}),
    ("GET", "/userinfo", {"headers": {"Authorization": "Bearer e30.e30.e30"}}),
    ("DELETE", "/userinfo", {}),
    ("GET", "/jwks?kid=../../etc/passwd", {}),
    ("GET", "/static/../../identity_service/app.py", {}),
]


@pytest.mark.parametrize(("method", "url", "options"), HOSTILE_REQUESTS)
async def test_hostile_requests_never_get_a_500(
    http: httpx.AsyncClient, method: str, url: str, options: dict[str, Any]
) -> None:
    response = await http.request(method, url, **options)
    assert response.status_code < 500, response.text[:300]
    assert "Traceback" not in response.text
    if (
        response.headers.get("content-type", "").startswith("application/json")
        and url.startswith(("/token", "/userinfo"))
        and response.status_code != 405
    ):
        assert "error" in response.json()
