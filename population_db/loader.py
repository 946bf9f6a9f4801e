"""The bulk loader: streams generated batches into the population database.

Owns ``seed_population``: batches come from ``population_db.generator`` (the demo batch
first), are generated in one worker process (``batch_stream``) while this process writes,
and each batch is committed in one transaction together with the ``seed_run`` row's
``batches_done``, so a seed interrupted at any point (Ctrl-C, ``kill -9``) leaves a
consistent database that the next run resumes. SQLite gets ``executemany``; PostgreSQL
gets ``COPY ... FROM STDIN`` with text the worker has already formatted.

On SQLite, citizens are staged in ``citizen_load``, a table without any index, and moved
into ``citizen`` in ID-number order once every batch is in. Inserting each batch straight
into ``citizen`` would scatter its ID numbers over the whole primary-key B-tree: once that
outgrows the page cache nearly every row dirties a random page, and the cost per citizen
grows with the population. The move appends to the B-tree in key order instead, and
commits together with dropping the staging table, so an interrupted move is redone.

Re-running on a database: complete with the same parameters → nothing to do; in progress
with the same seed, size and generator version → resume; anything else → refused with
``SeedConflictError`` (start over with ``force=True``, the CLI's ``--force``).
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from contextlib import closing
from dataclasses import dataclass
from typing import Literal

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from population_db import batch_stream, db, generator
from population_db.batch_stream import Payload
from population_db.models import CITIZEN_COLUMNS, HOUSEHOLD_COLUMNS

MAX_SEED = 2**31 - 1  # seed_run.seed is a 32-bit integer column
SQLITE_LOAD_CACHE_KIB = 32_768
SQLITE_LOAD_CHECKPOINT_PAGES = 16_384  # 64 MiB of WAL between checkpoints
_RUN_ID = 1  # one seeding per database

ProgressCallback = Callable[[int, int], None]
"""Called as ``progress(citizens_written, citizens_target)`` after each committed batch."""


class SeedConflictError(db.PopulationDatabaseError):
    """The database holds (part of) a different population; the message says how to start over."""


class InvalidSeedParametersError(ValueError):
    """The requested population size, seed or batch size is unusable."""


class SeedingError(db.PopulationDatabaseError):
    """Seeding stopped part-way (committed batches stay; running seed again resumes)."""


@dataclass(frozen=True)
class SeedResult:
    outcome: Literal["seeded", "resumed", "already_seeded"]
    database: str  # URL with any password hidden
    seed: int
    citizens: int  # citizens in the database when done
    citizens_written: int  # by this run
    batch_size: int
    seconds: float

    @property
    def citizens_per_second(self) -> float:
        return self.citizens_written / self.seconds if self.seconds > 0 else 0.0


@dataclass(frozen=True)
class _Plan:
    seed: int
    citizens: int
    batch_size: int
    sizes: tuple[int, ...]  # position 0 is the demo batch, position k the generated k - 1

    def citizens_before(self, position: int) -> int:
        return sum(self.sizes[:position])


def seed_population(
    url: str,
    citizens: int,
    seed: int,
    batch_size: int | None = None,
    progress: ProgressCallback | None = None,
    *,
    force: bool = False,
) -> SeedResult:
    """Seed (or resume seeding) ``citizens`` synthetic citizens from ``seed`` into ``url``.

    ``batch_size`` defaults to the generator's, or to the one an interrupted run used.
    ``force`` drops the population tables first. Raises ``InvalidSeedParametersError``,
    ``SeedConflictError`` or another ``PopulationDatabaseError``.
    """
    started = time.perf_counter()
    demo = generator.demo_batch()
    _check_parameters(citizens, seed, batch_size, demo_size=len(demo.citizens))
    engine = db.create_population_engine(url, create=True)
    try:
        if force:
            db.drop_population_data(engine)
        db.create_population_schema(engine)
        with engine.connect() as connection:
            with connection.begin():
                plan, done, outcome = _start_or_resume(connection, citizens, seed, batch_size, demo)
            if outcome == "already_seeded":
                return _result(outcome, engine, plan, 0, started)
            written = _load(engine, connection, plan, done, demo, progress)
            if engine.dialect.name == "sqlite":
                _move_staged_citizens(connection)
        db.create_secondary_indexes(engine)
        with engine.begin() as connection:
            connection.execute(
                sa.update(db.SEED_RUN_TABLE)
                .where(db.SEED_RUN_TABLE.c.id == _RUN_ID)
                .values(status="complete", finished_at=_now())
            )
        return _result(outcome, engine, plan, written, started)
    except batch_stream.WorkerDiedError as error:
        raise SeedingError(
            "the generator process died; run the same seed command again to resume"
        ) from error
    except (sa.exc.DBAPIError, engine.dialect.loaded_dbapi.Error) as error:
        # Batches are written through the driver's own cursor: its errors arrive unwrapped.
        raise SeedingError(
            f"seeding {db.display_url(engine.url)} stopped: {db.error_summary(error)}; "
            "run the same seed command again to resume"
        ) from error
    finally:
        engine.dispose()


def _check_parameters(citizens: int, seed: int, batch_size: int | None, demo_size: int) -> None:
    if citizens <= 0:
        raise InvalidSeedParametersError(f"the number of citizens must be positive, not {citizens}")
    if citizens < demo_size:
        raise InvalidSeedParametersError(
            f"every population includes the {demo_size} demo citizens; ask for at least {demo_size}"
        )
    if not 0 <= seed <= MAX_SEED:
        raise InvalidSeedParametersError(f"the seed must be between 0 and {MAX_SEED}, not {seed}")
    if batch_size is not None and batch_size <= 0:
        raise InvalidSeedParametersError(f"the batch size must be positive, not {batch_size}")
    try:  # the generator's own limits (largest batch, most batches)
        generator.plan_batches(citizens, batch_size or generator.BATCH_SIZE)
    except ValueError as error:
        raise InvalidSeedParametersError(str(error)) from error


def _start_or_resume(
    connection: Connection,
    citizens: int,
    seed: int,
    batch_size: int | None,
    demo: generator.PopulationBatch,
) -> tuple[_Plan, int, Literal["seeded", "resumed", "already_seeded"]]:
    run_table = db.SEED_RUN_TABLE
    run = connection.execute(sa.select(run_table).where(run_table.c.id == _RUN_ID)).first()
    if run is None:
        if connection.execute(sa.select(sa.func.count()).select_from(db.CITIZEN_TABLE)).scalar():
            raise SeedConflictError(
                f"{db.display_url(connection.engine.url)} holds citizens that no seed run "
                "recorded; to start over, run seed again with --force (drops the population "
                "tables)"
            )
        plan = _make_plan(citizens, seed, batch_size or generator.BATCH_SIZE, demo)
        # Building the secondary indexes once after the load beats updating them per row.
        for index in db.SECONDARY_INDEXES:
            index.drop(connection, checkfirst=True)
        _create_staging_table(connection)
        connection.execute(
            run_table.insert().values(
                id=_RUN_ID,
                seed=seed,
                citizens_target=citizens,
                batch_size=plan.batch_size,
                batches_total=len(plan.sizes),
                batches_done=0,
                generator_version=generator.GENERATOR_VERSION,
                status="in_progress",
                started_at=_now(),
            )
        )
        return plan, 0, "seeded"
    same = (
        run.seed == seed
        and run.citizens_target == citizens
        and run.generator_version == generator.GENERATOR_VERSION
        and batch_size in (None, run.batch_size)
    )
    if not same:
        raise SeedConflictError(
            f"{db.display_url(connection.engine.url)} {_describe_run(run)}, not with "
            f"--citizens {citizens} --seed {seed}"
            + (f" --batch-size {batch_size}" if batch_size is not None else "")
            + f" (generator version {generator.GENERATOR_VERSION}); to start over, run seed "
            "again with --force (drops the population tables)"
        )
    plan = _make_plan(citizens, seed, run.batch_size, demo)
    if run.status == "complete":
        return plan, run.batches_done, "already_seeded"
    if run.batches_done < len(plan.sizes):
        _create_staging_table(connection)  # a run that staged nothing yet may lack it
    return plan, run.batches_done, "resumed"


def _create_staging_table(connection: Connection) -> None:
    if connection.dialect.name != "sqlite":
        return
    # Columns without a type keep each value as bound; ``citizen``'s own column types
    # apply when the rows move, exactly as if they had been inserted there directly.
    connection.exec_driver_sql(
        f"CREATE TABLE IF NOT EXISTS {db.STAGING_TABLE} ({', '.join(CITIZEN_COLUMNS)})"
    )


def _move_staged_citizens(connection: Connection) -> None:
    """Move the staged citizens into ``citizen`` in key order; one transaction with the drop."""
    columns = ", ".join(CITIZEN_COLUMNS)
    with connection.begin():
        staged = connection.exec_driver_sql(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?",
            (db.STAGING_TABLE,),
        ).first()
        if staged is None:
            return  # moved by an earlier run that stopped before marking the seed complete
        connection.exec_driver_sql(
            f"INSERT INTO citizen ({columns}) SELECT {columns} FROM {db.STAGING_TABLE} "
            "ORDER BY personal_id_number"
        )
        connection.exec_driver_sql(f"DROP TABLE {db.STAGING_TABLE}")
    with connection.begin():
        # The move went through the WAL as one transaction: copy it out, give the space back.
        connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")


def _describe_run(run: sa.Row) -> str:
    state = "was seeded" if run.status == "complete" else "is part-way through seeding"
    return (
        f"{state} with --citizens {run.citizens_target} --seed {run.seed} "
        f"--batch-size {run.batch_size} (generator version {run.generator_version})"
    )


def _make_plan(citizens: int, seed: int, batch_size: int, demo: generator.PopulationBatch) -> _Plan:
    sizes = (len(demo.citizens), *generator.plan_batches(citizens, batch_size))
    return _Plan(seed=seed, citizens=citizens, batch_size=batch_size, sizes=sizes)


def _load(
    engine: Engine,
    connection: Connection,
    plan: _Plan,
    done: int,
    demo: generator.PopulationBatch,
    progress: ProgressCallback | None,
) -> int:
    postgres = engine.dialect.name == "postgresql"
    writer = _write_postgres if postgres else _write_sqlite
    if not postgres:
        # Fewer checkpoints copy each page to the database file fewer times; the page
        # cache also bounds the memory of the move's sort.
        with connection.begin():
            connection.exec_driver_sql(f"PRAGMA cache_size=-{SQLITE_LOAD_CACHE_KIB}")
            connection.exec_driver_sql(f"PRAGMA wal_autocheckpoint={SQLITE_LOAD_CHECKPOINT_PAGES}")
    written = 0
    citizens_done = plan.citizens_before(done)
    if progress:
        progress(citizens_done, plan.citizens)
    batches = batch_stream.stream_batches(plan.seed, plan.sizes, done, demo, postgres=postgres)
    with closing(batches) as payloads:
        for position, payload in payloads:
            count = _write_batch(connection, writer, position, payload)
            del payload  # before the next batch is unpickled: one batch of rows at a time
            written += count
            citizens_done += count
            if progress:
                progress(citizens_done, plan.citizens)
    return written


def _write_batch(
    connection: Connection,
    writer: Callable[[Connection, Payload], int],
    position: int,
    payload: Payload,
) -> int:
    """One transaction: the batch's rows and the run's progress commit together or not at all."""
    with connection.begin():
        try:
            count = writer(connection, payload)
        except BaseException as error:
            if not isinstance(error, Exception):
                # Ctrl-C in the middle of a COPY leaves the driver mid-command, where even
                # ROLLBACK fails: drop the connection instead (the server rolls back).
                connection.invalidate()
            raise
        updated = connection.execute(
            sa.update(db.SEED_RUN_TABLE)
            .where(db.SEED_RUN_TABLE.c.id == _RUN_ID)
            .where(db.SEED_RUN_TABLE.c.batches_done == position)
            .values(batches_done=position + 1)
        )
        if updated.rowcount != 1:
            raise SeedingError(
                "another seed of the same database is running; let it finish or stop it"
            )
    return count


# --- writers: one batch inside the caller's transaction -----------------------------------


def _insert_sql(table: str, columns: tuple[str, ...]) -> str:
    return f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"


_SQLITE_INSERT_HOUSEHOLD = _insert_sql("household", HOUSEHOLD_COLUMNS)
_SQLITE_INSERT_CITIZEN = _insert_sql(db.STAGING_TABLE, CITIZEN_COLUMNS)
_COPY_HOUSEHOLD = f"COPY household ({', '.join(HOUSEHOLD_COLUMNS)}) FROM STDIN"
_COPY_CITIZEN = f"COPY citizen ({', '.join(CITIZEN_COLUMNS)}) FROM STDIN"


def _write_sqlite(connection: Connection, payload: Payload) -> int:
    count, households, citizens = payload
    cursor = connection.connection.driver_connection.cursor()  # type: ignore[union-attr]
    try:
        if households:
            cursor.executemany(_SQLITE_INSERT_HOUSEHOLD, households)
        if citizens:
            cursor.executemany(_SQLITE_INSERT_CITIZEN, citizens)
    finally:
        cursor.close()
    return count


def _write_postgres(connection: Connection, payload: Payload) -> int:
    count, households, citizens = payload
    raw = connection.connection.driver_connection
    with raw.cursor() as cursor:  # type: ignore[union-attr]
        for statement, text in ((_COPY_HOUSEHOLD, households), (_COPY_CITIZEN, citizens)):
            if text:
                with cursor.copy(statement) as copy:
                    copy.write(text)
    return count


def _result(
    outcome: Literal["seeded", "resumed", "already_seeded"],
    engine: Engine,
    plan: _Plan,
    written: int,
    started: float,
) -> SeedResult:
    return SeedResult(
        outcome=outcome,
        database=db.display_url(engine.url),
        seed=plan.seed,
        citizens=plan.citizens,
        citizens_written=written,
        batch_size=plan.batch_size,
        seconds=time.perf_counter() - started,
    )


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)
