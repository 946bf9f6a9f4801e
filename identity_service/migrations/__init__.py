"""Schema migrations of the identity database (Alembic; scripts in ``versions/``).

Owns ``IDENTITY_HISTORY``: the history of every ``IdentityBase`` table, versioned in the
table ``alembic_version_identity`` (the population tables may share the database and are
never compared), and ``load_identity_models``, which imports every module that defines an
identity table so that ``IdentityBase.metadata`` is complete.

A new table or column needs a revision: ``natid db revision -m "what changed"`` writes
one by comparing the models with the migrated schema (review it before committing).
"""

from __future__ import annotations

import importlib
from pathlib import Path

import sqlalchemy as sa

from population_db.migrations.history import SchemaHistory

IDENTITY_VERSION_TABLE = "alembic_version_identity"
_PACKAGE_DIR = Path(__file__).resolve().parents[1]
# How a module declares a table (``class Account(IdentityBase, table=True)``, or a
# subclass of an IdentityBase model); scanning for it finds a new table module without
# anyone having to list it here.
_TABLE_MARKER = "table=True"


def load_identity_models() -> sa.MetaData:
    """Import every module of ``identity_service`` that defines an identity table."""
    from identity_service.db import IdentityBase

    for path in sorted(_PACKAGE_DIR.rglob("*.py")):
        relative = path.relative_to(_PACKAGE_DIR)
        if relative.parts[0] == "migrations" or path.name == "db.py":
            continue
        if _TABLE_MARKER in path.read_text(encoding="utf-8"):
            parts = ("identity_service", *relative.with_suffix("").parts)
            importlib.import_module(".".join(p for p in parts if p != "__init__"))
    return IdentityBase.metadata


def _population_table_names() -> frozenset[str]:
    from population_db.db import POPULATION_TABLES

    return frozenset(table.name for table in POPULATION_TABLES)


IDENTITY_HISTORY = SchemaHistory(
    name="identity",
    script_location=Path(__file__).resolve().parent,
    version_table=IDENTITY_VERSION_TABLE,
    metadata=load_identity_models,
    # The population tables may live in the same PostgreSQL database.
    foreign_table=lambda name: name in _population_table_names(),
)
