"""Alembic environment of the population history: everything is in ``SchemaHistory``.

The history that started the command passes itself in the config's attributes.
"""

from alembic import context

from population_db.migrations import POPULATION_HISTORY

context.config.attributes.get("history", POPULATION_HISTORY).run_environment(context)
