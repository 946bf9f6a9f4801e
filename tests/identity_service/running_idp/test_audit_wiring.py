"""The audit trail in the flows: logins, lockouts, step-ups, consent, data release, admin
commands; the group-commit writer; and nothing secret in any entry."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine
from sqlalchemy.exc import OperationalError
from typer.testing import CliRunner

from identity_service.accounts.models import DemoCredential
from identity_service.api.deps import IdentityServices
from identity_service.audit import AuditEntry, AuditError, AuditLog, NewAuditEntry
from identity_service.audit_writer import AuditWriter
from identity_service.cli.accounts import app as accounts_cli
from identity_service.cli.clients import app as clients_cli
from identity_service.cli.keys import app as keys_cli
from identity_service.db import create_identity_engine
from tests.identity_service.idp_harness import RunningIdp
from tests.identity_service.oidc.environment import (
    CHEAP_ARGON2,
)
from tests.identity_service.oidc.support import (
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
    totp_code,
)
from tests.identity_service.sqlite_locks import HOLDERS, write_lock_held

pytestmark = pytest.mark.anyio


def public_services(idp: RunningIdp) -> Portal:
    return Portal(
        idp.app,
        PUBLIC_SERVICES,
        PUBLIC_SERVICES_SECRET,
        PUBLIC_SERVICES_REDIRECT,
        scope="openid profile",
    )


def events(services: IdentityServices, name: str) -> list[AuditEntry]:
    return [entry for entry in services.audit.tail(200) if entry.event == name]


def assert_nothing_secret(entries: Sequence[AuditEntry], *secrets: str) -> None:
    stored = json.dumps(
        [[entry.actor, entry.client_id, entry.details] for entry in entries], ensure_ascii=False
    )
    for secret in secrets:
        assert secret not in stored


# --- logins ------------------------------------------------------------------------------


async def test_a_portal_login_is_audited_from_login_to_data_release(
    idp: RunningIdp, browser: Browser, services: IdentityServices, demo: dict[int, DemoCredential]
) -> None:
    citizen = demo[1]
    reference = services.audit.subject_ref(citizen.personal_id_number)
    async with public_services(idp) as portal:
        attempt = portal.start()
        callback = await log_in(browser, attempt, citizen.personal_id_number, citizen.password)
        token = await portal.exchange(attempt, callback)
        assert (await portal.userinfo(token["access_token"])).status_code == 200
    (login,) = events(services, "login.success")
    assert (login.actor, login.client_id, login.level) == (reference, PUBLIC_SERVICES, 1)
    assert login.details["factor"] == "password"
    (consent,) = events(services, "consent.granted")
    assert consent.actor == reference and consent.details["scopes"] == ["openid", "profile"]
    (release,) = events(services, "data.released")
    assert release.actor == reference and release.client_id == PUBLIC_SERVICES
    assert release.level == 1
    assert {"sub", "name", "birthdate", "gender"} <= set(release.details["claims"])
    entries = services.audit.tail(200)
    assert_nothing_secret(entries, citizen.personal_id_number, citizen.password, "Lê Hoàng Nam")
    assert services.audit.verify().ok


async def test_failures_and_the_lockout_are_audited_without_what_was_typed(
    browser: Browser, services: IdentityServices, demo: dict[int, DemoCredential], idp: RunningIdp
) -> None:
    citizen = demo[1]
    threshold = services.settings.lockout_threshold
    async with public_services(idp) as portal:
        page = await browser.open(portal.start().url)
        for attempt in range(threshold + 1):
            page = await browser.submit(
                page,
                "login",
                personal_id_number=citizen.personal_id_number,
                password=f"wrong password {attempt}",
            )
        # Someone's password typed into the ID number field: not a number, not a subject.
        page = await browser.submit(
            page, "login", personal_id_number="my secret pass", password="x" * 9
        )
    failures = events(services, "login.failure")
    locked = events(services, "login.locked")
    reference = services.audit.subject_ref(citizen.personal_id_number)
    assert [entry.actor for entry in failures[: threshold - 1]] == [reference] * (threshold - 1)
    assert len(locked) == 2  # the attempt that locked, and the one refused while locked
    assert all(entry.details["retry_after"] > 0 for entry in locked)
    stray = failures[-1]
    assert stray.actor is None and stray.details["id_number"] == "malformed"
    assert_nothing_secret(
        services.audit.tail(200),
        citizen.personal_id_number,
        "my secret pass",
        *[f"wrong password {attempt}" for attempt in range(threshold + 1)],
    )


async def test_a_step_up_and_a_level_two_login_are_audited(
    idp: RunningIdp,
    browser: Browser,
    services: IdentityServices,
    demo: dict[int, DemoCredential],
    clock: FakeClock,
) -> None:
    citizen = demo[2]
    assert citizen.totp_secret is not None
    async with public_services(idp) as portal:
        attempt = portal.start()
        await log_in(browser, attempt, citizen.personal_id_number, citizen.password)
    async with Portal(
        idp.app, LEVEL2_PORTAL, LEVEL2_PORTAL_SECRET, LEVEL2_PORTAL_REDIRECT, scope="openid profile"
    ) as bank:
        page = await browser.open(bank.start().url)
        assert next(action.rsplit("/", 1)[1] for action in form_actions(page)) == "second-factor"
        page = await browser.submit(page, "second-factor", code="000000")
        clock.advance(30)
        page = await browser.submit(
            page, "second-factor", code=totp_code(citizen.totp_secret, clock)
        )
    (failed,) = [e for e in events(services, "login.failure") if e.details.get("step_up")]
    assert failed.details["factor"] == "totp" and failed.level == 2
    (step_up,) = events(services, "stepup")
    assert (step_up.client_id, step_up.level) == (LEVEL2_PORTAL, 2)
    assert step_up.actor == services.audit.subject_ref(citizen.personal_id_number)
    assert_nothing_secret(services.audit.tail(200), citizen.totp_secret, "000000")

    # A fresh browser logs in at the bank directly: a level-2 login, no step-up.
    async with (
        Browser(idp.app) as other,
        Portal(
            idp.app,
            LEVEL2_PORTAL,
            LEVEL2_PORTAL_SECRET,
            LEVEL2_PORTAL_REDIRECT,
            scope="openid profile",
        ) as bank,
    ):
        clock.advance(30)
        await log_in(
            other,
            bank.start(),
            citizen.personal_id_number,
            citizen.password,
            totp_secret=citizen.totp_secret,
            clock=clock,
        )
    level2 = [entry for entry in events(services, "login.success") if entry.level == 2]
    assert len(level2) == 1 and level2[0].details["factor"] == "totp"
    assert services.audit.verify().ok


# --- admin commands ----------------------------------------------------------------------


def test_admin_commands_are_audited(
    tmp_path: Path, prepared: tuple[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    population_url, template = prepared
    identity_db = tmp_path / "identity.db"
    identity_db.write_bytes(template.read_bytes())
    for name, value in {
        "NATID_DATA_DIR": str(tmp_path),
        "NATID_IDENTITY_DB_URL": f"sqlite:///{identity_db}",
        "NATID_POPULATION_DB_URL": population_url,
        "NATID_SECRET_KEY": "admin-audit-secret",
        "NATID_KEY_PASSPHRASE": "test-key-passphrase",
        **{f"NATID_{key.upper()}": str(value) for key, value in CHEAP_ARGON2.items()},
    }.items():
        monkeypatch.setenv(name, value)
    runner = CliRunner()
    demo = runner.invoke(accounts_cli, ["demo", "--json"])
    assert demo.exit_code == 0, demo.output
    level1 = next(item for item in json.loads(demo.output) if item["level"] == 1)
    upgraded = runner.invoke(accounts_cli, ["upgrade", level1["personal_id_number"]])
    assert upgraded.exit_code == 0, upgraded.output
    added = runner.invoke(
        clients_cli,
        ["add", "--name", "Cổng thử", "--redirect-uri", "https://portal.example/cb", "--json"],
    )
    assert added.exit_code == 0, added.output
    client_id, client_secret = json.loads(added.output).values()
    rotated = runner.invoke(keys_cli, ["rotate", "--alg", "ES256"])
    assert rotated.exit_code == 0, rotated.output

    engine = create_identity_engine(f"sqlite:///{identity_db}")
    try:
        log = AuditLog(engine, b"admin-audit-secret")
        entries = {entry.event: entry for entry in log.tail(20)}
        assert log.verify().ok
    finally:
        engine.dispose()
    upgrade = entries["admin.account_upgraded"]
    assert upgrade.actor == log.subject_ref(level1["personal_id_number"])
    assert upgrade.level == 2 and upgrade.details["by"] == "cli"
    registered = entries["admin.client_registered"]
    assert registered.actor == "cli" and registered.client_id == client_id
    assert entries["admin.keys_rotated"].details["kids"] == rotated.output.split()
    stored = json.dumps([entry.details for entry in entries.values()], ensure_ascii=False)
    assert level1["personal_id_number"] not in stored
    totp_secret = upgraded.output.split("secret=")[1].split("&")[0]
    for secret in (client_secret, totp_secret, level1["password"]):
        assert secret not in stored


# --- the group-commit writer -------------------------------------------------------------


class CountingLog(AuditLog):
    """An audit log that remembers the size of every append transaction."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.batches: list[int] = []

    def record_many(self, entries: Sequence[NewAuditEntry]) -> list[AuditEntry]:
        self.batches.append(len(entries))
        return super().record_many(entries)


@pytest.fixture
def counting_log(identity_file_engine: Engine) -> CountingLog:
    return CountingLog(identity_file_engine, b"writer-test-secret")


def test_concurrent_callers_share_commits_and_each_returns_committed(
    counting_log: CountingLog,
) -> None:
    writer = AuditWriter(counting_log)
    callers = 24
    start = threading.Barrier(callers)
    committed: list[int] = []

    def call(number: int) -> None:
        start.wait()
        writer.record("kyc.verify", client_id=f"bank-{number}", details={"n": number})
        # Once record returns, the caller's own entry is in the log.
        committed.append(number)
        assert any(entry.details.get("n") == number for entry in counting_log.tail(callers))

    threads = [threading.Thread(target=call, args=(number,)) for number in range(callers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    writer.close()
    assert sorted(committed) == list(range(callers))
    assert sum(counting_log.batches) == callers
    assert len(counting_log.batches) < callers  # some commits carried several entries
    assert counting_log.verify().ok and counting_log.verify().checked == callers


def test_a_malformed_entry_fails_alone(counting_log: CountingLog) -> None:
    writer = AuditWriter(counting_log)
    outcomes: dict[str, str] = {}
    start = threading.Barrier(6)

    def call(name: str) -> None:
        start.wait()
        try:
            writer.record(name, details={"ok": True})
            outcomes[name] = "written"
        except AuditError:
            outcomes[name] = "refused"

    names = ["login.success", "Not An Event!", "stepup", "kyc.verify", "data.released", "x.y"]
    threads = [threading.Thread(target=call, args=(name,)) for name in names]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    writer.close()
    assert outcomes.pop("Not An Event!") == "refused"
    assert set(outcomes.values()) == {"written"}
    assert counting_log.verify().checked == 5


def test_a_database_failure_reaches_every_waiter(counting_log: CountingLog) -> None:
    writer = AuditWriter(counting_log)
    writer.record("login.success")
    with counting_log._engine.begin() as connection:  # the test breaks the database
        connection.exec_driver_sql("DROP TABLE audit_entry")
    with pytest.raises(AuditError):
        writer.record("login.failure")
    writer.close()


async def test_async_callers_wait_for_their_commit(counting_log: CountingLog) -> None:
    writer = AuditWriter(counting_log)
    await asyncio.gather(
        *(writer.record_async(NewAuditEntry("kyc.verify", details={"n": n})) for n in range(30))
    )
    assert counting_log.verify().checked == 30
    with pytest.raises(AuditError):
        await writer.record_async(NewAuditEntry("Bad Name"))
    writer.close()
    # After close, callers write their entries themselves.
    writer.record("stepup")
    assert counting_log.tail(1)[0].event == "stepup"


async def test_coroutines_of_one_loop_turn_share_one_append(counting_log: CountingLog) -> None:
    # Thirty requests recording in the same turn of the event loop: one transaction, not
    # a first one for whoever woke the writer and more for the rest.
    writer = AuditWriter(counting_log)
    await asyncio.gather(
        *(writer.record_async(NewAuditEntry("kyc.verify", details={"n": n})) for n in range(30))
    )
    assert counting_log.batches == [30]
    await writer.record_many_async([NewAuditEntry("stepup"), NewAuditEntry("x.y")])
    assert counting_log.batches == [30, 2]
    writer.close()
    assert [entry.details.get("n") for entry in counting_log.tail(32)[:30]] == list(range(30))


async def test_a_caller_whose_entries_span_batches_waits_for_the_last(
    counting_log: CountingLog,
) -> None:
    writer = AuditWriter(counting_log, max_batch=2)
    await writer.record_many_async(
        [NewAuditEntry("kyc.verify", details={"n": n}) for n in range(5)]
    )
    # Returned only once all five were in: the first batches did not settle it early.
    assert counting_log.batches == [2, 2, 1]
    assert counting_log.verify().checked == 5
    writer.close()


async def test_an_append_that_hangs_fails_the_waiting_coroutines_in_time(
    counting_log: CountingLog, monkeypatch: pytest.MonkeyPatch
) -> None:
    release = threading.Event()

    class HangingLog(CountingLog):
        def record_many(self, entries: Sequence[NewAuditEntry]) -> list[AuditEntry]:
            release.wait(10)  # a database that does not answer
            return super().record_many(entries)

    monkeypatch.setattr("identity_service.audit_writer.COMMIT_TIMEOUT_SECONDS", 0.2)
    writer = AuditWriter(HangingLog(counting_log._engine, b"writer-test-secret"))
    started = time.monotonic()
    outcomes = await asyncio.gather(
        *(writer.record_async(NewAuditEntry("kyc.verify")) for _ in range(3)),
        return_exceptions=True,
    )
    assert time.monotonic() - started < 5
    assert all(isinstance(outcome, AuditError) for outcome in outcomes)
    assert "in time" in str(outcomes[0])
    release.set()
    writer.close()


def test_entries_queued_during_a_failed_append_fail_with_it(counting_log: CountingLog) -> None:
    attempt_started = threading.Event()
    release = threading.Event()

    class FailingLog(CountingLog):
        def record_many(self, entries: Sequence[NewAuditEntry]) -> list[AuditEntry]:
            self.batches.append(len(entries))
            attempt_started.set()
            release.wait(5)
            try:
                raise OperationalError("INSERT", {}, ConnectionError("database is down"))
            except OperationalError as error:
                raise AuditError("audit log unavailable: OperationalError") from error

    failing = FailingLog(counting_log._engine, b"writer-test-secret")
    writer = AuditWriter(failing)
    errors: list[str] = []

    def call(name: str) -> None:
        try:
            writer.record(name)
        except AuditError as error:
            errors.append(str(error))

    first = threading.Thread(target=call, args=("login.success",))
    first.start()
    assert attempt_started.wait(5)
    later = [threading.Thread(target=call, args=(f"e{n}.x",)) for n in range(3)]
    for thread in later:
        thread.start()
    while len(failing.batches) == 1 and writer._queue.qsize() < 3:  # until all are queued
        time.sleep(0.01)
    release.set()
    for thread in (first, *later):
        thread.join()
    writer.close()
    assert len(errors) == 4
    assert failing.batches == [1]  # one attempt; the queued entries did not get their own


# --- appending on the event loop (SQLite) --------------------------------------------------


def writer_threads() -> set[threading.Thread]:
    return {thread for thread in threading.enumerate() if thread.name == "natid-audit-writer"}


@pytest.fixture
def started_log(counting_log: CountingLog) -> CountingLog:
    """A log with its first entry (and so its chain's head row) written."""
    counting_log.record_many([NewAuditEntry("stepup")])
    counting_log.batches.clear()
    return counting_log


async def test_on_sqlite_a_turns_entries_are_appended_on_the_loop(
    started_log: CountingLog,
) -> None:
    writer = AuditWriter(started_log, writes_on_loop=True)
    threads_before = writer_threads()
    await asyncio.gather(
        *(writer.record_async(NewAuditEntry("kyc.verify", details={"n": n})) for n in range(30))
    )
    # Committed by the time the callers resume, in one transaction, and no thread woken.
    assert started_log.batches == [30]
    assert writer_threads() <= threads_before
    assert [entry.details["n"] for entry in started_log.tail(30)] == list(range(30))
    assert started_log.verify().ok
    writer.close()


@pytest.mark.parametrize("holder", HOLDERS)
async def test_on_sqlite_a_held_write_lock_sends_the_turn_to_the_writer_thread(
    started_log: CountingLog, holder: str
) -> None:
    writer = AuditWriter(started_log, writes_on_loop=True)
    with write_lock_held(started_log._engine, holder):
        started = time.monotonic()
        recorded = asyncio.ensure_future(writer.record_async(NewAuditEntry("kyc.verify")))
        await asyncio.sleep(0.2)
        # The loop did not wait for the lock: it went on, and the caller still waits.
        assert time.monotonic() - started < 1
        assert not recorded.done()
        assert writer_threads()
    await asyncio.wait_for(recorded, 10)
    assert started_log.verify().checked == 2
    writer.close()


async def test_on_sqlite_a_refused_entry_fails_alone(started_log: CountingLog) -> None:
    writer = AuditWriter(started_log, writes_on_loop=True)
    names = ["login.success", "Not An Event!", "stepup"]
    outcomes = await asyncio.gather(
        *(writer.record_async(NewAuditEntry(name)) for name in names), return_exceptions=True
    )
    assert outcomes[0] is None and outcomes[2] is None
    assert isinstance(outcomes[1], AuditError)
    assert [entry.event for entry in started_log.tail(2)] == ["login.success", "stepup"]
    # Alone in its turn, a refused entry fails there, without the thread.
    with pytest.raises(AuditError):
        await writer.record_async(NewAuditEntry("Bad Name"))
    writer.close()


async def test_on_sqlite_a_database_failure_fails_the_turn(started_log: CountingLog) -> None:
    writer = AuditWriter(started_log, writes_on_loop=True)
    await writer.record_async(NewAuditEntry("login.success"))
    with started_log._engine.begin() as connection:  # the test breaks the database
        connection.exec_driver_sql("DROP TABLE audit_entry")
    outcomes = await asyncio.gather(
        *(writer.record_async(NewAuditEntry("kyc.verify")) for _ in range(3)),
        return_exceptions=True,
    )
    assert all(isinstance(outcome, AuditError) for outcome in outcomes)
    assert "unavailable" in str(outcomes[0])
    writer.close()


async def test_a_login_on_sqlite_is_audited_without_a_writer_thread(
    idp: RunningIdp, browser: Browser, services: IdentityServices, demo: dict[int, DemoCredential]
) -> None:
    citizen = demo[1]
    services.audit.record_many([NewAuditEntry("stepup")])  # the chain's head is made
    threads_before = writer_threads()
    async with public_services(idp) as portal:
        attempt = portal.start()
        callback = await log_in(browser, attempt, citizen.personal_id_number, citizen.password)
        token = await portal.exchange(attempt, callback)
        assert (await portal.userinfo(token["access_token"])).status_code == 200
    assert [entry.event for entry in services.audit.tail(5)] == [
        "stepup",
        "login.success",
        "consent.granted",
        "token.issued",
        "data.released",
    ]
    assert writer_threads() <= threads_before
