"""Identity schema migrations: the models and the migrated schema agree, and the startup
policy (migrate an empty database, refuse an out-of-date one) holds on each backend."""

from __future__ import annotations

import shutil
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
import typer
from sqlalchemy import Engine
from typer.testing import CliRunner

from identity_service.app import create_app
from identity_service.cli import db as db_cli
from identity_service.cli import serve as serve_module
from identity_service.config import IdentitySettings
from identity_service.db import (
    IdentitySchemaError,
    create_identity_engine,
    create_identity_schema,
)
from identity_service.migrations import IDENTITY_HISTORY, IDENTITY_VERSION_TABLE
from population_db import db as population_db
from population_db.migrations import POPULATION_HISTORY
from population_db.migrations.history import SchemaHistory, SchemaState
from tests.population_db.conftest import private_postgres_database

BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
HOW_TO_ADD_A_REVISION = (
    "the identity models and the migrations differ. Every table or column change needs a "
    "revision: run `natid db revision -m 'what changed'` (or `.venv/bin/python -c \"from "
    "identity_service.cli.db import app; app()\" revision -m 'what changed'`), review the "
    "file it writes in identity_service/migrations/versions/, and commit it with the model."
)
runner = CliRunner()


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'identity.db'}"
        return
    with private_postgres_database() as url:
        yield url


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    created = create_identity_engine(database_url)
    yield created
    created.dispose()


def _describe(differences: list[object]) -> str:
    return "\n".join(f"  - {difference}" for difference in differences)


def _set_version(engine: Engine, revision: str) -> None:
    with engine.begin() as connection:
        connection.execute(
            sa.text(f"UPDATE {IDENTITY_VERSION_TABLE} SET version_num = :revision"),
            {"revision": revision},
        )


def test_the_migrated_schema_matches_the_models(engine: Engine) -> None:
    IDENTITY_HISTORY.upgrade(engine)
    differences = IDENTITY_HISTORY.differences(engine)
    assert not differences, f"{HOW_TO_ADD_A_REVISION}\nDifferences:\n{_describe(differences)}"


def test_every_revision_downgrades_and_upgrades_again(engine: Engine) -> None:
    IDENTITY_HISTORY.upgrade(engine)
    IDENTITY_HISTORY.downgrade(engine, "base")
    left = set(sa.inspect(engine).get_table_names()) - {IDENTITY_VERSION_TABLE}
    IDENTITY_HISTORY.upgrade(engine)
    assert left == set()
    assert IDENTITY_HISTORY.status(engine).state is SchemaState.CURRENT
    assert not IDENTITY_HISTORY.differences(engine)


def test_an_empty_database_is_migrated_at_start(engine: Engine) -> None:
    assert IDENTITY_HISTORY.status(engine).state is SchemaState.EMPTY
    create_identity_schema(engine)
    create_identity_schema(engine)  # a current database is left as it is
    status = IDENTITY_HISTORY.status(engine)
    assert (status.state, status.current) == (SchemaState.CURRENT, IDENTITY_HISTORY.head())


def test_an_out_of_date_database_is_refused_with_what_to_run(engine: Engine) -> None:
    IDENTITY_HISTORY.upgrade(engine, IDENTITY_HISTORY.revisions()[0])
    with pytest.raises(IdentitySchemaError) as refused:
        create_identity_schema(engine)
    message = str(refused.value)
    assert "out of date" in message and message.endswith("run: natid db upgrade")
    assert "\n" not in message


def test_a_database_from_a_newer_release_is_refused(engine: Engine) -> None:
    IDENTITY_HISTORY.upgrade(engine)
    _set_version(engine, "9999")
    with pytest.raises(IdentitySchemaError, match="does not know"):
        create_identity_schema(engine)


def test_a_database_made_before_migrations_is_refused_then_adopted(engine: Engine) -> None:
    metadata = IDENTITY_HISTORY.metadata()
    metadata.create_all(engine)  # how every identity database was made before
    with engine.begin() as connection:
        connection.execute(
            metadata.tables["audit_head"].insert().values(id=1, seq=0, entry_hash="0", mac="0")
        )
    with pytest.raises(IdentitySchemaError, match="not versioned; run: natid db upgrade"):
        create_identity_schema(engine)

    IDENTITY_HISTORY.upgrade(engine)

    create_identity_schema(engine)
    assert not IDENTITY_HISTORY.differences(engine)
    with engine.connect() as connection:  # nothing of the old data was touched
        rows = connection.execute(sa.select(metadata.tables["audit_head"])).all()
    assert [tuple(row) for row in rows] == [(1, 0, "0", "0")]


def test_processes_starting_together_on_an_empty_database_all_succeed(database_url: str) -> None:
    # On SQLite, several fresh files: connections opening a new file at the same moment
    # failed about one start in five ("database is locked" switching it to WAL).
    if database_url.startswith("sqlite"):
        for round_number in range(6):
            _start_together(database_url.replace("identity.db", f"identity-{round_number}.db"))
    else:
        _start_together(database_url)


def _start_together(database_url: str) -> None:
    errors: list[BaseException] = []
    barrier = threading.Barrier(4)

    def start() -> None:
        engine = create_identity_engine(database_url)
        try:
            barrier.wait()
            create_identity_schema(engine)
        except BaseException as error:  # reported below, with the others
            errors.append(error)
        finally:
            engine.dispose()

    threads = [threading.Thread(target=start) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    engine = create_identity_engine(database_url)
    try:
        assert IDENTITY_HISTORY.status(engine).state is SchemaState.CURRENT
    finally:
        engine.dispose()


def test_both_histories_share_one_database_without_seeing_each_other(database_url: str) -> None:
    identity = create_identity_engine(database_url)
    try:
        if identity.dialect.name == "sqlite":
            population = population_db.create_population_engine(database_url, create=True)
        else:
            population = population_db.create_population_engine(database_url)
        population_db.create_population_schema(population)
        population.dispose()
        assert IDENTITY_HISTORY.status(identity).state is SchemaState.EMPTY
        create_identity_schema(identity)
        assert IDENTITY_HISTORY.differences(identity) == []
        assert POPULATION_HISTORY.differences(identity) == []
        assert POPULATION_HISTORY.status(identity).state is SchemaState.CURRENT
    finally:
        identity.dispose()


def test_create_app_refuses_an_out_of_date_database(tmp_path: Path) -> None:
    engine = create_identity_engine(f"sqlite:///{tmp_path / 'identity.db'}")
    IDENTITY_HISTORY.upgrade(engine, IDENTITY_HISTORY.revisions()[0])
    engine.dispose()
    settings = IdentitySettings(data_dir=tmp_path, secret_key="s", key_passphrase="p")
    with pytest.raises(IdentitySchemaError, match="run: natid db upgrade"):
        create_app(settings)


# -- writing a revision --------------------------------------------------------------------


def test_a_new_revision_is_written_from_the_models_and_then_agrees(tmp_path: Path) -> None:
    scripts = tmp_path / "migrations"
    shutil.copytree(
        IDENTITY_HISTORY.script_location,
        scripts,
        ignore=shutil.ignore_patterns("__pycache__", "__init__.py"),
    )

    def models_with_a_new_column() -> sa.MetaData:
        metadata = sa.MetaData()
        for table in IDENTITY_HISTORY.metadata().tables.values():
            table.to_metadata(metadata)
        metadata.tables["account"].append_column(sa.Column("nickname", sa.String(40)))
        return metadata

    history = SchemaHistory(
        name="identity-under-test",
        script_location=scripts,
        version_table=IDENTITY_VERSION_TABLE,
        metadata=models_with_a_new_column,
        foreign_table=IDENTITY_HISTORY.foreign_table,
    )
    written = history.new_revision("account nickname")

    assert written.parent == scripts / "versions"
    assert written.name.startswith(f"{len(IDENTITY_HISTORY.revisions()) + 1:04d}_")
    assert "nickname" in written.read_text()
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'identity.db'}")
    try:
        history.upgrade(engine)
        assert history.differences(engine) == []
        assert "nickname" in {c["name"] for c in sa.inspect(engine).get_columns("account")}
    finally:
        engine.dispose()


# -- natid db and natid serve --------------------------------------------------------------


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, clean_natid_environ: None) -> Path:
    monkeypatch.setenv("NATID_DATA_DIR", str(tmp_path / "var"))
    return tmp_path / "var"


def test_natid_db_upgrade_then_current(data_dir: Path) -> None:
    before = runner.invoke(db_cli.app, ["current", "--identity"])
    upgraded = runner.invoke(db_cli.app, ["upgrade"])
    again = runner.invoke(db_cli.app, ["upgrade", "--identity"])
    after = runner.invoke(db_cli.app, ["current"])

    assert before.exit_code == 0 and "does not exist yet" in before.stdout
    assert upgraded.exit_code == 0, upgraded.output
    head = IDENTITY_HISTORY.head()
    assert f"identity.db: upgraded to revision {head} (new schema)" in upgraded.stdout
    assert "population.db: does not exist yet (natid population seed creates it)" in (
        upgraded.stdout
    )
    assert f"already at revision {head} (current)" in again.stdout
    assert after.exit_code == 0 and f"identity.db: revision {head} (current)" in after.stdout


def test_natid_db_current_fails_for_an_out_of_date_database(data_dir: Path) -> None:
    engine = create_identity_engine(f"sqlite:///{data_dir / 'identity.db'}")
    IDENTITY_HISTORY.upgrade(engine, IDENTITY_HISTORY.revisions()[0])
    engine.dispose()

    behind = runner.invoke(db_cli.app, ["current", "--identity"])
    upgraded = runner.invoke(db_cli.app, ["upgrade", "--identity"])

    assert behind.exit_code == 1 and "run: natid db upgrade" in behind.stdout
    first = IDENTITY_HISTORY.revisions()[0]
    assert f"from revision {first}" in upgraded.stdout


def test_natid_serve_refuses_an_out_of_date_database_in_one_line(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    population = population_db.create_population_engine(
        f"sqlite:///{data_dir / 'population.db'}", create=True
    )
    population_db.create_population_schema(population)
    population.dispose()
    engine = create_identity_engine(f"sqlite:///{data_dir / 'identity.db'}")
    IDENTITY_HISTORY.upgrade(engine, IDENTITY_HISTORY.revisions()[0])
    engine.dispose()
    monkeypatch.setattr(serve_module.uvicorn, "run", lambda *a, **k: pytest.fail("started"))
    command = typer.Typer()
    command.command()(serve_module.serve)

    result = runner.invoke(command, [])

    assert result.exit_code == 1
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].endswith("run: natid db upgrade"), result.output
