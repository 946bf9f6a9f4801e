"""Alembic environment of the identity history: everything is in ``SchemaHistory``."""

from alembic import context

from identity_service.migrations import IDENTITY_HISTORY

IDENTITY_HISTORY.run_environment(context)
