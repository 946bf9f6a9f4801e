"""Population schema migrations: the models and the migrated schema agree on each backend,
seeding migrates a new database, and readers refuse an out-of-date or unversioned one."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from sqlalchemy import Engine

from population_db import db
from population_db.loader import seed_population
from population_db.migrations import POPULATION_HISTORY, POPULATION_VERSION_TABLE
from population_db.migrations.history import SchemaState
from population_db.registry import PopulationRegistry

HOW_TO_ADD_A_REVISION = (
    "the population models and the migrations differ. Every table or column change needs "
    "a revision: run `natid db revision --population -m 'what changed'`, review the file it "
    "writes in population_db/migrations/versions/, and commit it with the model."
)


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    created = db.create_population_engine(database_url, create=True)
    yield created
    created.dispose()


def _version_of(engine: Engine) -> list[str]:
    with engine.connect() as connection:
        return list(
            connection.execute(sa.text(f"SELECT version_num FROM {POPULATION_VERSION_TABLE}"))
            .scalars()
            .all()
        )


def test_the_migrated_schema_matches_the_models(engine: Engine) -> None:
    POPULATION_HISTORY.upgrade(engine)
    differences = POPULATION_HISTORY.differences(engine)
    listed = "\n".join(f"  - {difference}" for difference in differences)
    assert not differences, f"{HOW_TO_ADD_A_REVISION}\nDifferences:\n{listed}"


def test_every_revision_downgrades_and_upgrades_again(engine: Engine) -> None:
    POPULATION_HISTORY.upgrade(engine)
    POPULATION_HISTORY.downgrade(engine, "base")
    assert not db.has_population_schema(engine)
    POPULATION_HISTORY.upgrade(engine)
    assert POPULATION_HISTORY.differences(engine) == []


def test_seeding_migrates_a_new_database_and_force_starts_the_history_over(
    database_url: str, engine: Engine
) -> None:
    seed_population(database_url, 60, seed=5)
    assert _version_of(engine) == [POPULATION_HISTORY.head()]
    db.drop_population_data(engine)
    assert not sa.inspect(engine).has_table(POPULATION_VERSION_TABLE)
    seed_population(database_url, 60, seed=6, force=True)
    assert POPULATION_HISTORY.status(engine).state is SchemaState.CURRENT
    PopulationRegistry.from_url(database_url).close()


def test_a_population_made_before_migrations_is_refused_until_upgraded(
    database_url: str, engine: Engine
) -> None:
    seed_population(database_url, 60, seed=5)
    with engine.begin() as connection:  # what a database seeded before migrations lacks
        connection.exec_driver_sql(f"DROP TABLE {POPULATION_VERSION_TABLE}")

    with pytest.raises(db.PopulationSchemaError, match="not versioned; run: natid db upgrade"):
        PopulationRegistry.from_url(database_url)
    with pytest.raises(db.PopulationSchemaError, match="run: natid db upgrade"):
        seed_population(database_url, 60, seed=5)

    POPULATION_HISTORY.upgrade(engine)

    registry = PopulationRegistry.from_url(database_url)
    try:
        assert registry.statistics().total == 60  # the citizens are all still there
    finally:
        registry.close()
    assert POPULATION_HISTORY.differences(engine) == []


def test_a_population_from_a_newer_release_is_refused_for_reading(
    database_url: str, engine: Engine
) -> None:
    seed_population(database_url, 60, seed=5)
    with engine.begin() as connection:
        connection.execute(sa.text(f"UPDATE {POPULATION_VERSION_TABLE} SET version_num = '9999'"))
    with pytest.raises(db.PopulationSchemaError, match="does not know") as refused:
        PopulationRegistry.from_url(database_url)
    assert "\n" not in str(refused.value)
