"""High-assurance registrations (PAR, DPoP, signed request objects, FAPI 2.0) and
DPoP-bound refresh tokens.

Four switches on ``oidc_client``, false for every existing client, and the thumbprint of
the key a refresh token is bound to.

Revision ID: 0003
Revises: 0002
Created: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from population_db.migrations.history import add_column_if_missing

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_CLIENT_SWITCHES = (
    "require_pushed_authorization_requests",
    "dpop_bound_access_tokens",
    "require_signed_request_object",
    "fapi2",
)


def upgrade() -> None:
    # Plain ADD COLUMN (no table rebuild, also on SQLite): existing rows get false.
    for name in _CLIENT_SWITCHES:
        add_column_if_missing(
            "oidc_client",
            sa.Column(name, sa.Boolean(), nullable=False, server_default=sa.false()),
        )
    add_column_if_missing("oidc_refresh_token", sa.Column("dpop_jkt", sa.String(length=64)))


def downgrade() -> None:
    with op.batch_alter_table("oidc_refresh_token") as batch:
        batch.drop_column("dpop_jkt")
    with op.batch_alter_table("oidc_client") as batch:
        for name in reversed(_CLIENT_SWITCHES):
            batch.drop_column(name)
