"""Consent: which scopes a citizen has agreed to release to which portal.

Owns the ``oidc_consent`` table (one row per citizen and client). A request whose scopes
are all already granted skips the consent page unless the client asks for
``prompt=consent``; granting adds the new scopes to what was granted before.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Field, Session

from identity_service.db import IdentityBase, read_row


class ConsentRecord(IdentityBase, table=True):
    __tablename__ = "oidc_consent"

    personal_id_number: str = Field(primary_key=True, max_length=12)
    client_id: str = Field(primary_key=True, max_length=128)
    scopes: list[str] = Field(default_factory=list, sa_type=sa.JSON)
    granted_at: datetime = Field(sa_type=sa.DateTime(timezone=True))
    updated_at: datetime = Field(sa_type=sa.DateTime(timezone=True))


_GRANTED_SQL = (
    "SELECT scopes FROM oidc_consent WHERE personal_id_number = :number AND client_id = :client"
)


class ConsentService:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def granted_scopes(self, personal_id_number: str, client_id: str) -> frozenset[str]:
        # Every login asks: a plain lookup, not an ORM ``get`` (several times its cost).
        row = read_row(
            self._engine,
            _GRANTED_SQL,
            {"number": personal_id_number, "client": client_id},
            "consent lookup",
        )
        if row is None:
            return frozenset()
        scopes = row[0]  # JSON: text from SQLite, already parsed by PostgreSQL's driver
        return frozenset(json.loads(scopes) if isinstance(scopes, str) else scopes)

    def covers(self, personal_id_number: str, client_id: str, scopes: Iterable[str]) -> bool:
        """Whether every scope in ``scopes`` was granted before."""
        return set(scopes) <= self.granted_scopes(personal_id_number, client_id)

    def grant(self, personal_id_number: str, client_id: str, scopes: Iterable[str]) -> None:
        """Remember ``scopes`` as granted (added to any earlier grant)."""
        wanted = list(dict.fromkeys(scopes))
        for attempt in range(2):  # a concurrent first grant may win the insert once
            now = datetime.now(UTC)
            with Session(self._engine) as session:
                record = session.get(ConsentRecord, (personal_id_number, client_id))
                if record is None:
                    record = ConsentRecord(
                        personal_id_number=personal_id_number,
                        client_id=client_id,
                        scopes=wanted,
                        granted_at=now,
                        updated_at=now,
                    )
                else:
                    merged = list(dict.fromkeys([*record.scopes, *wanted]))
                    if merged == record.scopes:
                        return
                    record.scopes = merged
                    record.updated_at = now
                session.add(record)
                try:
                    session.commit()
                    return
                except IntegrityError:
                    session.rollback()
                    if attempt:
                        raise
