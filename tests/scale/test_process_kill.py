"""A server process killed with SIGKILL mid-load loses nothing it had acknowledged.

Two ``natid serve`` processes share PostgreSQL and Redis. Citizens log in at one of them
(a consent is stored and the login and consent are audited before the portal gets its
code); that process is killed in the middle of the logins. Every login that reached the
portal still has its consent and its audit entries, the accounts are all there, the audit
chain verifies, the other process goes on serving (and auditing) as if nothing happened,
and the killed one, started again, serves too.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator

import httpx
import pytest
import sqlalchemy as sa

from identity_service.accounts.provisioning import LoadTestCredential
from identity_service.audit import AuditEvent
from tests.identity_service.oidc.support import obtain_code, raw_request
from tests.population_db.conftest import private_postgres_database
from tests.scale.clients import ServerBrowser, portal_client, redemption
from tests.scale.deployment import Deployment
from tests.scale.services import ServerProcess

pytestmark = [pytest.mark.anyio, pytest.mark.postgres, pytest.mark.redis, pytest.mark.slow]

LOGINS = 20
KILL_AFTER = 5  # completed logins
STAGGER_SECONDS = 0.05


@pytest.fixture
def deployment(
    shared_postgres_url: str, shared_redis_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Deployment]:
    with private_postgres_database() as identity_url, private_postgres_database() as people_url:
        created = Deployment(
            directory=tmp_path_factory.mktemp("kill"),
            identity_url=identity_url,
            population_url=people_url,
            redis_url=shared_redis_url,
        )
        try:
            yield created
        finally:
            created.close()


async def _log_in(
    port: int, citizen: LoadTestCredential, index: int, completed: list[LoadTestCredential]
) -> None:
    await asyncio.sleep(index * STAGGER_SECONDS)
    try:
        async with ServerBrowser(port, client_ip=f"203.0.113.{100 + index}") as browser:
            await obtain_code(browser, raw_request(), citizen.personal_id_number, citizen.password)
    except (httpx.TransportError, AssertionError):
        return  # cut off by the kill (no answer, or an answer that never reached the portal)
    completed.append(citizen)


async def test_sigkill_mid_load_loses_no_committed_consent_or_audit_entry(
    deployment: Deployment,
) -> None:
    citizens = deployment.prepare(accounts=LOGINS + 1)
    victim, survivor = deployment.server(), deployment.server()
    for server in (victim, survivor):
        server.launch()
    for server in (victim, survivor):
        server.wait_ready()
    accounts_before = _count(deployment, "SELECT count(*) FROM account")

    completed: list[LoadTestCredential] = []
    logins = [
        asyncio.create_task(_log_in(victim.port, citizen, index, completed))
        for index, citizen in enumerate(citizens[:LOGINS])
    ]
    deadline = time.monotonic() + 30
    while len(completed) < KILL_AFTER and time.monotonic() < deadline:
        await asyncio.sleep(0.01)
    victim.kill()
    await asyncio.gather(*logins)
    late = citizens[LOGINS]
    assert await _full_login(survivor.port, late) == 200  # the other process carries on

    assert KILL_AFTER <= len(completed) < LOGINS, "the kill did not land mid-load"
    with deployment.identity_engine() as engine:
        audit = deployment.audit_log(engine)
        verification = audit.verify()
        references = {audit.subject_ref(c.personal_id_number): c for c in [*completed, late]}
        audited = _audited_events(engine, list(references))
        with engine.connect() as connection:
            consenting = set(
                connection.execute(sa.text("SELECT personal_id_number FROM oidc_consent")).scalars()
            )
    assert verification.ok, verification
    for reference, citizen in references.items():
        assert citizen.personal_id_number in consenting
        assert {str(AuditEvent.LOGIN_SUCCESS), str(AuditEvent.CONSENT_GRANTED)} <= audited.get(
            reference, set()
        )
    assert _count(deployment, "SELECT count(*) FROM account") == accounts_before

    restarted = ServerProcess(deployment.environment(), deployment.directory, port=victim.port)
    deployment.servers.append(restarted)
    restarted.start()
    assert await _full_login(restarted.port, citizens[LOGINS - 1]) == 200


async def _full_login(port: int, citizen: LoadTestCredential) -> int:
    request = raw_request()
    async with ServerBrowser(port) as browser, portal_client(port) as portal:
        code = await obtain_code(browser, request, citizen.personal_id_number, citizen.password)
        return (await portal.post("/token", **redemption(request, code))).status_code


def _count(deployment: Deployment, query: str) -> int:
    with deployment.identity_engine() as engine, engine.connect() as connection:
        return int(connection.execute(sa.text(query)).scalar_one())


def _audited_events(engine: sa.Engine, actors: list[str]) -> dict[str, set[str]]:
    query = sa.text("SELECT actor, event FROM audit_entry WHERE actor IN :actors").bindparams(
        sa.bindparam("actors", expanding=True)
    )
    events: dict[str, set[str]] = {}
    with engine.connect() as connection:
        for actor, event in connection.execute(query, {"actors": actors}):
            events.setdefault(actor, set()).add(event)
    return events
