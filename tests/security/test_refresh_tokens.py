"""Attacks with refresh tokens: reuse after theft, use by another client, type confusion.

* A refresh token used twice means it was copied: the whole family (every refresh and
  access token descended from the grant) is revoked, the thief's fresh tokens included.
* Another client can neither redeem, revoke nor introspect a portal's refresh token — and
  trying does not burn it for its owner.
* No kind of token passes for another: refresh tokens are not bearer access tokens,
  access and ID tokens are not refresh tokens.
"""

from __future__ import annotations

import httpx
import pytest

from identity_service.accounts.models import DemoCredential
from tests.identity_service.oidc.lifecycle_support import (
    citizen_tokens,
    introspect,
    refresh,
    revoke,
    userinfo_status,
)
from tests.identity_service.oidc.support import LEVEL2_PORTAL, LEVEL2_PORTAL_SECRET, Browser
from tests.security.adversary import SQL_PAYLOADS, assert_oauth_error

pytestmark = pytest.mark.anyio


async def test_a_stolen_refresh_token_is_caught_when_its_owner_uses_it_again(
    http: httpx.AsyncClient, browser: Browser, demo: dict[int, DemoCredential]
) -> None:
    tokens = await citizen_tokens(http, browser, demo[1])
    stolen = tokens["refresh_token"]
    # The thief refreshes first and gets working tokens ...
    thief = (await refresh(http, stolen)).json()
    assert await userinfo_status(http, thief["access_token"]) == 200
    # ... then the portal uses its (now rotated-away) copy: reuse is detected.
    assert_oauth_error(await refresh(http, stolen), 400, "invalid_grant")
    assert await userinfo_status(http, thief["access_token"]) == 401
    assert_oauth_error(await refresh(http, thief["refresh_token"]), 400, "invalid_grant")
    assert await userinfo_status(http, tokens["access_token"]) == 401


async def test_another_client_can_do_nothing_with_a_portals_refresh_token(
    http: httpx.AsyncClient, browser: Browser, demo: dict[int, DemoCredential]
) -> None:
    tokens = await citizen_tokens(http, browser, demo[1])
    victims = tokens["refresh_token"]
    other = {
        "client_id": LEVEL2_PORTAL,
        "secret": LEVEL2_PORTAL_SECRET,
    }  # registered for refresh too
    assert_oauth_error(await refresh(http, victims, **other), 400, "invalid_grant")
    looked_at = await introspect(http, victims, **other)
    assert looked_at.status_code == 200 and looked_at.json() == {"active": False}
    await revoke(http, victims, **other)
    # The owner's token survived all three attempts.
    assert (await introspect(http, victims)).json()["active"] is True
    renewed = await refresh(http, victims)
    assert renewed.status_code == 200, renewed.text


async def test_no_token_passes_for_another_kind(
    http: httpx.AsyncClient, browser: Browser, demo: dict[int, DemoCredential]
) -> None:
    tokens = await citizen_tokens(http, browser, demo[1])
    assert await userinfo_status(http, tokens["refresh_token"]) == 401
    for not_a_refresh_token in (tokens["access_token"], tokens["id_token"]):
        assert_oauth_error(await refresh(http, not_a_refresh_token), 400, "invalid_grant")
    # None of the misuse harmed the real refresh token.
    assert (await refresh(http, tokens["refresh_token"])).status_code == 200


@pytest.mark.parametrize("forged", [*SQL_PAYLOADS, "", " ", "a" * 10_000, "\u202e", "null", "[]"])
async def test_made_up_refresh_tokens_are_invalid_grants(
    http: httpx.AsyncClient, forged: str
) -> None:
    response = await refresh(http, forged)
    if forged:
        assert_oauth_error(response, 400, "invalid_grant")
    else:
        # An empty parameter counts as omitted (RFC 6749 §3.1): the request is incomplete.
        assert_oauth_error(response, 400, "invalid_request")
