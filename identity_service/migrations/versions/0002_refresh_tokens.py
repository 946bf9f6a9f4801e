"""Refresh tokens: one row per issued token, stored hashed, grouped in rotation families.

Created only if missing, like the baseline: development databases made with
``create_all`` while refresh tokens were being built may hold the table already.

Revision ID: 0002
Revises: 0001
Created: 2025-07-20
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from population_db.migrations.history import create_index_if_missing, create_table_if_missing

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    create_table_if_missing(
        "oidc_refresh_token",
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("family_id", sa.String(length=64), nullable=False),
        sa.Column("client_id", sa.String(length=128), nullable=False),
        sa.Column("personal_id_number", sa.String(length=12), nullable=False),
        sa.Column("scopes", sa.JSON(), nullable=False),
        sa.Column("acr", sa.String(length=64), nullable=False),
        sa.Column("amr", sa.JSON(), nullable=False),
        sa.Column("auth_time", sa.Integer(), nullable=False),
        sa.Column("sid", sa.String(length=64), nullable=True),
        sa.Column("access_token_jti", sa.String(length=128), nullable=True),
        sa.Column("issued_at", sa.Integer(), nullable=False),
        sa.Column("expires_at", sa.Integer(), nullable=False),
        sa.Column("used_at", sa.Integer(), nullable=True),
        sa.Column("revoked_at", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("token_hash"),
    )
    create_index_if_missing(
        "ix_oidc_refresh_token_citizen_client",
        "oidc_refresh_token",
        ["personal_id_number", "client_id"],
    )
    create_index_if_missing("ix_oidc_refresh_token_family", "oidc_refresh_token", ["family_id"])


def downgrade() -> None:
    op.drop_index("ix_oidc_refresh_token_family", table_name="oidc_refresh_token")
    op.drop_index("ix_oidc_refresh_token_citizen_client", table_name="oidc_refresh_token")
    op.drop_table("oidc_refresh_token")
