"""Alembic environment of the identity history: everything is in ``SchemaHistory``.

The history that started the command passes itself in the config's attributes.
"""

from alembic import context

from identity_service.migrations import IDENTITY_HISTORY

context.config.attributes.get("history", IDENTITY_HISTORY).run_environment(context)
