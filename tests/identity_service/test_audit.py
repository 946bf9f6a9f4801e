"""Audit log: chain integrity, tamper detection, no personal data in clear, concurrency, CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from typer.testing import CliRunner

from identity_service.audit import (
    AuditError,
    AuditEvent,
    AuditLog,
    NewAuditEntry,
    subject_reference,
)
from identity_service.audit_chain import canonical_json, chain_key, entry_hash, head_mac
from identity_service.cli.audit import app as audit_app
from identity_service.db import create_identity_engine, create_identity_schema

SECRET = b"audit-test-server-secret-0123456789"
CITIZEN = "001203004567"
OTHER_CITIZEN = "079185000123"
START = 1_800_000_000.25
REPO_ROOT = Path(__file__).resolve().parents[2]


class FakeClock:
    def __init__(self, now: float = START) -> None:
        self.now = now

    def __call__(self) -> float:
        self.now += 1.5
        return self.now


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    engine = create_identity_engine(f"sqlite:///{tmp_path / 'identity.db'}")
    create_identity_schema(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def audit(engine: Engine) -> AuditLog:
    return AuditLog(engine, SECRET, clock=FakeClock())


def _fill(audit: AuditLog, count: int) -> None:
    for number in range(count):
        audit.record(
            AuditEvent.LOGIN_SUCCESS, subject=CITIZEN, client_id="portal", level=1 + number % 2
        )


def _execute(engine: Engine, sql: str, **parameters: object) -> None:
    with engine.begin() as connection:
        connection.execute(text(sql), parameters)


def _all_stored_text(engine: Engine) -> str:
    with engine.connect() as connection:
        rows = connection.execute(text("SELECT * FROM audit_entry")).all()
        head = connection.execute(text("SELECT * FROM audit_head")).all()
    return repr(rows) + repr(head)


# -- recording and reading ------------------------------------------------------------------


def test_entries_link_into_a_chain_that_verifies(audit: AuditLog) -> None:
    first = audit.record(AuditEvent.LOGIN_FAILURE, subject=CITIZEN, client_id="portal")
    second = audit.record(AuditEvent.LOGIN_SUCCESS, subject=CITIZEN, client_id="portal", level=2)
    third = audit.record("admin.keys.rotate", actor="cli", details={"alg": "ES256"})

    assert [first.seq, second.seq, third.seq] == [1, 2, 3]
    assert first.prev_hash == "0" * 64
    assert second.prev_hash == first.entry_hash
    assert third.prev_hash == second.entry_hash
    assert len({first.entry_hash, second.entry_hash, third.entry_hash}) == 3
    result = audit.verify()
    assert (result.ok, result.checked, result.first_broken_seq) == (True, 3, None)


def test_an_empty_log_verifies(audit: AuditLog) -> None:
    result = audit.verify()

    assert result.ok
    assert result.checked == 0


def test_entry_hash_commits_to_every_field(audit: AuditLog) -> None:
    entry = audit.record(AuditEvent.KYC_VERIFY, client_id="bank", level=1, details={"match": True})
    fields = {
        "seq": entry.seq,
        "occurred_at": entry.occurred_at,
        "event": entry.event,
        "actor": entry.actor,
        "client_id": entry.client_id,
        "level": entry.level,
        "details": entry.details,
        "prev_hash": entry.prev_hash,
    }
    key = chain_key(SECRET)
    assert entry_hash(key, fields) == entry.entry_hash

    changes = {
        "seq": 2,
        "occurred_at": datetime(2030, 1, 1, tzinfo=UTC),
        "event": "kyc.verified",
        "actor": "someone",
        "client_id": "other-bank",
        "level": 2,
        "details": {"match": False},
        "prev_hash": "f" * 64,
    }
    for name, value in changes.items():
        assert entry_hash(key, {**fields, name: value}) != entry.entry_hash, name
    assert entry_hash(chain_key(b"another secret"), fields) != entry.entry_hash


def test_tail_returns_the_newest_entries_oldest_first(audit: AuditLog) -> None:
    _fill(audit, 7)

    assert [entry.seq for entry in audit.tail(3)] == [5, 6, 7]
    assert [entry.seq for entry in audit.tail(50)] == list(range(1, 8))


def test_recorded_entries_read_back_identically(audit: AuditLog) -> None:
    recorded = audit.record(
        AuditEvent.DATA_RELEASED,
        subject=CITIZEN,
        client_id="public-services",
        level=2,
        details={"claims": ["name", "birthdate"], "note": "Nguyễn Văn A"},
    )

    (read_back,) = audit.tail(1)
    assert read_back == recorded
    assert recorded.occurred_at.tzinfo is not None


def test_record_many_appends_in_order_in_one_call(audit: AuditLog) -> None:
    entries = audit.record_many(
        [
            NewAuditEntry(AuditEvent.TOKEN_ISSUED, subject=CITIZEN, client_id="a"),
            NewAuditEntry(AuditEvent.DATA_RELEASED, subject=CITIZEN, client_id="a"),
        ]
    )

    assert [entry.event for entry in entries] == ["token.issued", "data.released"]
    assert audit.record_many([]) == []
    assert audit.verify().checked == 2


def test_history_finds_one_citizens_entries_without_their_number(audit: AuditLog) -> None:
    audit.record(AuditEvent.LOGIN_SUCCESS, subject=CITIZEN, client_id="a")
    audit.record(AuditEvent.DATA_RELEASED, subject=CITIZEN, client_id="a", details={"n": 1})
    audit.record(AuditEvent.DATA_RELEASED, subject=OTHER_CITIZEN, client_id="b")
    audit.record(AuditEvent.DATA_RELEASED, subject=CITIZEN, client_id="c", details={"n": 2})

    history = audit.history(CITIZEN, events=[AuditEvent.DATA_RELEASED])

    assert [entry.client_id for entry in history] == ["c", "a"]
    assert len(audit.history(CITIZEN)) == 3
    assert [entry.client_id for entry in audit.history(OTHER_CITIZEN)] == ["b"]


@pytest.mark.parametrize("event", ["", "Login.Success", "login..x", "login success", "a" * 65])
def test_invalid_event_names_are_refused(audit: AuditLog, event: str) -> None:
    with pytest.raises(AuditError, match="invalid audit event"):
        audit.record(event)


def test_details_that_are_not_json_are_refused(audit: AuditLog) -> None:
    with pytest.raises(AuditError, match="not JSON"):
        audit.record("admin.test", details={"value": float("nan")})
    with pytest.raises(AuditError, match="not JSON"):
        audit.record("admin.test", details={"value": object()})
    assert audit.verify().checked == 0


def test_an_unreachable_database_is_an_audit_error() -> None:
    engine = create_identity_engine("postgresql://postgres@127.0.0.1:1/nothing")
    try:
        with pytest.raises(AuditError, match="unavailable"):
            AuditLog(engine, SECRET).record(AuditEvent.LOGIN_SUCCESS)
    finally:
        engine.dispose()


# -- no personal data in clear -------------------------------------------------------------


def test_subject_is_stored_only_as_a_keyed_reference_and_a_masked_form(
    audit: AuditLog, engine: Engine
) -> None:
    entry = audit.record(AuditEvent.LOGIN_SUCCESS, subject=CITIZEN, client_id="portal")

    assert entry.actor == audit.subject_ref(CITIZEN)
    assert entry.details["subject_masked"] == "00********67"
    assert CITIZEN not in _all_stored_text(engine)


def test_secrets_in_details_are_redacted_and_long_numbers_masked(
    audit: AuditLog, engine: Engine
) -> None:
    password, otp, token = "hunter2-Correct", "492817", "eyJhbGciOiJFUzI1NiJ9.payload.sig"
    entry = audit.record(
        AuditEvent.LOGIN_FAILURE,
        details={
            "password": password,
            "OTP": otp,
            "refresh_token": token,
            "nested": {"personal_id_number": OTHER_CITIZEN, "phone": "0912345678"},
            "message": f"lookup of {OTHER_CITIZEN} failed",
            "numbers": [int(OTHER_CITIZEN), 42],
            "transaction_id": "5b0e4d6c-1234-4321-8888-123456789012",
        },
    )

    stored = _all_stored_text(engine)
    for secret in (password, otp, token, OTHER_CITIZEN, "0912345678"):
        assert secret not in stored
    assert entry.details["password"] == "[redacted]"
    assert entry.details["nested"]["phone"] == "09******78"
    assert entry.details["message"] == "lookup of 07********23 failed"
    # As an integer the leading zero is gone; the rest is masked all the same.
    assert entry.details["numbers"] == ["79*******23", 42]
    assert entry.details["transaction_id"] == "5b0e4d6c-1234-4321-8888-123456789012"


def test_subject_reference_is_stable_keyed_and_ignores_separators() -> None:
    reference = subject_reference(SECRET, CITIZEN)

    assert len(reference) == 32
    assert int(reference, 16) >= 0
    assert subject_reference(SECRET, "001 203 004 567") == reference
    assert subject_reference(SECRET, "001.203.004.567") == reference
    assert subject_reference(b"another secret", CITIZEN) != reference
    assert subject_reference(SECRET, OTHER_CITIZEN) != reference
    assert CITIZEN not in reference


# -- tamper detection -----------------------------------------------------------------------


def test_an_edited_entry_is_named(audit: AuditLog, engine: Engine) -> None:
    _fill(audit, 6)
    _execute(engine, "UPDATE audit_entry SET level = 2 WHERE seq = 3 AND level = 1")
    _execute(engine, "UPDATE audit_entry SET client_id = 'evil' WHERE seq = 4")

    result = audit.verify()

    assert not result.ok
    assert result.first_broken_seq == 3
    assert result.checked == 2
    assert "edited" in (result.reason or "")


def test_edited_details_or_time_are_detected(audit: AuditLog, engine: Engine) -> None:
    _fill(audit, 4)
    _execute(engine, "UPDATE audit_entry SET occurred_at = :at WHERE seq = 3", at=datetime.now(UTC))
    assert audit.verify().first_broken_seq == 3

    _execute(engine, "UPDATE audit_entry SET details = :details WHERE seq = 2", details='{"x":1}')
    assert audit.verify().first_broken_seq == 2

    _execute(engine, "UPDATE audit_entry SET details = 'not json' WHERE seq = 1")
    assert audit.verify().first_broken_seq == 1


def test_a_deleted_entry_is_named(audit: AuditLog, engine: Engine) -> None:
    _fill(audit, 6)
    _execute(engine, "DELETE FROM audit_entry WHERE seq = 4")

    result = audit.verify()

    assert (result.ok, result.first_broken_seq) == (False, 4)
    assert "missing" in (result.reason or "")


def test_a_deleted_entry_with_the_rest_renumbered_is_detected(
    audit: AuditLog, engine: Engine
) -> None:
    _fill(audit, 6)
    _execute(engine, "DELETE FROM audit_entry WHERE seq = 2")
    for seq in range(3, 7):
        _execute(engine, "UPDATE audit_entry SET seq = :new WHERE seq = :old", new=seq - 1, old=seq)

    result = audit.verify()

    assert (result.ok, result.first_broken_seq) == (False, 2)


def test_swapped_entries_are_detected(audit: AuditLog, engine: Engine) -> None:
    _fill(audit, 5)
    _execute(engine, "UPDATE audit_entry SET seq = 100 WHERE seq = 2")
    _execute(engine, "UPDATE audit_entry SET seq = 2 WHERE seq = 3")
    _execute(engine, "UPDATE audit_entry SET seq = 3 WHERE seq = 100")

    assert audit.verify().first_broken_seq == 2


def test_a_truncated_chain_is_detected(audit: AuditLog, engine: Engine) -> None:
    _fill(audit, 6)
    _execute(engine, "DELETE FROM audit_entry WHERE seq >= 5")

    result = audit.verify()

    assert (result.ok, result.first_broken_seq, result.checked) == (False, 5, 4)
    assert "cut short" in (result.reason or "")


def test_winding_the_head_back_after_truncating_is_detected(
    audit: AuditLog, engine: Engine
) -> None:
    _fill(audit, 6)
    (fourth,) = [entry for entry in audit.tail(6) if entry.seq == 4]
    _execute(engine, "DELETE FROM audit_entry WHERE seq >= 5")
    _execute(engine, "UPDATE audit_head SET seq = 4, entry_hash = :hash", hash=fourth.entry_hash)

    result = audit.verify()

    assert not result.ok
    assert "head" in (result.reason or "")


def test_a_chain_rewritten_without_the_server_secret_is_detected(
    audit: AuditLog, engine: Engine
) -> None:
    """A forger edits entry 2 and recomputes every later hash and the head with a guessed key."""
    _fill(audit, 4)
    forged_key = chain_key(b"guessed secret")
    with engine.connect() as connection:
        rows = [
            dict(row._mapping)
            for row in connection.execute(text("SELECT * FROM audit_entry ORDER BY seq"))
        ]
    rows[1]["client_id"] = "evil"
    previous = rows[0]["entry_hash"]
    for row in rows[1:]:
        row["prev_hash"] = previous
        row["entry_hash"] = entry_hash(forged_key, row)
        previous = row["entry_hash"]
        _execute(
            engine,
            "UPDATE audit_entry SET client_id = :client_id, prev_hash = :prev_hash, "
            "entry_hash = :entry_hash WHERE seq = :seq",
            client_id=row["client_id"],
            prev_hash=row["prev_hash"],
            entry_hash=row["entry_hash"],
            seq=row["seq"],
        )
    _execute(
        engine,
        "UPDATE audit_head SET entry_hash = :hash, mac = :mac",
        hash=previous,
        mac=head_mac(forged_key, 4, previous),
    )

    result = audit.verify()

    assert (result.ok, result.first_broken_seq) == (False, 2)


def test_an_entry_appended_behind_the_logs_back_is_detected(
    audit: AuditLog, engine: Engine
) -> None:
    _fill(audit, 2)
    (last,) = audit.tail(1)
    _execute(
        engine,
        "INSERT INTO audit_entry (seq, occurred_at, event, actor, client_id, level, details, "
        "prev_hash, entry_hash) VALUES (3, :at, 'login.success', NULL, NULL, NULL, '{}', "
        ":prev, :hash)",
        at=datetime.now(UTC),
        prev=last.entry_hash,
        hash="a" * 64,
    )

    result = audit.verify()

    assert (result.ok, result.first_broken_seq) == (False, 3)
    with pytest.raises(AuditError, match="inconsistent"):
        audit.record(AuditEvent.LOGIN_SUCCESS)


def test_a_forged_entry_before_the_first_is_detected(audit: AuditLog, engine: Engine) -> None:
    _fill(audit, 2)
    _execute(
        engine,
        "INSERT INTO audit_entry (seq, occurred_at, event, details, prev_hash, entry_hash) "
        "VALUES (0, :at, 'login.success', '{}', :zero, :zero)",
        at=datetime.now(UTC),
        zero="0" * 64,
    )

    assert audit.verify().first_broken_seq == 0


def test_a_deleted_head_is_detected_and_stops_appends(audit: AuditLog, engine: Engine) -> None:
    _fill(audit, 3)
    _execute(engine, "DELETE FROM audit_head")

    result = audit.verify()
    assert not result.ok
    assert "head" in (result.reason or "")
    with pytest.raises(AuditError, match="head"):
        AuditLog(engine, SECRET).record(AuditEvent.LOGIN_SUCCESS)


def test_verification_reads_in_batches(audit: AuditLog, engine: Engine) -> None:
    _fill(audit, 10)
    assert audit.verify(batch_size=3).checked == 10

    _execute(engine, "UPDATE audit_entry SET event = 'login.failure' WHERE seq = 8")
    result = audit.verify(batch_size=3)
    assert (result.first_broken_seq, result.checked) == (8, 7)


# -- concurrency ---------------------------------------------------------------------------


def _append_from_threads(engine: Engine, threads: int, per_thread: int) -> None:
    logs = [AuditLog(engine, SECRET) for _ in range(threads)]
    errors: list[BaseException] = []

    def work(log: AuditLog, number: int) -> None:
        try:
            for index in range(per_thread):
                log.record("admin.concurrency", actor=f"thread-{number}", details={"i": index})
        except BaseException as error:
            errors.append(error)

    workers = [threading.Thread(target=work, args=(log, n)) for n, log in enumerate(logs)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert errors == []


def test_concurrent_threads_keep_one_chain(engine: Engine) -> None:
    _append_from_threads(engine, threads=8, per_thread=25)

    result = AuditLog(engine, SECRET).verify()
    assert (result.ok, result.checked) == (True, 200)


_WRITER = """
import sys
from identity_service.audit import AuditLog
from identity_service.db import create_identity_engine
engine = create_identity_engine(sys.argv[1])
log = AuditLog(engine, sys.argv[2].encode())
for index in range(int(sys.argv[3])):
    log.record("admin.concurrency", actor=sys.argv[4], details={"i": index})
"""


def test_concurrent_processes_keep_one_chain_on_sqlite(engine: Engine, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'identity.db'}"
    environment = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    writers = [
        subprocess.Popen(
            [sys.executable, "-c", _WRITER, url, SECRET.decode(), "30", f"process-{number}"],
            env=environment,
            stderr=subprocess.PIPE,
        )
        for number in range(3)
    ]
    _append_from_threads(engine, threads=2, per_thread=30)
    for writer in writers:
        _, stderr = writer.communicate(timeout=60)
        assert writer.returncode == 0, stderr.decode()

    result = AuditLog(engine, SECRET).verify()
    assert (result.ok, result.checked) == (True, 150)


@pytest.mark.postgres
def test_concurrent_threads_keep_one_chain_on_postgresql(postgres_engine: Engine) -> None:
    _append_from_threads(postgres_engine, threads=6, per_thread=20)
    audit = AuditLog(postgres_engine, SECRET)

    result = audit.verify()
    assert (result.ok, result.checked) == (True, 120)
    entry = audit.record(AuditEvent.DATA_RELEASED, subject=CITIZEN, details={"claims": ["name"]})
    assert audit.tail(1) == [entry]

    _execute(postgres_engine, "DELETE FROM audit_entry WHERE seq = 121")
    result = audit.verify()
    assert (result.ok, result.first_broken_seq) == (False, 121)


# -- natid audit ---------------------------------------------------------------------------


@pytest.fixture
def cli_data_dir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, clean_natid_environ: None
) -> Path:
    data_dir = tmp_path / "data"
    monkeypatch.setenv("NATID_DATA_DIR", str(data_dir))
    monkeypatch.setenv("NATID_SECRET_KEY", SECRET.decode())
    return data_dir


def _cli_audit_log(data_dir: Path) -> tuple[AuditLog, Engine]:
    engine = create_identity_engine(f"sqlite:///{data_dir / 'identity.db'}")
    create_identity_schema(engine)
    return AuditLog(engine, SECRET), engine


def test_cli_verify_reports_ok_then_names_the_broken_entry(cli_data_dir: Path) -> None:
    runner = CliRunner()
    audit, engine = _cli_audit_log(cli_data_dir)
    try:
        _fill(audit, 5)

        ok = runner.invoke(audit_app, ["verify"])
        assert ok.exit_code == 0, ok.output
        assert ok.stdout.strip() == "audit chain OK (5 entries)"

        _execute(engine, "UPDATE audit_entry SET client_id = 'evil' WHERE seq = 3")
        broken = runner.invoke(audit_app, ["verify"])
    finally:
        engine.dispose()

    assert broken.exit_code == 1
    assert broken.stderr.strip().count("\n") == 0
    assert "entry 3" in broken.stderr
    assert "edited" in broken.stderr


def test_cli_tail_as_json_and_as_a_table(cli_data_dir: Path) -> None:
    runner = CliRunner()
    audit, engine = _cli_audit_log(cli_data_dir)
    try:
        _fill(audit, 4)
        audit.record(AuditEvent.CONSENT_GRANTED, subject=CITIZEN, client_id="clinic")
    finally:
        engine.dispose()

    as_json = runner.invoke(audit_app, ["tail", "-n", "2", "--json"])
    assert as_json.exit_code == 0, as_json.output
    lines = [json.loads(line) for line in as_json.stdout.splitlines()]
    assert [line["seq"] for line in lines] == [4, 5]
    assert lines[1]["event"] == "consent.granted"
    assert lines[1]["details"]["subject_masked"] == "00********67"
    assert CITIZEN not in as_json.stdout

    table = runner.invoke(audit_app, ["tail"], env={"COLUMNS": "200"})
    assert table.exit_code == 0, table.output
    assert "consent.granted" in table.stdout
    assert CITIZEN not in table.stdout


def test_cli_on_an_empty_log(cli_data_dir: Path) -> None:
    result = CliRunner().invoke(audit_app, ["verify"])

    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == "audit chain OK (0 entries)"


def test_cli_database_error_is_one_line(
    cli_data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NATID_IDENTITY_DB_URL", "postgresql://postgres@127.0.0.1:1/nothing")

    result = CliRunner().invoke(audit_app, ["tail"])

    assert result.exit_code == 1
    assert result.stderr.startswith("error: ")
    assert result.stderr.strip().count("\n") == 0
    assert "Traceback" not in result.output


def test_canonical_json_is_compact_sorted_and_keeps_unicode() -> None:
    assert canonical_json({"b": 1, "a": "Việt"}) == '{"a":"Việt","b":1}'
