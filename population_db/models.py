"""The population database schema, modelled on the field groups of the Law on
Identification 2023 Art. 9 (DOMAIN.md §3).

Tables: ``province`` (63 pre-2025 units, ID-number codes), ``admin_unit`` (34 units since
1 July 2025), ``household``, ``citizen`` and ``seed_run`` (bookkeeping that makes seeding
resumable). Citizens reference each other (father, mother, spouse) by personal ID
number, as the real database records relatives by name and number.

``CITIZEN_COLUMNS`` and ``HOUSEHOLD_COLUMNS`` fix the column order the generator emits and
the bulk loader writes; they must list every column of their table.
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum

from sqlmodel import Field, SQLModel


class MaritalStatus(StrEnum):
    SINGLE = "single"
    MARRIED = "married"
    WIDOWED = "widowed"
    DIVORCED = "divorced"


class RelationToHead(StrEnum):
    HEAD = "head"
    SPOUSE = "spouse"
    CHILD = "child"
    PARENT = "parent"


class Province(SQLModel, table=True):
    __tablename__ = "province"

    code: int = Field(primary_key=True, description="ID-number province code, 1-96")
    name: str
    kind: str = Field(description="province or city")
    region: str
    unit_code: int = Field(foreign_key="admin_unit.code")


class AdminUnit(SQLModel, table=True):
    __tablename__ = "admin_unit"

    code: int = Field(primary_key=True)
    name: str
    kind: str
    admin_centre: str


class Household(SQLModel, table=True):
    __tablename__ = "household"

    id: int = Field(primary_key=True, description="residence file number")
    head_id_number: str = Field(max_length=12)
    unit_code: int = Field(description="current (2025) unit of the permanent residence")
    address_line: str


class Citizen(SQLModel, table=True):
    __tablename__ = "citizen"

    personal_id_number: str = Field(primary_key=True, max_length=12)
    family_name: str
    middle_name: str | None = None
    given_name: str
    full_name: str
    alias: str | None = None
    birth_date: dt.date = Field(index=True)
    gender: str = Field(description="male or female")
    birth_place_province_code: int
    birth_registration_province_code: int
    hometown_province_code: int
    ethnicity_code: int
    religion_code: int = Field(description="0 = none")
    nationality: str = Field(default="VN", max_length=2)
    blood_type: str | None = None
    old_id_number: str | None = Field(default=None, description="9-digit CMND, if any")
    permanent_unit_code: int
    permanent_address: str
    temporary_unit_code: int | None = None
    temporary_address: str | None = None
    current_unit_code: int
    marital_status: str
    household_id: int | None = Field(default=None, index=True)
    relation_to_head: str | None = None
    father_id_number: str | None = None
    mother_id_number: str | None = None
    spouse_id_number: str | None = None
    phone: str | None = None
    email: str | None = None
    date_of_death: dt.date | None = None


class SeedRun(SQLModel, table=True):
    """One seeding of this database; ``batches_done`` moves only with a committed batch."""

    __tablename__ = "seed_run"

    id: int = Field(primary_key=True)
    seed: int
    citizens_target: int
    batch_size: int
    batches_total: int
    batches_done: int = 0
    generator_version: int
    status: str = Field(description="in_progress or complete")
    started_at: dt.datetime
    finished_at: dt.datetime | None = None


CITIZEN_COLUMNS: tuple[str, ...] = tuple(Citizen.model_fields)
HOUSEHOLD_COLUMNS: tuple[str, ...] = tuple(Household.model_fields)
