"""The ``natid population`` commands: seed, stats, show and export.

Owns the command line of the population database and the JSON shape of a citizen
(``citizen_json``; field names in ``JSON_FIELDS``). Every command takes ``--db URL``;
without it the configured database is used (``PopulationSettings().database_url()``, built
when the command runs). Bad input ends in a one-line ``error: ...`` on stderr and exit
code 1, never a traceback.
"""

from __future__ import annotations

import datetime as dt
import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path
from typing import Annotated, Any, NoReturn, TextIO

import sqlalchemy as sa
import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    Progress,
    ProgressColumn,
    Task,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table
from rich.text import Text

from population_db import db, loader
from population_db.config import PopulationSettings
from population_db.identifiers import InvalidIdNumberError, PersonalIdNumber
from population_db.models import CITIZEN_COLUMNS
from population_db.registry import CitizenRecord, PopulationRegistry
from population_db.seeds import read_csv
from population_db.units import province_by_code, unit_by_code

DEFAULT_SEED = 1
EXPORT_CHUNK_ROWS = 5_000

#: Readable names added after the code they explain (``null`` for an unknown code).
DERIVED_NAME_FIELDS: dict[str, str] = {
    "birth_place_province_code": "birth_place_province_name",
    "birth_registration_province_code": "birth_registration_province_name",
    "hometown_province_code": "hometown_province_name",
    "ethnicity_code": "ethnicity_name",
    "religion_code": "religion_name",
    "permanent_unit_code": "permanent_unit_name",
    "temporary_unit_code": "temporary_unit_name",
    "current_unit_code": "current_unit_name",
}

#: The fields of one citizen in ``export --jsonl`` and ``show --json``, in order: every
#: ``CitizenRecord`` field (dates ISO 8601 ``YYYY-MM-DD`` or null, gender ``male``/``female``)
#: with the readable name of each code right after it.
JSON_FIELDS: tuple[str, ...] = tuple(
    name
    for column in CITIZEN_COLUMNS
    for name in (column, DERIVED_NAME_FIELDS.get(column))
    if name is not None
)

DbOption = Annotated[
    str | None,
    typer.Option("--db", help="Database URL (sqlite:///PATH or postgresql://...). "
                 "Default: population.db in NATID_DATA_DIR, or NATID_POPULATION_DB_URL."),
]  # fmt: skip

app = typer.Typer(
    help="The mock national population database.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def fail(message: str, code: int = 1) -> NoReturn:
    """Print a one-line error on stderr and exit with status ``code``."""
    Console(stderr=True, highlight=False, soft_wrap=True).print(f"error: {message}", markup=False)
    raise typer.Exit(code)


@contextmanager
def _errors_as_messages() -> Iterator[None]:
    try:
        yield
    except (db.PopulationDatabaseError, loader.InvalidSeedParametersError) as error:
        fail(str(error))
    except sa.exc.DBAPIError as error:
        fail(f"database error: {db.error_summary(error)}")


def _url(database: str | None) -> str:
    return database or PopulationSettings().database_url()


@app.command()
def seed(
    citizens: Annotated[int, typer.Option("--citizens", "-n", help="Size of the population.")],
    seed: Annotated[int, typer.Option(help="Random seed: same seed, same population.")] = (
        DEFAULT_SEED
    ),
    database: DbOption = None,
    batch_size: Annotated[
        int | None, typer.Option(help="Citizens per batch (default: the generator's).")
    ] = None,
    force: Annotated[
        bool, typer.Option("--force", help="Drop the population tables first and start over.")
    ] = False,
) -> None:
    """Create a synthetic population (resumes an interrupted seed with the same parameters)."""
    progress = _SeedProgress()
    try:
        with _errors_as_messages():
            result = loader.seed_population(
                _url(database), citizens, seed, batch_size, progress=progress, force=force
            )
    except KeyboardInterrupt:
        progress.stop()
        fail("interrupted; run the same command again to resume", code=130)
    finally:
        progress.stop()
    console = Console(highlight=False, soft_wrap=True)
    if result.outcome == "already_seeded":
        console.print(
            f"Already seeded: {result.citizens:,} citizens (seed {result.seed}) in "
            f"{result.database}; nothing to do."
        )
        return
    verb = "Resumed and finished" if result.outcome == "resumed" else "Seeded"
    console.print(
        f"{verb}: {result.citizens_written:,} citizens written (of {result.citizens:,}, "
        f"seed {result.seed}) into {result.database} in {result.seconds:.1f} s "
        f"({result.citizens_per_second:,.0f} citizens/s)."
    )


class _RowsPerSecondColumn(ProgressColumn):
    def render(self, task: Task) -> Text:
        speed = task.finished_speed or task.speed
        return Text(f"{speed:,.0f} rows/s" if speed else "", style="progress.data.speed")


class _SeedProgress:
    """A Rich progress bar on stderr, shown from the first committed batch on."""

    def __init__(self) -> None:
        self._progress = Progress(
            TextColumn("Seeding"),
            BarColumn(),
            TextColumn("{task.completed:,.0f}/{task.total:,.0f}"),
            _RowsPerSecondColumn(),
            TimeElapsedColumn(),
            console=Console(stderr=True),
        )
        self._task: TaskID | None = None

    def __call__(self, done: int, total: int) -> None:
        if self._task is None:
            self._progress.start()
            # Resumed citizens are not counted in the speed: start the bar at them.
            self._task = self._progress.add_task("seed", total=total, completed=done)
        self._progress.update(self._task, completed=done, total=total)

    def stop(self) -> None:
        if self._task is not None:
            self._progress.stop()
            self._task = None


@contextmanager
def _registry(database: str | None) -> Iterator[PopulationRegistry]:
    with _errors_as_messages():
        registry = PopulationRegistry.from_url(_url(database))
        try:
            yield registry
        finally:
            registry.close()


@app.command()
def stats(
    database: DbOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of tables.")] = False,
) -> None:
    """Population statistics: totals, sexes, age groups, units, households, surnames."""
    with _registry(database) as registry:
        statistics = registry.statistics()
    if as_json:
        payload = dict(vars(statistics))
        payload["as_of"] = statistics.as_of.isoformat()
        payload["top_surnames"] = [
            {"family_name": name, "citizens": count} for name, count in statistics.top_surnames
        ]
        typer.echo(json.dumps(payload, ensure_ascii=False, indent=2))
        return
    console = Console()
    overview = Table(title=f"Population as of {statistics.as_of.isoformat()}")
    overview.add_column("measure")
    overview.add_column("value", justify="right")
    for label, value in (
        ("citizens", f"{statistics.total:,}"),
        ("alive", f"{statistics.alive:,}"),
        ("deceased", f"{statistics.deceased:,}"),
        ("male", f"{statistics.male:,}"),
        ("female", f"{statistics.female:,}"),
        *((f"aged {group} (alive)", f"{n:,}") for group, n in statistics.age_groups.items()),
        ("households", f"{statistics.households:,}"),
        ("mean household size", f"{statistics.mean_household_size:.2f}"),
    ):
        overview.add_row(label, value)
    console.print(overview)
    console.print(
        _count_table("Living citizens by current unit", "unit", statistics.by_current_unit)
    )
    console.print(_count_table("Top family names", "family name", dict(statistics.top_surnames)))


def _count_table(title: str, label: str, counts: dict[str, int]) -> Table:
    total = sum(counts.values()) or 1
    table = Table(title=title)
    table.add_column(label)
    table.add_column("citizens", justify="right")
    table.add_column("share", justify="right")
    for name, count in counts.items():
        table.add_row(name, f"{count:,}", f"{100 * count / total:.1f}%")
    return table


@app.command()
def show(
    personal_id_number: Annotated[str, typer.Argument(help="The 12-digit ID number.")],
    database: DbOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """One citizen by personal identification number."""
    try:
        number = PersonalIdNumber.parse(personal_id_number)
    except InvalidIdNumberError as error:
        fail(f"invalid ID number: {error}")
    with _registry(database) as registry:
        record = registry.get(number.value)
    if record is None:
        fail(f"no citizen with ID number {number.masked()}")
    fields = citizen_json(record)
    if as_json:
        typer.echo(json.dumps(fields, ensure_ascii=False))
        return
    table = Table(title=record.full_name, show_header=False)
    table.add_column("field", style="bold")
    table.add_column("value")
    for name, value in fields.items():
        table.add_row(name, "" if value is None else str(value))
    Console().print(table)


@app.command()
def export(
    jsonl: Annotated[bool, typer.Option("--jsonl", help="JSON Lines: one citizen per line.")] = (
        False
    ),
    database: DbOption = None,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="File to write (default: stdout).")
    ] = None,
) -> None:
    """Every citizen, ordered by ID number, streamed (memory stays flat)."""
    if not jsonl:
        fail("choose an export format: --jsonl")
    with _registry(database) as registry:
        if output is None:
            _export_jsonl(registry, sys.stdout)
            return
        try:
            with output.open("w", encoding="utf-8") as handle:
                _export_jsonl(registry, handle)
        except OSError as error:
            fail(f"cannot write {output}: {error.strerror}")


def _export_jsonl(registry: PopulationRegistry, handle: TextIO) -> None:
    citizen = db.CITIZEN_TABLE
    query = sa.select(*(citizen.c[name] for name in CITIZEN_COLUMNS)).order_by(
        citizen.c.personal_id_number
    )
    with registry.engine.connect() as connection:
        result = connection.execution_options(yield_per=EXPORT_CHUNK_ROWS).execute(query)
        for rows in result.partitions():
            handle.write(
                "".join(
                    json.dumps(citizen_json(CitizenRecord(*row)), ensure_ascii=False) + "\n"
                    for row in rows
                )
            )


def citizen_json(record: CitizenRecord) -> dict[str, Any]:
    """The JSON object of one citizen: the ``JSON_FIELDS``, in that order."""
    names = _code_names()
    fields: dict[str, Any] = {}
    for column in CITIZEN_COLUMNS:
        value = getattr(record, column)
        fields[column] = value.isoformat() if isinstance(value, dt.date) else value
        derived = DERIVED_NAME_FIELDS.get(column)
        if derived is not None:
            fields[derived] = names[column].get(value)
    return fields


@cache
def _code_names() -> dict[str, dict[int, str]]:
    provinces = {code: province.name for code, province in province_by_code().items()}
    units = {code: unit.name for code, unit in unit_by_code().items()}
    ethnic_groups = {int(row["code"]): row["name"] for row in read_csv("ethnic_groups.csv")}
    religions = {int(row["code"]): row["name"] for row in read_csv("religions.csv")}
    return {
        "birth_place_province_code": provinces,
        "birth_registration_province_code": provinces,
        "hometown_province_code": provinces,
        "ethnicity_code": ethnic_groups,
        "religion_code": religions,
        "permanent_unit_code": units,
        "temporary_unit_code": units,
        "current_unit_code": units,
    }


if __name__ == "__main__":
    app()
