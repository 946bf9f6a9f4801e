"""The guide's minimal relying party (``examples/minimal_rp/app.py``) runs as written.

natid and the example each serve on a loopback port of their own (real uvicorn servers,
real HTTP between them, back-channel logout included). The browser is two cookie jars:
one at the portal, one at natid (``CitizenBrowser`` fills in natid's forms).
"""

from __future__ import annotations

import importlib.util
import secrets
import sys
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

import httpx
import pytest

from natid.background_server import BackgroundServer, loopback_listener
from natid.citizen_browser import CitizenBrowser
from natid.embedded_idp import EmbeddedIdp, IdpOptions
from natid.oidc_flow import CitizenCredentials

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "minimal_rp" / "app.py"


def load_example() -> ModuleType:
    """Import the example from its file, exactly as it is."""
    import authlib.deprecate

    spec = importlib.util.spec_from_file_location("minimal_rp_app", EXAMPLE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    with warnings.catch_warnings():
        # Authlib 1.9 announces its httpx integration moves to "httpx2": not ours to act on.
        warnings.simplefilter("ignore", authlib.deprecate.AuthlibDeprecationWarning)
        spec.loader.exec_module(module)
    return module


@dataclass
class Running:
    idp: EmbeddedIdp
    portal_url: str


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    example = load_example()
    listener, portal_url = loopback_listener()
    idp = EmbeddedIdp.start(tmp_path_factory.mktemp("natid"), IdpOptions(citizens=300))
    client = idp.client(
        name="Minimal portal",
        redirect_uris=[f"{portal_url}/auth/callback"],
        scopes=["openid", "profile"],
        post_logout_redirect_uris=[f"{portal_url}/logged-out"],
        backchannel_logout_uri=f"{portal_url}/backchannel-logout",
    )
    settings = example.RpSettings(
        issuer=idp.issuer,
        client_id=client.client_id,
        client_secret=client.client_secret or "",
        base_url=portal_url,
        session_secret=secrets.token_hex(32),
    )
    server = BackgroundServer.start(example.create_app(settings), listener)
    try:
        yield Running(idp, portal_url)
    finally:
        server.stop()
        idp.close()


@pytest.fixture
def portal(running: Running) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=running.portal_url, timeout=30) as client:
        yield client


@pytest.fixture
def natid_browser(running: Running) -> Iterator[CitizenBrowser]:
    with running.idp.browser() as browser:
        yield browser


def log_in(
    portal: httpx.Client,
    browser: CitizenBrowser,
    citizen: CitizenCredentials,
    path: str = "/login",
    **options: bool,
) -> httpx.Response:
    """Click the portal's login link, do what natid asks, land on the portal's answer."""
    redirect = portal.get(path)
    assert redirect.status_code == 302, redirect.text
    callback = browser.authorize(
        redirect.headers["location"],
        citizen.personal_id_number,
        citizen.password,
        totp_secret=citizen.totp_secret,
        **options,
    )
    assert callback.startswith(f"{portal.base_url}/auth/callback?")
    return portal.get(callback)


def test_a_demo_citizen_logs_in_steps_up_and_logs_out(
    running: Running, portal: httpx.Client, natid_browser: CitizenBrowser
) -> None:
    citizen = running.idp.citizen(level=2)
    answer = log_in(portal, natid_browser, citizen)
    assert answer.status_code == 303, answer.text
    home = portal.get("/")
    assert citizen.full_name in home.text and "Level 1" in home.text
    # Step-up through the same natid session: only the TOTP code is asked for.
    assert log_in(portal, natid_browser, citizen, "/login?level=2").status_code == 303
    assert "Level 2" in portal.get("/").text
    # RP-initiated logout: the portal sends the browser to natid with its ID token.
    to_natid = portal.get("/logout")
    assert to_natid.status_code == 302
    assert "id_token_hint=" in to_natid.headers["location"]
    back = natid_browser.http.get(to_natid.headers["location"])
    assert back.status_code in (302, 303)
    logged_out = portal.get(back.headers["location"])
    assert logged_out.status_code == 200 and "logged out" in logged_out.text
    assert "Not logged in" in portal.get("/").text
    # natid's session ended too: prompt=none now answers login_required.
    redirect = portal.get("/login?prompt=none")
    callback = natid_browser.authorize(redirect.headers["location"])
    refused = portal.get(callback)
    assert refused.status_code == 400 and "data-error='login_required'" in refused.text


def test_back_channel_logout_ends_the_portal_session(
    running: Running, portal: httpx.Client, natid_browser: CitizenBrowser
) -> None:
    citizen = running.idp.new_citizen(level=1)
    assert log_in(portal, natid_browser, citizen).status_code == 303
    assert citizen.full_name in portal.get("/").text
    # The citizen logs out at natid directly (not through the portal): natid asks to
    # confirm, then POSTs a logout token to the portal's back-channel endpoint.
    assert natid_browser.log_out() is None
    _wait_until(lambda: "Not logged in" in portal.get("/").text)


def test_refused_consent_is_shown_as_a_clear_error(
    running: Running, portal: httpx.Client, natid_browser: CitizenBrowser
) -> None:
    citizen = running.idp.new_citizen(level=1)
    answer = log_in(portal, natid_browser, citizen, consent=False)
    assert answer.status_code == 400
    assert "data-error='access_denied'" in answer.text
    assert "Not logged in" in portal.get("/").text


def test_a_forged_callback_is_refused(portal: httpx.Client, running: Running) -> None:
    forged = portal.get("/auth/callback", params={"code": "x", "state": "y", "iss": "https://evil"})
    assert forged.status_code == 400
    replayed = portal.get(
        "/auth/callback", params={"code": "x", "state": "y", "iss": running.idp.issuer}
    )
    assert replayed.status_code == 400 and "data-error='mismatching_state'" in replayed.text


def _wait_until(condition: object, seconds: float = 5.0) -> None:
    import time

    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():  # type: ignore[operator]
            return
        time.sleep(0.05)
    raise AssertionError("the portal session did not end")
