"""Baseline: the identity tables as they were when migrations were introduced.

Accounts, signing keys, relying parties (clients), consents and the audit log. A
database made before migrations existed already holds some or all of these tables
(``create_all`` made them from the same models): the baseline creates only what is
missing, so ``natid db upgrade`` adopts such a database instead of failing on it.

Revision ID: 0001
Revises:
Created: 2025-07-20
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from population_db.migrations.history import create_index_if_missing, create_table_if_missing

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TIMESTAMP = sa.DateTime(timezone=True)


def upgrade() -> None:
    create_table_if_missing(
        "account",
        sa.Column("personal_id_number", sa.String(length=12), nullable=False),
        sa.Column("password_hash", sa.String(), nullable=False),
        sa.Column("level", sa.Integer(), nullable=False),
        sa.Column("totp_secret", sa.String(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("load_test", sa.Boolean(), nullable=False),
        sa.Column("created_at", _TIMESTAMP, nullable=False),
        sa.Column("password_changed_at", _TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("personal_id_number"),
    )
    create_table_if_missing(
        "audit_entry",
        sa.Column("seq", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("occurred_at", _TIMESTAMP, nullable=False),
        sa.Column("event", sa.String(length=64), nullable=False),
        sa.Column("actor", sa.String(length=64), nullable=True),
        sa.Column("client_id", sa.String(length=255), nullable=True),
        sa.Column("level", sa.Integer(), nullable=True),
        sa.Column("details", sa.Text(), nullable=False),
        sa.Column("prev_hash", sa.String(length=64), nullable=False),
        sa.Column("entry_hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("seq"),
    )
    create_index_if_missing("ix_audit_entry_actor", "audit_entry", ["actor"])
    create_index_if_missing("ix_audit_entry_event", "audit_entry", ["event"])
    create_table_if_missing(
        "audit_head",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("entry_hash", sa.String(length=64), nullable=False),
        sa.Column("mac", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    create_table_if_missing(
        "oidc_client",
        sa.Column("client_id", sa.String(length=128), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("client_secret_hash", sa.String(), nullable=True),
        sa.Column("redirect_uris", sa.JSON(), nullable=False),
        sa.Column("post_logout_redirect_uris", sa.JSON(), nullable=False),
        sa.Column("backchannel_logout_uri", sa.String(), nullable=True),
        sa.Column("backchannel_logout_session_required", sa.Boolean(), nullable=False),
        sa.Column("scopes", sa.JSON(), nullable=False),
        sa.Column("grant_types", sa.JSON(), nullable=False),
        sa.Column("token_endpoint_auth_method", sa.String(length=32), nullable=False),
        sa.Column("jwks", sa.JSON(), nullable=True),
        sa.Column("id_token_signed_response_alg", sa.String(length=16), nullable=False),
        sa.Column("min_level", sa.Integer(), nullable=False),
        sa.Column("sector_identifier", sa.String(), nullable=False),
        sa.Column("created_at", _TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("client_id"),
    )
    create_table_if_missing(
        "oidc_consent",
        sa.Column("personal_id_number", sa.String(length=12), nullable=False),
        sa.Column("client_id", sa.String(length=128), nullable=False),
        sa.Column("scopes", sa.JSON(), nullable=False),
        sa.Column("granted_at", _TIMESTAMP, nullable=False),
        sa.Column("updated_at", _TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("personal_id_number", "client_id"),
    )
    create_table_if_missing(
        "signing_key",
        sa.Column("kid", sa.String(length=64), nullable=False),
        sa.Column("alg", sa.String(length=16), nullable=False),
        sa.Column("public_jwk", sa.String(), nullable=False),
        sa.Column("private_pem", sa.String(), nullable=True),
        sa.Column("created_at", _TIMESTAMP, nullable=False),
        sa.Column("activated_at", _TIMESTAMP, nullable=False),
        sa.Column("retire_at", _TIMESTAMP, nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.PrimaryKeyConstraint("kid"),
    )
    create_index_if_missing("ix_signing_key_status", "signing_key", ["status"])
    # At most one active key per algorithm, enforced by the database.
    active_only = sa.text("status = 'active'")
    create_index_if_missing(
        "uq_signing_key_active_alg",
        "signing_key",
        ["alg"],
        unique=True,
        sqlite_where=active_only,
        postgresql_where=active_only,
    )


def downgrade() -> None:
    op.drop_index("uq_signing_key_active_alg", table_name="signing_key")
    op.drop_index("ix_signing_key_status", table_name="signing_key")
    op.drop_index("ix_audit_entry_event", table_name="audit_entry")
    op.drop_index("ix_audit_entry_actor", table_name="audit_entry")
    for name in ("signing_key", "oidc_consent", "oidc_client", "audit_head", "audit_entry"):
        op.drop_table(name)
    op.drop_table("account")
