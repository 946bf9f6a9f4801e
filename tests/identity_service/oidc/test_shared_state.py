"""Two provider instances sharing Redis and one identity database behave as one service.

A code issued by one instance is redeemed at the other, its replay is caught at the
first, and the revocation is seen by the second. Runs when NATID_TEST_REDIS_URL is set.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest
import redis
from fastapi import FastAPI

from identity_service.config import IdentitySettings
from identity_service.state import RedisStateStore
from tests.identity_service.oidc.environment import close_app, demo_accounts, make_app
from tests.identity_service.oidc.support import (
    PUBLIC_SERVICES,
    PUBLIC_SERVICES_SECRET,
    Browser,
    FakeClock,
    basic_auth,
    obtain_code,
    raw_request,
)

pytestmark = [pytest.mark.anyio, pytest.mark.redis]


@pytest.fixture
def redis_url() -> str:
    url = os.environ.get("NATID_TEST_REDIS_URL")
    if not url:
        pytest.skip("NATID_TEST_REDIS_URL is not set")
    return url


@pytest.fixture
def two_instances(
    redis_url: str, settings: IdentitySettings, clock: FakeClock
) -> Iterator[tuple[FastAPI, FastAPI]]:
    prefix = f"natid-test-{uuid.uuid4().hex}:"
    first = make_app(settings, RedisStateStore.from_url(redis_url, prefix=prefix), clock)
    second = make_app(settings, RedisStateStore.from_url(redis_url, prefix=prefix), clock)
    yield first, second
    for app in (first, second):
        app.state.services.state.close()
        close_app(app)
    client = redis.Redis.from_url(redis_url)
    for key in client.scan_iter(match=f"{prefix}*"):
        client.delete(key)
    client.close()


async def test_codes_sessions_and_revocations_are_shared(
    two_instances: tuple[FastAPI, FastAPI],
) -> None:
    first, second = two_instances
    citizen = demo_accounts(first.state.services)[1]
    request = raw_request()
    async with Browser(first) as at_first, Browser(second) as at_second:
        code = await obtain_code(at_first, request, citizen.personal_id_number, citizen.password)
        form = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": request.params["redirect_uri"],
            "code_verifier": request.code_verifier,
        }
        auth = basic_auth(PUBLIC_SERVICES, PUBLIC_SERVICES_SECRET)
        redeemed = await at_second.http.post("/token", data=form, headers=auth)
        assert redeemed.status_code == 200, redeemed.text
        bearer = {"Authorization": f"Bearer {redeemed.json()['access_token']}"}
        assert (await at_first.http.get("/userinfo", headers=bearer)).status_code == 200
        replay = await at_first.http.post("/token", data=form, headers=auth)
        assert replay.json()["error"] == "invalid_grant"
        assert (await at_second.http.get("/userinfo", headers=bearer)).status_code == 401
        # The SSO session made at the first instance is honoured by the second.
        at_second.http.cookies = at_first.http.cookies
        silent = await at_second.open(raw_request(prompt="none").url)
        assert silent.status_code == 303 and "code=" in silent.headers["location"]
