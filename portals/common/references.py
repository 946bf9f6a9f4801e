"""A citizen's records filed under a short reference (applications, account openings).

Both the public-service portal and the bank file what a citizen submits under a random,
day-stamped reference and list or open it only for that citizen. This module owns the
shared part: inserting with a fresh reference (drawing again on the rare collision) and
the two per-citizen queries, where another citizen's reference looks like an unknown one.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, SQLModel, col, select

REFERENCE_ATTEMPTS = 5

Record = TypeVar("Record", bound=SQLModel)


def insert_with_fresh_reference(
    engine: Engine, make: Callable[[], Record], attempts: int = REFERENCE_ATTEMPTS
) -> Record:
    """Insert ``make()``; when its reference is already taken, make another and retry."""
    attempts_left = attempts
    while True:
        record = make()
        try:
            with Session(engine, expire_on_commit=False) as session:
                session.add(record)
                session.commit()
            return record
        except IntegrityError:
            # the same reference drawn twice on one day: draw again
            attempts_left -= 1
            if not attempts_left:
                raise


def list_for(engine: Engine, model: type[Record], subject: str) -> list[Record]:
    """This citizen's records, newest first."""
    table: Any = model
    with Session(engine) as session:
        query = (
            select(model).where(table.subject == subject).order_by(col(table.submitted_at).desc())
        )
        return list(session.exec(query))


def get_for(engine: Engine, model: type[Record], subject: str, reference: str) -> Record | None:
    """The record ``reference`` if it is this citizen's; None otherwise."""
    table: Any = model
    with Session(engine) as session:
        query = select(model).where(table.reference == reference, table.subject == subject)
        return session.exec(query).first()
