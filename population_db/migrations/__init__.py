"""Schema migrations of the population database (Alembic; scripts in ``versions/``).

Owns ``POPULATION_HISTORY``: the population tables' history, versioned in the table
``alembic_version_population`` so that it can share a PostgreSQL database with the
identity service's tables (which it never looks at).
"""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa

from population_db.migrations.history import SchemaHistory

POPULATION_VERSION_TABLE = "alembic_version_population"


def population_metadata() -> sa.MetaData:
    """The population tables alone (``SQLModel.metadata`` also holds the portals' tables)."""
    from population_db.db import POPULATION_TABLES

    metadata = sa.MetaData()
    for table in POPULATION_TABLES:
        table.to_metadata(metadata)
    return metadata


def _population_table_names() -> frozenset[str]:
    from population_db.db import POPULATION_TABLES

    return frozenset(table.name for table in POPULATION_TABLES)


POPULATION_HISTORY = SchemaHistory(
    name="population",
    script_location=Path(__file__).resolve().parent,
    version_table=POPULATION_VERSION_TABLE,
    metadata=population_metadata,
    # A shared database also holds the identity service's tables: not ours to compare.
    foreign_table=lambda name: name not in _population_table_names(),
)
