"""End to end: portals built on Authlib log citizens in at the IdP, in-process.

Each portal uses Authlib's httpx OAuth 2.0 client (PKCE S256) exactly as an integrator
would: authorization URL, the citizen's browser driving the IdP's pages, code exchange
with the portal's client authentication, ID token verified against the JWKS, userinfo.
"""

from __future__ import annotations

import json
import os
import time
import warnings
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from typer.testing import CliRunner

from identity_service.accounts.models import DemoCredential
from identity_service.api.deps import IdentityServices
from identity_service.cli.clients import app as clients_cli
from identity_service.config import IdentitySettings
from identity_service.state import MemoryStateStore
from tests.identity_service.oidc.environment import (
    close_app,
    demo_accounts,
    make_app,
    make_identity_template,
    make_settings,
    seed_test_population,
)
from tests.identity_service.oidc.support import (
    CLINIC,
    CLINIC_REDIRECT,
    CLINIC_SECRET,
    ISSUER,
    LEVEL2_PORTAL,
    LEVEL2_PORTAL_REDIRECT,
    LEVEL2_PORTAL_SECRET,
    PUBLIC_SERVICES,
    PUBLIC_SERVICES_REDIRECT,
    PUBLIC_SERVICES_SECRET,
    Browser,
    FakeClock,
    Portal,
    form_actions,
    log_in,
    query_of,
)

with warnings.catch_warnings():
    import authlib.deprecate

    warnings.simplefilter("ignore", authlib.deprecate.AuthlibDeprecationWarning)
    from authlib.oauth2.rfc7523 import PrivateKeyJWT
from joserfc.jwk import ECKey

pytestmark = pytest.mark.anyio

ALL_SCOPES = "openid profile national_id address phone household"


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("NATID_") and not name.startswith("NATID_TEST_"):
            monkeypatch.delenv(name)


@pytest.fixture(scope="module")
def prepared(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, Path]:
    directory = tmp_path_factory.mktemp("e2e")
    return seed_test_population(directory), make_identity_template(directory)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(time.time())


@pytest.fixture
def settings(tmp_path: Path, prepared: tuple[str, Path]) -> IdentitySettings:
    population_url, template = prepared
    return make_settings(tmp_path, population_url, template)


@pytest.fixture
def app(settings: IdentitySettings, clock: FakeClock) -> Iterator[FastAPI]:
    application = make_app(settings, MemoryStateStore(clock=clock), clock)
    yield application
    close_app(application)


@pytest.fixture
def demo(app: FastAPI) -> dict[int, DemoCredential]:
    services: IdentityServices = app.state.services
    return demo_accounts(services)


@pytest.fixture
async def browser(app: FastAPI) -> AsyncIterator[Browser]:
    async with Browser(app) as citizen_browser:
        yield citizen_browser


def public_services(app: FastAPI, scope: str = "openid profile") -> Portal:
    return Portal(
        app, PUBLIC_SERVICES, PUBLIC_SERVICES_SECRET, PUBLIC_SERVICES_REDIRECT, scope=scope
    )


def clinic(app: FastAPI) -> Portal:
    return Portal(app, CLINIC, CLINIC_SECRET, CLINIC_REDIRECT, auth_method="client_secret_post")


def bank(app: FastAPI) -> Portal:
    return Portal(
        app,
        LEVEL2_PORTAL,
        LEVEL2_PORTAL_SECRET,
        LEVEL2_PORTAL_REDIRECT,
        scope="openid profile national_id",
    )


async def test_a_citizen_logs_in_at_a_portal(
    app: FastAPI, browser: Browser, demo: dict[int, DemoCredential]
) -> None:
    citizen = demo[1]
    async with public_services(app, ALL_SCOPES) as portal:
        document = await portal.discover()
        attempt = portal.start()
        callback = await log_in(browser, attempt, citizen.personal_id_number, citizen.password)
        # RFC 9207: the response names its issuer; a portal checks it against discovery.
        assert query_of(callback)["iss"] == document["issuer"] == ISSUER
        token = await portal.exchange(attempt, callback)
        claims = await portal.verify_id_token(token["id_token"], attempt)
        assert claims["acr"] == "urn:natid:acr:level1"
        userinfo = (await portal.userinfo(token["access_token"])).json()
    assert userinfo["sub"] == claims["sub"]
    assert userinfo["name"] == "Lê Hoàng Nam"
    assert userinfo["national_id"] == citizen.personal_id_number
    assert userinfo["address"]["country"] == "VN"


async def test_single_sign_on_at_a_second_portal_needs_no_password(
    app: FastAPI, browser: Browser, demo: dict[int, DemoCredential]
) -> None:
    citizen = demo[1]
    async with public_services(app) as first, clinic(app) as second:
        attempt = first.start()
        callback = await log_in(browser, attempt, citizen.personal_id_number, citizen.password)
        first_claims = await first.verify_id_token(
            (await first.exchange(attempt, callback))["id_token"], attempt
        )
        attempt = second.start()
        page = await browser.open(attempt.url)
        assert [action.rsplit("/", 1)[1] for action in form_actions(page)] == ["consent"]
        callback = await log_in(browser, attempt, "", "")  # consent only: no credentials
        token = await second.exchange(attempt, callback)
        second_claims = await second.verify_id_token(token["id_token"], attempt)
    assert second_claims["sid"] == first_claims["sid"]
    assert second_claims["auth_time"] == first_claims["auth_time"]


async def test_step_up_to_level_two_with_a_totp_code(
    app: FastAPI, browser: Browser, demo: dict[int, DemoCredential], clock: FakeClock
) -> None:
    citizen = demo[2]
    async with public_services(app) as portal, bank(app) as bank_portal:
        attempt = portal.start()
        callback = await log_in(browser, attempt, citizen.personal_id_number, citizen.password)
        level1 = await portal.verify_id_token(
            (await portal.exchange(attempt, callback))["id_token"], attempt
        )
        assert level1["acr"] == "urn:natid:acr:level1"
        clock.advance(5)
        attempt = bank_portal.start()
        callback = await log_in(
            browser, attempt, "", "", totp_secret=citizen.totp_secret, clock=clock
        )
        token = await bank_portal.exchange(attempt, callback)
        level2 = await bank_portal.verify_id_token(token["id_token"], attempt)
    assert level2["acr"] == "urn:natid:acr:level2"
    assert level2["amr"] == ["pwd", "otp", "mfa"]
    assert level2["auth_time"] > level1["auth_time"]


async def test_consent_is_remembered_for_the_next_login(
    app: FastAPI, browser: Browser, demo: dict[int, DemoCredential]
) -> None:
    citizen = demo[1]
    async with public_services(app) as portal:
        attempt = portal.start()
        await portal.exchange(
            attempt,
            await log_in(browser, attempt, citizen.personal_id_number, citizen.password),
        )
        again = portal.start()
        answer = await browser.open(again.url)
        assert answer.status_code == 303  # straight back to the portal: no page at all
        token = await portal.exchange(again, answer.headers["location"])
        assert await portal.verify_id_token(token["id_token"], again)


async def test_pairwise_subjects_differ_across_sectors_and_are_stable(
    app: FastAPI, demo: dict[int, DemoCredential]
) -> None:
    async def subject(citizen: DemoCredential, portal: Portal) -> str:
        async with Browser(app) as fresh_browser, portal:
            attempt = portal.start()
            callback = await log_in(
                fresh_browser, attempt, citizen.personal_id_number, citizen.password
            )
            token = await portal.exchange(attempt, callback)
            return (await portal.verify_id_token(token["id_token"], attempt))["sub"]

    lan, nam = demo[2], demo[1]
    at_portal = await subject(lan, public_services(app))
    at_clinic = await subject(lan, clinic(app))
    assert at_portal != at_clinic
    assert await subject(lan, public_services(app)) == at_portal  # stable
    assert await subject(nam, public_services(app)) != at_portal  # per citizen
    assert lan.personal_id_number not in (at_portal, at_clinic)


async def test_a_portal_registered_on_the_command_line_logs_in_with_private_key_jwt(
    app: FastAPI,
    settings: IdentitySettings,
    browser: Browser,
    demo: dict[int, DemoCredential],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    key = ECKey.generate_key("P-256")
    jwks_file = tmp_path / "portal-jwks.json"
    jwks_file.write_text(json.dumps({"keys": [key.as_dict(private=False)]}))
    monkeypatch.setenv("NATID_IDENTITY_DB_URL", settings.identity_database_url())
    monkeypatch.setenv("NATID_SECRET_KEY", settings.secret_key or "")
    result = CliRunner().invoke(
        clients_cli,
        [
            "add",
            "--name",
            "Cổng hồ sơ sức khỏe",
            "--redirect-uri",
            "https://hoso.example.vn/callback",
            "--scopes",
            "openid profile",
            "--auth-method",
            "private_key_jwt",
            "--jwks-file",
            str(jwks_file),
            "--id-token-alg",
            "EdDSA",
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    client_id = json.loads(result.output)["client_id"]
    portal = Portal(
        app,
        client_id,
        None,
        "https://hoso.example.vn/callback",
        auth_method="private_key_jwt",
    )
    portal.oauth.register_client_auth_method(PrivateKeyJWT(f"{ISSUER}/token", alg="ES256"))
    portal.oauth.client_secret = key
    citizen = demo[1]
    async with portal:
        attempt = portal.start()
        callback = await log_in(browser, attempt, citizen.personal_id_number, citizen.password)
        token = await portal.exchange(attempt, callback)
        claims = await portal.verify_id_token(token["id_token"], attempt)
    assert claims["aud"] == client_id
