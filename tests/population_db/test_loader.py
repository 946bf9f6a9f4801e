"""Seeding: batches, idempotence, resuming after interruption, refusals (population_db.loader)."""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import sqlalchemy as sa

from population_db import db, generator
from population_db.loader import (
    InvalidSeedParametersError,
    SeedConflictError,
    SeedingError,
    seed_population,
)
from population_db.models import CITIZEN_COLUMNS, HOUSEHOLD_COLUMNS
from tests.population_db.conftest import empty_database

CITIZENS = 1_300
SEED = 77
BATCH = 300  # demo batch + 5 generated batches (4 x 300 + 94)


class StopSeeding(Exception):
    """Raised from the progress callback to interrupt a seed between batches."""


def _fingerprint(url: str) -> str:
    """A hash of every citizen and household, in key order."""
    engine = db.create_population_engine(url)
    digest = hashlib.sha256()
    try:
        with engine.connect() as connection:
            for table, key in (
                (db.CITIZEN_TABLE, "personal_id_number"),
                (db.HOUSEHOLD_TABLE, "id"),
            ):
                for row in connection.execute(sa.select(table).order_by(table.c[key])):
                    digest.update(repr(tuple(row)).encode())
    finally:
        engine.dispose()
    return digest.hexdigest()


def _citizen_values(row: tuple) -> dict[str, object]:
    """A generated citizen row as insert parameters (ISO date strings become dates)."""
    values = dict(zip(CITIZEN_COLUMNS, row, strict=True))
    for name in ("birth_date", "date_of_death"):
        if values[name] is not None:
            values[name] = dt.date.fromisoformat(values[name])
    return values


def _query(url: str, statement: sa.Executable) -> list[sa.Row]:
    engine = db.create_population_engine(url)
    try:
        with engine.connect() as connection:
            return list(connection.execute(statement))
    finally:
        engine.dispose()


def _count(url: str, table: sa.Table) -> int:
    return _query(url, sa.select(sa.func.count()).select_from(table))[0][0]


def _citizens_stored(url: str) -> int:
    """Citizens committed so far: in ``citizen``, or staged on SQLite until the last batch."""
    staging = sa.table(db.STAGING_TABLE)
    engine = db.create_population_engine(url)
    try:
        staged = engine.dialect.name == "sqlite" and sa.inspect(engine).has_table(db.STAGING_TABLE)
    finally:
        engine.dispose()
    total = _count(url, db.CITIZEN_TABLE)
    if staged:
        total += _query(url, sa.select(sa.func.count()).select_from(staging))[0][0]
    return total


def _run(url: str) -> sa.Row:
    return _query(url, sa.select(db.SEED_RUN_TABLE))[0]


def _execute(url: str, sql: str, parameters: dict | None = None) -> None:
    engine = db.create_population_engine(url)
    try:
        with engine.begin() as connection:
            connection.execute(sa.text(sql), parameters or {})
    finally:
        engine.dispose()


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> str:
    """The fingerprint of an uninterrupted seed (SQLite) to compare interrupted ones with."""
    url = f"sqlite:///{tmp_path_factory.mktemp('reference') / 'population.db'}"
    seed_population(url, CITIZENS, SEED, batch_size=BATCH)
    return _fingerprint(url)


def test_seeds_the_requested_population_with_the_demo_citizens(
    database_url: str, reference: str
) -> None:
    calls: list[tuple[int, int]] = []
    result = seed_population(
        database_url, CITIZENS, SEED, batch_size=BATCH, progress=lambda *a: calls.append(a)
    )
    assert (result.outcome, result.citizens, result.citizens_written) == (
        "seeded",
        CITIZENS,
        CITIZENS,
    )
    assert _count(database_url, db.CITIZEN_TABLE) == CITIZENS
    demo_ids = [row[0] for row in generator.demo_batch().citizens]
    pk = db.CITIZEN_TABLE.c.personal_id_number
    assert len(_query(database_url, sa.select(pk).where(pk.in_(demo_ids)))) == len(demo_ids)
    run = _run(database_url)
    assert (run.status, run.batches_done, run.batches_total) == ("complete", 6, 6)
    assert calls[0] == (0, CITIZENS) and calls[-1] == (CITIZENS, CITIZENS)
    assert [done for done, _ in calls] == sorted(done for done, _ in calls)
    assert {"ix_citizen_birth_date", "ix_citizen_household_id"} <= _citizen_indexes(database_url)
    # Same rows whatever the backend: the loader adds, drops and changes nothing.
    assert _fingerprint(database_url) == reference


def _citizen_indexes(url: str) -> set[str]:
    engine = db.create_population_engine(url)
    try:
        return {index["name"] for index in sa.inspect(engine).get_indexes("citizen")}
    finally:
        engine.dispose()


def test_seeding_again_with_the_same_parameters_changes_nothing(database_url: str) -> None:
    seed_population(database_url, CITIZENS, SEED, batch_size=BATCH)
    before = _fingerprint(database_url)
    again = seed_population(database_url, CITIZENS, SEED)  # batch size: the recorded one
    assert (again.outcome, again.citizens_written) == ("already_seeded", 0)
    assert _fingerprint(database_url) == before


@pytest.mark.parametrize(
    ("citizens", "seed", "batch_size"),
    [(CITIZENS + 1, SEED, BATCH), (CITIZENS, SEED + 1, BATCH), (CITIZENS, SEED, BATCH + 1)],
)
def test_different_parameters_are_refused_with_a_way_to_start_over(
    tmp_path: Path, citizens: int, seed: int, batch_size: int
) -> None:
    url = f"sqlite:///{tmp_path / 'population.db'}"
    seed_population(url, CITIZENS, SEED, batch_size=BATCH)
    before = _fingerprint(url)
    with pytest.raises(SeedConflictError, match="--force") as caught:
        seed_population(url, citizens, seed, batch_size=batch_size)
    assert "\n" not in str(caught.value)
    assert f"--citizens {CITIZENS} --seed {SEED}" in str(caught.value)
    assert _fingerprint(url) == before


def test_a_population_from_another_generator_version_is_refused(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'population.db'}"
    seed_population(url, CITIZENS, SEED, batch_size=BATCH)
    _execute(url, "UPDATE seed_run SET generator_version = generator_version + 1")
    with pytest.raises(SeedConflictError, match="generator version"):
        seed_population(url, CITIZENS, SEED, batch_size=BATCH)


def test_force_starts_over_with_new_parameters(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'population.db'}"
    seed_population(url, CITIZENS, SEED, batch_size=BATCH)
    result = seed_population(url, 700, SEED + 1, batch_size=BATCH, force=True)
    assert result.outcome == "seeded"
    assert _count(url, db.CITIZEN_TABLE) == 700
    assert (_run(url).seed, _run(url).citizens_target) == (SEED + 1, 700)


def test_citizens_that_no_seed_run_recorded_are_refused(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'population.db'}"
    engine = db.create_population_engine(url, create=True)
    db.create_population_schema(engine)
    with engine.begin() as connection:
        connection.execute(
            db.CITIZEN_TABLE.insert(),
            [_citizen_values(generator.demo_batch().citizens[0])],
        )
    engine.dispose()
    with pytest.raises(SeedConflictError, match="no seed run recorded"):
        seed_population(url, CITIZENS, SEED)


@pytest.mark.parametrize(
    ("citizens", "seed", "batch_size", "expected"),
    [
        (0, 1, None, "must be positive"),
        (-5, 1, None, "must be positive"),
        (3, 1, None, "demo citizens"),
        (100, -1, None, "seed must be"),
        (100, 2**31, None, "seed must be"),
        (100, 1, 0, "batch size"),
        (100, 1, 10**9, "batch size"),
        (10**8, 1, 100, "batches"),
    ],
)
def test_unusable_parameters_are_rejected_before_touching_the_database(
    tmp_path: Path, citizens: int, seed: int, batch_size: int | None, expected: str
) -> None:
    path = tmp_path / "population.db"
    with pytest.raises(InvalidSeedParametersError, match=expected):
        seed_population(f"sqlite:///{path}", citizens, seed, batch_size=batch_size)
    assert not path.exists()


def test_an_interrupted_seed_resumes_to_the_same_population(
    database_url: str, reference: str
) -> None:
    def stop_after_three_batches(done: int, total: int) -> None:
        if done >= len(generator.demo_batch().citizens) + 2 * BATCH:
            raise StopSeeding

    with pytest.raises(StopSeeding):
        seed_population(
            database_url, CITIZENS, SEED, batch_size=BATCH, progress=stop_after_three_batches
        )
    run = _run(database_url)
    assert (run.status, run.batches_done) == ("in_progress", 3)
    assert _citizens_stored(database_url) == 6 + 2 * BATCH

    result = seed_population(database_url, CITIZENS, SEED)
    assert (result.outcome, result.citizens_written) == ("resumed", CITIZENS - 6 - 2 * BATCH)
    assert _fingerprint(database_url) == reference


def test_a_seed_stopped_after_its_last_batch_resumes_to_the_same_population(
    database_url: str, reference: str
) -> None:
    # Stopped between the last batch's commit and the end: on SQLite the citizens are
    # still staged, and resuming moves them into ``citizen``.
    with pytest.raises(StopSeeding):
        seed_population(database_url, CITIZENS, SEED, batch_size=BATCH, progress=_stop_at(CITIZENS))
    run = _run(database_url)
    assert (run.status, run.batches_done) == ("in_progress", run.batches_total)
    assert _citizens_stored(database_url) == CITIZENS

    result = seed_population(database_url, CITIZENS, SEED)
    assert (result.outcome, result.citizens_written) == ("resumed", 0)
    assert _count(database_url, db.CITIZEN_TABLE) == CITIZENS
    assert _fingerprint(database_url) == reference
    assert seed_population(database_url, CITIZENS, SEED).outcome == "already_seeded"


def test_a_batch_that_fails_part_way_leaves_none_of_its_rows(database_url: str) -> None:
    with pytest.raises(StopSeeding):
        seed_population(
            database_url, CITIZENS, SEED, batch_size=BATCH, progress=_stop_at(6 + BATCH)
        )
    # Plant the last household of the next batch: that batch fails on the duplicate key
    # after writing its other households.
    planted = dict(
        zip(HOUSEHOLD_COLUMNS, generator.generate_batch(SEED, 1, BATCH).households[-1], strict=True)
    )
    engine = db.create_population_engine(database_url)
    with engine.begin() as connection:
        connection.execute(db.HOUSEHOLD_TABLE.insert(), [planted])
    engine.dispose()
    citizens, households = (
        _citizens_stored(database_url),
        _count(database_url, db.HOUSEHOLD_TABLE),
    )

    with pytest.raises(SeedingError, match="run the same seed command again") as caught:
        seed_population(database_url, CITIZENS, SEED)
    assert "\n" not in str(caught.value)
    assert _run(database_url).batches_done == 2
    assert _citizens_stored(database_url) == citizens
    assert _count(database_url, db.HOUSEHOLD_TABLE) == households

    _execute(database_url, "DELETE FROM household WHERE id = :id", {"id": planted["id"]})
    assert seed_population(database_url, CITIZENS, SEED).outcome == "resumed"
    assert _count(database_url, db.CITIZEN_TABLE) == CITIZENS


def _stop_at(citizens: int):  # type: ignore[no-untyped-def]
    def progress(done: int, total: int) -> None:
        if done >= citizens:
            raise StopSeeding

    return progress


KILL_CITIZENS = 20_000
KILL_BATCH = 500


@pytest.mark.parametrize("interruption", [signal.SIGKILL, signal.SIGINT], ids=["kill-9", "ctrl-c"])
@pytest.mark.parametrize(
    "backend", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
def test_a_seed_stopped_by_a_signal_resumes_to_the_same_population(
    backend: str, interruption: signal.Signals, tmp_path: Path
) -> None:
    with (
        empty_database(backend, tmp_path / "stopped") as stopped,
        empty_database(backend, tmp_path / "whole") as whole,
    ):
        command = [
            sys.executable, "-m", "population_db.cli", "seed",
            "--citizens", str(KILL_CITIZENS), "--seed", str(SEED),
            "--batch-size", str(KILL_BATCH), "--db", stopped,
        ]  # fmt: skip
        process = subprocess.Popen(
            command,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            env=_clean_env(),
        )
        try:
            _wait_for_batches(stopped, 4, process)
            process.send_signal(interruption)
            _, stderr = process.communicate(timeout=30)
        finally:
            process.kill()
            process.wait(timeout=30)
        if interruption == signal.SIGINT:
            assert process.returncode == 130
            assert stderr.strip().splitlines()[-1] == (
                "error: interrupted; run the same command again to resume"
            )
            assert "Traceback" not in stderr
        interrupted = _run(stopped)
        assert interrupted.status == "in_progress", "the seed finished before it was stopped"
        assert 4 <= interrupted.batches_done < interrupted.batches_total
        expected = 6 + (interrupted.batches_done - 1) * KILL_BATCH
        assert _citizens_stored(stopped) == expected

        assert seed_population(stopped, KILL_CITIZENS, SEED).outcome == "resumed"
        seed_population(whole, KILL_CITIZENS, SEED, batch_size=KILL_BATCH)
        assert _fingerprint(stopped) == _fingerprint(whole)


def _clean_env() -> dict[str, str]:
    return {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("NATID_") or k.startswith("NATID_TEST_")
    }


def _wait_for_batches(url: str, batches: int, process: subprocess.Popen) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert process.poll() is None, "the seed process ended on its own"
        try:
            if _run(url).batches_done >= batches:
                return
        except (db.PopulationDatabaseError, sa.exc.DBAPIError, IndexError):
            pass  # not created yet
        time.sleep(0.005)
    raise AssertionError("the seed made no progress")
