"""Alembic environment of the population history: everything is in ``SchemaHistory``."""

from alembic import context

from population_db.migrations import POPULATION_HISTORY

POPULATION_HISTORY.run_environment(context)
