"""A dependency stopped under load: quick 503s with Retry-After, nothing lost, recovery.

Each test starts its own dependency (a ``redis-server``, or a PostgreSQL cluster with
``initdb`` + ``pg_ctl``) and one ``natid serve`` process, puts a steady mix of requests
on it, stops the dependency and starts it again. While it is away every request that
needs it gets 503 with ``Retry-After`` within a couple of seconds — never a 500, never
a hang; afterwards the same process serves again without being touched, and what was
written before the outage (a token, a consent, the audit chain) is all still there.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from identity_service.accounts.provisioning import LoadTestCredential
from tests.identity_service.oidc.support import basic_auth, obtain_code, raw_request
from tests.scale.clients import (
    BackgroundLoad,
    LoadRequest,
    Outcome,
    ServerBrowser,
    portal_client,
    redemption,
)
from tests.scale.deployment import Deployment
from tests.scale.services import PrivatePostgres, PrivateRedis, ServerProcess

pytestmark = [pytest.mark.anyio, pytest.mark.slow]

# A Redis call that cannot complete gives up after a second (a broken connection is
# retried once, a timeout is not); with the request's own work (on a busy test machine)
# an answer comes well within this.
QUICK_SECONDS = 3.5
RECOVERY_SECONDS = 15.0
# What the load's requests get when all is well: the token's claims, the login page.
SERVED = {("userinfo", 200), ("authorize", 303), ("kyc", 200), ("token", 200)}
# A back-end of the demo seeds, for the e-KYC API.
KYC_CLIENT, KYC_SECRET = "demo-clinic-backend", "demo-secret-demo-clinic-backend-not-for-production"
# A well-formed query: whether anyone has that number does not matter here.
KYC_QUERY = {
    "personal_id_number": "001090000001",
    "full_name": "Nguyễn Văn An",
    "birth_date": "1990-01-01",
    "gender": "male",
}


async def _token_for(port: int, citizen: LoadTestCredential) -> str:
    request = raw_request()
    async with ServerBrowser(port) as browser, portal_client(port) as portal:
        code = await obtain_code(browser, request, citizen.personal_id_number, citizen.password)
        answer = await portal.post("/token", **redemption(request, code))
    assert answer.status_code == 200, answer.text
    return answer.json()["access_token"]


async def _kyc_token_for(port: int) -> str:
    async with portal_client(port) as back_end:
        answer = await back_end.post(
            "/token",
            data={"grant_type": "client_credentials", "scope": "kyc.verify"},
            headers=basic_auth(KYC_CLIENT, KYC_SECRET),
        )
    assert answer.status_code == 200, answer.text
    return answer.json()["access_token"]


def _mixed_requests(token: str, kyc_token: str | None = None) -> list[LoadRequest]:
    requests = [
        LoadRequest(
            "userinfo", "GET", "/userinfo", {"headers": {"Authorization": f"Bearer {token}"}}
        ),
        LoadRequest("authorize", "GET", raw_request().url),
    ]
    if kyc_token is not None:
        back_end = basic_auth(KYC_CLIENT, KYC_SECRET)
        requests += [
            LoadRequest(
                "kyc",
                "POST",
                "/api/v1/kyc/verify",
                {"json": KYC_QUERY, "headers": {"Authorization": f"Bearer {kyc_token}"}},
            ),
            LoadRequest(
                "token",
                "POST",
                "/token",
                {"data": {"grant_type": "client_credentials"}, "headers": back_end},
            ),
        ]
    return requests


async def _until_served(port: int, token: str) -> float:
    """Wait until userinfo answers 200 again; the moment it did."""
    deadline = time.monotonic() + RECOVERY_SECONDS
    async with portal_client(port) as portal:
        while time.monotonic() < deadline:
            answer = await portal.get("/userinfo", headers={"Authorization": f"Bearer {token}"})
            if answer.status_code == 200:
                return time.monotonic()
            await asyncio.sleep(0.2)
    raise AssertionError(f"the service did not recover within {RECOVERY_SECONDS} s")


def _assert_never_500_nor_slow(outcomes: list[Outcome]) -> None:
    assert outcomes, "no requests were made"
    unanswered = [o for o in outcomes if o.status is None or (o.status >= 500 and o.status != 503)]
    assert not unanswered, f"requests without a proper answer: {unanswered[:5]}"
    slow = [o for o in outcomes if o.seconds > QUICK_SECONDS]
    assert not slow, f"requests that hung: {slow[:5]}"


def _assert_unavailable(outcomes: list[Outcome], what: str) -> None:
    """Every ``what`` request answered during the outage was a 503 with Retry-After."""
    during = [o for o in outcomes if o.what == what]
    assert during, f"no {what} request was answered during the outage"
    assert {(o.status, o.retry_after) for o in during} == {(503, "5")}, during[:5]


# -- Redis -------------------------------------------------------------------------------


@pytest.fixture
def redis_deployment(
    tmp_path: Path, redis_server_binary: None
) -> Iterator[tuple[Deployment, PrivateRedis]]:
    (tmp_path / "redis").mkdir()
    private = PrivateRedis(tmp_path / "redis")
    private.start()
    deployment = Deployment(
        directory=tmp_path,
        identity_url=f"sqlite:///{tmp_path / 'identity.db'}",
        population_url=f"sqlite:///{tmp_path / 'population.db'}",
        redis_url=private.url,
    )
    try:
        yield deployment, private
    finally:
        deployment.close()
        private.resume()
        private.stop()


async def test_redis_stopped_or_hung_gives_503_and_the_service_resumes_by_itself(
    redis_deployment: tuple[Deployment, PrivateRedis],
) -> None:
    deployment, private = redis_deployment
    citizen = deployment.prepare(accounts=1)[0]
    server = deployment.server()
    server.start()
    token = await _token_for(server.port, citizen)
    kyc_token = await _kyc_token_for(server.port)

    # The e-KYC API counts each back-end's calls in Redis: a hung Redis must not stall the
    # process's other requests, such as machine tokens, which need nothing from Redis.
    async with BackgroundLoad(server.port, _mixed_requests(token, kyc_token)) as load:
        await asyncio.sleep(0.5)
        private.stop()  # Redis is gone: connections refused
        stopped = time.monotonic()
        await asyncio.sleep(1.5)
        restarted = time.monotonic()
        private.start()  # the same port, its append-only file reloaded
        back = await _until_served(server.port, token)
        private.pause()  # Redis hangs: connections open, no answers
        paused = time.monotonic()
        # Each request then waits out its Redis timeout (about 2 s with the retry), so
        # the hang lasts long enough for every worker to get at least one answer in it,
        # on a loaded machine too (2.5 s was not: a worker's whole turn fell outside).
        await asyncio.sleep(4.5)
        resumed = time.monotonic()
        private.resume()
        back_again = await _until_served(server.port, token)
        await asyncio.sleep(0.5)

    _assert_never_500_nor_slow(load.outcomes)
    for what in ("userinfo", "authorize", "kyc"):
        _assert_unavailable(load.answered_between(stopped + 0.1, restarted), what)
        _assert_unavailable(load.answered_between(paused + 0.1, resumed), what)
    # A machine token needs nothing from Redis: it is served all along, without waiting.
    tokens = [o for o in load.outcomes if o.what == "token"]
    assert tokens and {o.status for o in tokens} == {200}
    assert max(o.seconds for o in tokens) < 1.0
    # The token issued before both outages still works: nothing written was lost.
    assert back - restarted < RECOVERY_SECONDS and back_again - resumed < RECOVERY_SECONDS
    served = load.answered_between(back_again + 0.1, time.monotonic())
    assert {(o.what, o.status) for o in served} == SERVED


# -- PostgreSQL ----------------------------------------------------------------------------


@pytest.fixture
def postgres_deployment(
    tmp_path: Path, postgres_binaries: None
) -> Iterator[tuple[Deployment, PrivatePostgres]]:
    cluster = PrivatePostgres()
    try:
        cluster.init()
        cluster.start()
        deployment = Deployment(
            directory=tmp_path,
            identity_url=cluster.create_database("identity"),
            population_url=cluster.create_database("population"),
        )
        try:
            yield deployment, cluster
        finally:
            deployment.close()
    finally:
        cluster.destroy()


async def test_postgresql_stopped_gives_503_and_the_service_resumes_by_itself(
    postgres_deployment: tuple[Deployment, PrivatePostgres],
) -> None:
    deployment, cluster = postgres_deployment
    before, during_load = deployment.prepare(accounts=2)
    server: ServerProcess = deployment.server()
    server.start()
    token = await _token_for(server.port, before)

    async with BackgroundLoad(server.port, _mixed_requests(token)) as load:
        await asyncio.sleep(0.5)
        cluster.stop("fast")
        stopped = time.monotonic()
        await asyncio.sleep(2.0)
        restarted = time.monotonic()
        cluster.start()
        back = await _until_served(server.port, token)
        after_token = await _token_for(server.port, during_load)  # logins work again
        await asyncio.sleep(0.5)

    _assert_never_500_nor_slow(load.outcomes)
    _assert_unavailable(load.answered_between(stopped + 0.1, restarted), "userinfo")
    assert back - restarted < RECOVERY_SECONDS and after_token
    with deployment.identity_engine() as engine:
        audit = deployment.audit_log(engine)
        verification = audit.verify()
        with engine.connect() as connection:
            consents = connection.execute(
                sa.text("SELECT personal_id_number FROM oidc_consent")
            ).scalars()
            consenting = set(consents)
    assert verification.ok, verification
    assert consenting == {before.personal_id_number, during_load.personal_id_number}
