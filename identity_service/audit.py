"""The tamper-evident audit log: a hash chain of entries in the identity database.

Owns the tables ``audit_entry`` (one row per event) and ``audit_head`` (one row: the seq
and hash of the newest entry), the canonical form entries are hashed in, and the rules
that keep personal data out of them.

Chain: entry ``n`` stores ``prev_hash`` = entry ``n-1``'s ``entry_hash`` (64 zeros for the
first), and ``entry_hash`` = HMAC-SHA256 over the canonical JSON of (seq, occurred_at,
event, actor, client_id, level, details, prev_hash). The hash is keyed with a key derived
from the server secret, so someone who can write to the database but does not hold the
secret cannot recompute a consistent chain after editing it. The head row is updated in
the same transaction as each append and sealed with a MAC, so removing entries from the
end is detected too (unless a saved copy of an older head row is put back: anchor the head
outside the database, e.g. from ``natid audit verify`` output, for that).

Appends are serialised: ``BEGIN IMMEDIATE`` on SQLite (across processes too), ``SELECT
... FOR UPDATE`` of the head row on PostgreSQL. Each append is one small transaction.

Nothing identifying goes in clear: the subject is stored as ``subject_ref`` (a keyed hash)
plus a masked form for display; detail keys that name secrets are redacted and long digit
runs (ID numbers, phone numbers) are masked.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Connection, DateTime, Engine, Text, insert, select, update
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlmodel import Field

from identity_service.audit_chain import (
    GENESIS_HASH,
    VerificationResult,
    canonical_json,
    canonical_time,
    chain_key,
    entry_hash_of,
    head_mac,
    verify_chain,
)
from identity_service.audit_redaction import (
    mask_digit_runs,
    masked_subject,
    redact_details,
)
from identity_service.audit_redaction import subject_reference as subject_reference
from identity_service.db import (
    IdentityBase,
    refuse_write_that_would_wait,
    sqlite_write_transaction,
    sqlite_writer_lock,
)

_EVENT_NAME = re.compile(r"[a-z][a-z0-9_]*(\.[a-z0-9_]+)*")
_MAX_EVENT_LENGTH = 64


class AuditEvent(StrEnum):
    """Events the service records; administrative actions use ``admin.<action>``."""

    LOGIN_SUCCESS = "login.success"
    LOGIN_FAILURE = "login.failure"
    LOGIN_LOCKED = "login.locked"
    STEPUP = "stepup"
    CONSENT_GRANTED = "consent.granted"
    CONSENT_WITHDRAWN = "consent.withdrawn"
    TOKEN_ISSUED = "token.issued"
    TOKEN_REVOKED = "token.revoked"
    DATA_RELEASED = "data.released"
    KYC_VERIFY = "kyc.verify"


class AuditError(Exception):
    """An entry cannot be recorded or read (bad event name, database unavailable)."""


class AuditEntryRecord(IdentityBase, table=True):
    """One audit entry as stored; ``details`` is canonical JSON text."""

    __tablename__ = "audit_entry"

    seq: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    occurred_at: datetime = Field(sa_type=DateTime(timezone=True))
    event: str = Field(max_length=_MAX_EVENT_LENGTH, index=True)
    actor: str | None = Field(default=None, max_length=64, index=True)
    client_id: str | None = Field(default=None, max_length=255)
    level: int | None = None
    details: str = Field(sa_type=Text)
    prev_hash: str = Field(max_length=64)
    entry_hash: str = Field(max_length=64)


class AuditHeadRecord(IdentityBase, table=True):
    """The newest entry's seq and hash (one row, id 1; 0 and the genesis hash when empty),
    sealed with a MAC under the chain key."""

    __tablename__ = "audit_head"

    id: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    seq: int
    entry_hash: str = Field(max_length=64)
    mac: str = Field(max_length=64)


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """An entry as read back or just recorded."""

    seq: int
    occurred_at: datetime
    event: str
    actor: str | None
    client_id: str | None
    level: int | None
    details: dict[str, Any]
    prev_hash: str
    entry_hash: str


@dataclass(frozen=True, slots=True)
class NewAuditEntry:
    """One event for ``AuditLog.record_many`` (same meaning as ``record``'s arguments)."""

    event: str
    subject: str | None = None
    client_id: str | None = None
    level: int | None = None
    details: dict[str, Any] | None = field(default=None)
    actor: str | None = None


_ENTRY = AuditEntryRecord.__table__  # type: ignore[attr-defined]
_INSERT_ENTRY = insert(_ENTRY)
_HEAD = AuditHeadRecord.__table__  # type: ignore[attr-defined]
_HEAD_ID = 1
# The SQLite append, written out once (see ``AuditLog._append_sqlite``).
_SQLITE_HEAD = "SELECT seq, entry_hash FROM audit_head WHERE id = ?"
_SQLITE_INSERT = (
    "INSERT INTO audit_entry (seq, occurred_at, event, actor, client_id, level, details, "
    "prev_hash, entry_hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
_SQLITE_UPDATE_HEAD = "UPDATE audit_head SET seq = ?, entry_hash = ?, mac = ? WHERE id = ?"
# What ``_prepare`` hands on: event, actor, client_id, level, details and their canonical
# text (what is stored and hashed).
_Prepared = tuple[str, str | None, str | None, int | None, dict[str, Any], str]


class AuditLog:
    """Appends to, reads and verifies the audit chain. Thread-safe; one per process is enough.

    Call ``create_identity_schema`` on the engine first.
    """

    def __init__(
        self, engine: Engine, server_secret: bytes, *, clock: Callable[[], float] = time.time
    ) -> None:
        if not server_secret:
            raise AuditError("the server secret must not be empty")
        self._engine = engine
        self._server_secret = server_secret
        self._chain_key = chain_key(server_secret)
        self._clock = clock
        self._sqlite = engine.dialect.name == "sqlite"
        self._head_ready = False
        self._sqlite_writer = sqlite_writer_lock(engine)
        # occurred_at as SQLAlchemy stores it on SQLite, so reading back is unchanged.
        self._sqlite_time: Callable[[datetime], str] = (
            _ENTRY.c.occurred_at.type.dialect_impl(engine.dialect).bind_processor(engine.dialect)
            if self._sqlite
            else str
        )

    def subject_ref(self, personal_id_number: str) -> str:
        """The ``actor`` stored for this citizen (search the log with it, never the number)."""
        return subject_reference(self._server_secret, personal_id_number)

    # -- writing --------------------------------------------------------------------------

    def record(
        self,
        event: str,
        *,
        subject: str | None = None,
        client_id: str | None = None,
        level: int | None = None,
        details: dict[str, Any] | None = None,
        actor: str | None = None,
    ) -> AuditEntry:
        """Append one entry. ``subject`` is a personal ID number (stored only hashed/masked);
        ``actor`` labels a non-citizen actor (e.g. ``cli``) when there is no subject."""
        new = NewAuditEntry(event, subject, client_id, level, details, actor)
        (entry,) = self.record_many([new])
        return entry

    def record_many(self, entries: Sequence[NewAuditEntry]) -> list[AuditEntry]:
        """Append several entries in one transaction, in order."""
        prepared = [self._prepare(new) for new in entries]
        if not prepared:
            return []
        try:
            self._ensure_head()
            if self._sqlite:
                return self._append_sqlite(prepared)
            return self._append(prepared)
        except IntegrityError as error:
            # A seq already taken: rows were written behind the head's back.
            raise AuditError(
                "cannot append to the audit log: its chain is inconsistent (run natid audit verify)"
            ) from error
        except SQLAlchemyError as error:
            raise AuditError(f"audit log unavailable: {error.__class__.__name__}") from error

    def _append(self, prepared: list[_Prepared]) -> list[AuditEntry]:
        """PostgreSQL: the head row locked ``FOR UPDATE``, the rows in one executemany."""
        with self._write_transaction() as connection:
            seq, prev_hash = self._locked_head(connection)
            occurred_at = _utc_from_timestamp(self._clock())
            written, rows = self._chain(prepared, seq, prev_hash, occurred_at)
            connection.execute(_INSERT_ENTRY, rows)
            connection.execute(
                update(_HEAD).where(_HEAD.c.id == _HEAD_ID).values(**self._head(written))
            )
        return written

    def _append_sqlite(self, prepared: list[_Prepared]) -> list[AuditEntry]:
        """SQLite: the same transaction through the driver's own connection. SQLAlchemy's
        execution machinery costs more than ten times what SQLite does for these four
        statements, and this transaction runs once per group commit on the hot path."""
        # The write lock is taken at BEGIN, before the head is read.
        with sqlite_write_transaction(self._engine, "audit append") as driver:
            head_row = driver.execute(_SQLITE_HEAD, (_HEAD_ID,)).fetchone()
            if head_row is None:
                raise AuditError("the audit chain head is missing: the log was tampered with")
            seq, prev_hash = head_row
            occurred_at = _utc_from_timestamp(self._clock())
            written, rows = self._chain(prepared, seq, prev_hash, occurred_at)
            stored_at = self._sqlite_time(occurred_at)
            driver.executemany(
                _SQLITE_INSERT,
                [
                    (
                        row["seq"],
                        stored_at,
                        row["event"],
                        row["actor"],
                        row["client_id"],
                        row["level"],
                        row["details"],  # the canonical text made by _chain
                        row["prev_hash"],
                        row["entry_hash"],
                    )
                    for row in rows
                ],
            )
            head = self._head(written)
            driver.execute(
                _SQLITE_UPDATE_HEAD, (head["seq"], head["entry_hash"], head["mac"], _HEAD_ID)
            )
        return written

    def _chain(
        self, prepared: list[_Prepared], seq: int, prev_hash: str, occurred_at: datetime
    ) -> tuple[list[AuditEntry], list[dict[str, Any]]]:
        """The entries following (seq, prev_hash), hashed; and their rows as stored."""
        written: list[AuditEntry] = []
        rows: list[dict[str, Any]] = []
        hashed_time = canonical_time(occurred_at)  # one moment for the whole batch
        for event, actor, client_id, level, details, details_text in prepared:
            seq += 1
            # Hashed over the parsed details (what reading back yields) as their canonical
            # text, which is also what is stored.
            values: dict[str, Any] = {
                "seq": seq,
                "occurred_at": occurred_at,
                "event": event,
                "actor": actor,
                "client_id": client_id,
                "level": level,
                "details": details_text,
                "prev_hash": prev_hash,
            }
            hashed = entry_hash_of(self._chain_key, values, hashed_time, details_text)
            written.append(
                AuditEntry(
                    seq, occurred_at, event, actor, client_id, level, details, prev_hash, hashed
                )
            )
            values["entry_hash"] = hashed
            rows.append(values)
            prev_hash = hashed
        return written, rows

    def _head(self, written: list[AuditEntry]) -> dict[str, Any]:
        last = written[-1]
        return {
            "seq": last.seq,
            "entry_hash": last.entry_hash,
            "mac": head_mac(self._chain_key, last.seq, last.entry_hash),
        }

    # -- reading --------------------------------------------------------------------------

    def tail(self, count: int = 20) -> list[AuditEntry]:
        """The newest ``count`` entries, oldest first."""
        statement = select(_ENTRY).order_by(_ENTRY.c.seq.desc()).limit(max(0, count))
        rows = self._read(statement)
        return [_entry_from_values(row) for row in reversed(rows)]

    def history(
        self, personal_id_number: str, *, events: Sequence[str] | None = None, limit: int = 100
    ) -> list[AuditEntry]:
        """This citizen's entries (e.g. ``data.released`` for the account page), newest first."""
        statement = (
            select(_ENTRY)
            .where(_ENTRY.c.actor == self.subject_ref(personal_id_number))
            .order_by(_ENTRY.c.seq.desc())
            .limit(max(0, limit))
        )
        if events is not None:
            statement = statement.where(_ENTRY.c.event.in_([str(name) for name in events]))
        return [_entry_from_values(row) for row in self._read(statement)]

    def verify(self, *, batch_size: int = 1000) -> VerificationResult:
        """Check every entry and the head on one consistent snapshot of the log."""
        try:
            with self._snapshot() as connection:
                head = connection.execute(
                    select(_HEAD.c.seq, _HEAD.c.entry_hash, _HEAD.c.mac)
                ).first()
                return verify_chain(
                    self._chain_key,
                    _batches(connection, batch_size),
                    None if head is None else (head.seq, head.entry_hash, head.mac),
                )
        except SQLAlchemyError as error:
            raise AuditError(f"audit log unavailable: {error.__class__.__name__}") from error

    # -- internals ------------------------------------------------------------------------

    def _prepare(self, new: NewAuditEntry) -> _Prepared:
        event = str(new.event)
        if len(event) > _MAX_EVENT_LENGTH or not _EVENT_NAME.fullmatch(event):
            raise AuditError(f"invalid audit event name {event!r}")
        details = redact_details(dict(new.details or {}))
        if new.subject is not None:
            actor: str | None = self.subject_ref(new.subject)
            details["subject_masked"] = masked_subject(new.subject)
        else:
            actor = None if new.actor is None else mask_digit_runs(new.actor)
        try:
            # Round trip, so the hash is computed over exactly what reading back yields.
            # The text is canonical for the parsed details too: redaction has made every
            # key a string and every sequence a list, so encoding them again gives it back.
            text = canonical_json(details)
            details = json.loads(text)
        except (TypeError, ValueError) as error:
            raise AuditError(f"audit details are not JSON: {error}") from error
        return event, actor, new.client_id, new.level, details, text

    @contextmanager
    def _write_transaction(self) -> Iterator[Connection]:
        with self._engine.connect() as connection:
            if not self._sqlite:
                with connection.begin():
                    yield connection
                return
            # The driver's own transaction handling is switched off so that the write lock
            # is taken at BEGIN: two writers never both read the same head.
            connection = connection.execution_options(isolation_level="AUTOCOMMIT")
            with self._sqlite_writer:
                connection.exec_driver_sql("BEGIN IMMEDIATE")
                try:
                    yield connection
                except BaseException:
                    connection.exec_driver_sql("ROLLBACK")
                    raise
                connection.exec_driver_sql("COMMIT")

    @contextmanager
    def _snapshot(self) -> Iterator[Connection]:
        with self._engine.connect() as connection:
            if not self._sqlite:
                connection = connection.execution_options(isolation_level="REPEATABLE READ")
                with connection.begin():
                    yield connection
                return
            connection = connection.execution_options(isolation_level="AUTOCOMMIT")
            connection.exec_driver_sql("BEGIN")
            try:
                yield connection
            finally:
                connection.exec_driver_sql("COMMIT")

    def _locked_head(self, connection: Connection) -> tuple[int, str]:
        statement = select(_HEAD.c.seq, _HEAD.c.entry_hash).where(_HEAD.c.id == _HEAD_ID)
        if not self._sqlite:
            statement = statement.with_for_update()
        head = connection.execute(statement).first()
        if head is None:
            raise AuditError("the audit chain head is missing: the log was tampered with")
        return head.seq, head.entry_hash

    def _ensure_head(self) -> None:
        """Create the head row of an empty log (once per process; racing creators are fine)."""
        if self._head_ready:
            return
        # An SQLAlchemy transaction, which waits in SQLite's busy handler: not on the loop.
        refuse_write_that_would_wait("audit head")
        try:
            with self._engine.begin() as connection:
                exists = connection.execute(select(_HEAD.c.id)).first() is not None
                if not exists and connection.execute(select(_ENTRY.c.seq).limit(1)).first():
                    # Entries without a head: leave it missing so verify reports it.
                    return
                if not exists:
                    genesis_mac = head_mac(self._chain_key, 0, GENESIS_HASH)
                    connection.execute(
                        insert(_HEAD).values(
                            id=_HEAD_ID, seq=0, entry_hash=GENESIS_HASH, mac=genesis_mac
                        )
                    )
        except IntegrityError:
            pass  # another process created it at the same moment
        self._head_ready = True

    def _read(self, statement: Any) -> list[Any]:
        try:
            with self._engine.connect() as connection:
                return [row._mapping for row in connection.execute(statement)]
        except SQLAlchemyError as error:
            raise AuditError(f"audit log unavailable: {error.__class__.__name__}") from error


def _batches(connection: Connection, batch_size: int) -> Iterator[dict[str, Any]]:
    after: int | None = None  # no lower bound at first: a forged seq 0 must be seen too
    while True:
        statement = select(_ENTRY).order_by(_ENTRY.c.seq).limit(batch_size)
        if after is not None:
            statement = statement.where(_ENTRY.c.seq > after)
        rows = connection.execute(statement).all()
        for row in rows:
            yield dict(row._mapping)
        if len(rows) < batch_size:
            return
        after = rows[-1].seq


def _entry_from_values(values: Any) -> AuditEntry:
    details = values["details"]
    return AuditEntry(
        seq=values["seq"],
        occurred_at=_as_utc(values["occurred_at"]),
        event=values["event"],
        actor=values["actor"],
        client_id=values["client_id"],
        level=values["level"],
        details=json.loads(details) if isinstance(details, str) else details,
        prev_hash=values["prev_hash"],
        entry_hash=values["entry_hash"],
    )


def _utc_from_timestamp(timestamp: float) -> datetime:
    return datetime.fromtimestamp(timestamp, tz=UTC)


def _as_utc(moment: datetime) -> datetime:
    # SQLite hands timezone-aware columns back naive; they were written in UTC.
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
