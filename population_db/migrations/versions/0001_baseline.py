"""Baseline: the population tables as they were when migrations were introduced.

A database made before migrations existed already holds some or all of these tables
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


def upgrade() -> None:
    create_table_if_missing(
        "admin_unit",
        sa.Column("code", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("admin_centre", sa.String(), nullable=False),
        sa.PrimaryKeyConstraint("code"),
    )
    create_table_if_missing(
        "province",
        sa.Column("code", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("region", sa.String(), nullable=False),
        sa.Column("unit_code", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["unit_code"], ["admin_unit.code"]),
        sa.PrimaryKeyConstraint("code"),
    )
    create_table_if_missing(
        "household",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("head_id_number", sa.String(length=12), nullable=False),
        sa.Column("unit_code", sa.Integer(), nullable=False),
        sa.Column("address_line", sa.String(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    create_table_if_missing(
        "citizen",
        sa.Column("personal_id_number", sa.String(length=12), nullable=False),
        sa.Column("family_name", sa.String(), nullable=False),
        sa.Column("middle_name", sa.String(), nullable=True),
        sa.Column("given_name", sa.String(), nullable=False),
        sa.Column("full_name", sa.String(), nullable=False),
        sa.Column("alias", sa.String(), nullable=True),
        sa.Column("birth_date", sa.Date(), nullable=False),
        sa.Column("gender", sa.String(), nullable=False),
        sa.Column("birth_place_province_code", sa.Integer(), nullable=False),
        sa.Column("birth_registration_province_code", sa.Integer(), nullable=False),
        sa.Column("hometown_province_code", sa.Integer(), nullable=False),
        sa.Column("ethnicity_code", sa.Integer(), nullable=False),
        sa.Column("religion_code", sa.Integer(), nullable=False),
        sa.Column("nationality", sa.String(length=2), nullable=False),
        sa.Column("blood_type", sa.String(), nullable=True),
        sa.Column("old_id_number", sa.String(), nullable=True),
        sa.Column("permanent_unit_code", sa.Integer(), nullable=False),
        sa.Column("permanent_address", sa.String(), nullable=False),
        sa.Column("temporary_unit_code", sa.Integer(), nullable=True),
        sa.Column("temporary_address", sa.String(), nullable=True),
        sa.Column("current_unit_code", sa.Integer(), nullable=False),
        sa.Column("marital_status", sa.String(), nullable=False),
        sa.Column("household_id", sa.Integer(), nullable=True),
        sa.Column("relation_to_head", sa.String(), nullable=True),
        sa.Column("father_id_number", sa.String(), nullable=True),
        sa.Column("mother_id_number", sa.String(), nullable=True),
        sa.Column("spouse_id_number", sa.String(), nullable=True),
        sa.Column("phone", sa.String(), nullable=True),
        sa.Column("email", sa.String(), nullable=True),
        sa.Column("date_of_death", sa.Date(), nullable=True),
        sa.PrimaryKeyConstraint("personal_id_number"),
    )
    # The bulk loader drops and rebuilds these two around a large load.
    create_index_if_missing("ix_citizen_birth_date", "citizen", ["birth_date"])
    create_index_if_missing("ix_citizen_household_id", "citizen", ["household_id"])
    create_table_if_missing(
        "seed_run",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("seed", sa.Integer(), nullable=False),
        sa.Column("citizens_target", sa.Integer(), nullable=False),
        sa.Column("batch_size", sa.Integer(), nullable=False),
        sa.Column("batches_total", sa.Integer(), nullable=False),
        sa.Column("batches_done", sa.Integer(), nullable=False),
        sa.Column("generator_version", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )


def downgrade() -> None:
    op.drop_index("ix_citizen_household_id", table_name="citizen")
    op.drop_index("ix_citizen_birth_date", table_name="citizen")
    for name in ("seed_run", "citizen", "household", "province", "admin_unit"):
        op.drop_table(name)
