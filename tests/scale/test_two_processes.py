"""Two ``natid serve`` processes on PostgreSQL and Redis behave as one service.

Both processes serve one issuer from the same identity and population databases (private
PostgreSQL databases made for this module) and the same Redis (a key prefix of their
own). Requests are routed to one process or the other as a load balancer would, and:
a code issued at one is redeemed once, at any; a token revoked at one is rejected by
both; failed logins at both count towards one lockout; concurrent logins at both leave
one valid audit chain.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
import sqlalchemy as sa

from identity_service.accounts.provisioning import LoadTestCredential
from identity_service.audit import AuditEvent
from tests.identity_service.oidc.support import (
    PUBLIC_SERVICES,
    PUBLIC_SERVICES_SECRET,
    basic_auth,
    obtain_code,
    raw_request,
)
from tests.population_db.conftest import private_postgres_database
from tests.scale.clients import ServerBrowser, portal_client, redemption
from tests.scale.deployment import Deployment

pytestmark = [pytest.mark.anyio, pytest.mark.postgres, pytest.mark.redis, pytest.mark.slow]

LOCKOUT_THRESHOLD = 5  # IdentitySettings.lockout_threshold
CONCURRENT_LOGINS = 16


@dataclass
class TwoProcesses:
    deployment: Deployment
    first: int  # ports
    second: int
    accounts: list[LoadTestCredential]

    def account(self, index: int) -> LoadTestCredential:
        return self.accounts[index]


@pytest.fixture(scope="module")
def cluster(
    shared_postgres_url: str, shared_redis_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[TwoProcesses]:
    with private_postgres_database() as identity_url, private_postgres_database() as people_url:
        deployment = Deployment(
            directory=tmp_path_factory.mktemp("two-processes"),
            identity_url=identity_url,
            population_url=people_url,
            redis_url=shared_redis_url,
        )
        try:
            accounts = deployment.prepare(accounts=8 + CONCURRENT_LOGINS, upgrade_command=True)
            servers = [deployment.server(), deployment.server()]
            for server in servers:
                server.launch()
            for server in servers:
                server.wait_ready()
            yield TwoProcesses(deployment, servers[0].port, servers[1].port, accounts)
        finally:
            deployment.close()


async def test_a_code_issued_by_one_process_is_redeemed_once_at_either(
    cluster: TwoProcesses,
) -> None:
    citizen = cluster.account(0)
    request = raw_request()
    async with (
        ServerBrowser(cluster.first) as browser,
        portal_client(cluster.first) as at_first,
        portal_client(cluster.second) as at_second,
    ):
        code = await obtain_code(browser, request, citizen.personal_id_number, citizen.password)
        redeemed = await at_second.post("/token", **redemption(request, code))
        again_at_first = await at_first.post("/token", **redemption(request, code))
        again_at_second = await at_second.post("/token", **redemption(request, code))

    assert redeemed.status_code == 200, redeemed.text
    for again in (again_at_first, again_at_second):
        assert again.status_code == 400 and again.json()["error"] == "invalid_grant"


async def test_simultaneous_redemptions_at_both_processes_yield_one_token(
    cluster: TwoProcesses,
) -> None:
    citizen = cluster.account(1)
    request = raw_request()
    async with (
        ServerBrowser(cluster.second) as browser,
        portal_client(cluster.first) as at_first,
        portal_client(cluster.second) as at_second,
    ):
        code = await obtain_code(browser, request, citizen.personal_id_number, citizen.password)
        answers = await asyncio.gather(
            *(
                client.post("/token", **redemption(request, code))
                for client in (at_first, at_second) * 4
            )
        )

    statuses = sorted(answer.status_code for answer in answers)
    assert statuses == [200] + [400] * 7


async def test_a_token_revoked_at_one_process_is_rejected_by_both(cluster: TwoProcesses) -> None:
    citizen = cluster.account(2)
    request = raw_request()
    async with (
        ServerBrowser(cluster.first) as browser,
        portal_client(cluster.first) as at_first,
        portal_client(cluster.second) as at_second,
    ):
        code = await obtain_code(browser, request, citizen.personal_id_number, citizen.password)
        tokens = (await at_first.post("/token", **redemption(request, code))).json()
        bearer = {"Authorization": f"Bearer {tokens['access_token']}"}
        before = await at_second.get("/userinfo", headers=bearer)
        revoked = await at_first.post(
            "/revoke",
            data={"token": tokens["access_token"], "token_type_hint": "access_token"},
            headers=basic_auth(PUBLIC_SERVICES, PUBLIC_SERVICES_SECRET),
        )
        after = [await client.get("/userinfo", headers=bearer) for client in (at_second, at_first)]

    assert before.status_code == 200
    assert revoked.status_code == 200, revoked.text
    assert [answer.status_code for answer in after] == [401, 401]


async def test_a_replayed_code_at_one_process_revokes_what_the_other_issued(
    cluster: TwoProcesses,
) -> None:
    citizen = cluster.account(3)
    request = raw_request()
    async with (
        ServerBrowser(cluster.second) as browser,
        portal_client(cluster.first) as at_first,
        portal_client(cluster.second) as at_second,
    ):
        code = await obtain_code(browser, request, citizen.personal_id_number, citizen.password)
        tokens = (await at_second.post("/token", **redemption(request, code))).json()
        bearer = {"Authorization": f"Bearer {tokens['access_token']}"}
        replay = await at_first.post("/token", **redemption(request, code))
        after = await at_second.get("/userinfo", headers=bearer)

    assert replay.json()["error"] == "invalid_grant"
    assert after.status_code == 401


async def test_failed_logins_at_both_processes_count_towards_one_lockout(
    cluster: TwoProcesses,
) -> None:
    citizen = cluster.account(4)
    statuses = []
    async with ServerBrowser(cluster.first) as browser:
        for attempt in range(LOCKOUT_THRESHOLD):
            # Alternate: neither process alone sees enough failures to lock the account.
            browser.route_to(cluster.first if attempt % 2 == 0 else cluster.second)
            page = await browser.open(raw_request().url)
            answer = await browser.submit(
                page,
                "login",
                personal_id_number=citizen.personal_id_number,
                password=f"not-the-password-{attempt}",
            )
            statuses.append(answer.status_code)
        browser.route_to(cluster.second)
        page = await browser.open(raw_request().url)
        with_the_right_password = await browser.submit(
            page,
            "login",
            personal_id_number=citizen.personal_id_number,
            password=citizen.password,
        )

    assert statuses == [400] * (LOCKOUT_THRESHOLD - 1) + [429]
    assert with_the_right_password.status_code == 429
    assert int(with_the_right_password.headers["retry-after"]) > 0


async def test_concurrent_logins_at_both_processes_keep_one_valid_audit_chain(
    cluster: TwoProcesses,
) -> None:
    citizens = cluster.accounts[8 : 8 + CONCURRENT_LOGINS]

    async def log_in(index: int, citizen: LoadTestCredential) -> int:
        port, other = (cluster.first, cluster.second)[:: 1 if index % 2 else -1]
        request = raw_request()
        async with ServerBrowser(port, client_ip=f"203.0.113.{100 + index}") as browser:
            code = await obtain_code(browser, request, citizen.personal_id_number, citizen.password)
        async with portal_client(other) as portal:
            answer = await portal.post("/token", **redemption(request, code))
        return answer.status_code

    statuses = await asyncio.gather(*(log_in(i, c) for i, c in enumerate(citizens)))

    assert statuses == [200] * len(citizens)
    with cluster.deployment.identity_engine() as engine:
        audit = cluster.deployment.audit_log(engine)
        verification = audit.verify()
        references = [audit.subject_ref(c.personal_id_number) for c in citizens]
        entries = _entries_by_event(engine, references)
    assert verification.ok, verification
    assert entries[str(AuditEvent.LOGIN_SUCCESS)] == len(citizens)
    assert entries[str(AuditEvent.CONSENT_GRANTED)] == len(citizens)


def _entries_by_event(engine: sa.Engine, actors: list[str]) -> dict[str, int]:
    query = sa.text(
        "SELECT event, count(*) FROM audit_entry WHERE actor IN :actors GROUP BY event"
    ).bindparams(sa.bindparam("actors", expanding=True))
    with engine.connect() as connection:
        return {event: count for event, count in connection.execute(query, {"actors": actors})}
