"""Bulk e-ID accounts for load tests: many seeded citizens, one known password, quickly.

``provision_load_test_accounts`` gives the first ``count`` eligible citizens of the
population database (alive, at least 14, not one of the fixed demo citizens, without an
account of their own) a level-1 account with the load-test password. Argon2 is what makes
a real registration slow, so every load-test account shares ONE hash, computed once (or
reused from an earlier run when it still verifies at the current parameters). That is
acceptable only because these rows are marked ``load_test=True``: logins still pay a full
argon2 verify each, so a load test measures the real cost; only the set-up is cheap.

``write_credentials_file`` writes the JSON list Locust reads.

Rows are inserted with one ``executemany`` per chunk, skipping conflicts, so the call is
idempotent (a second run with the same count writes nothing) and safe next to live
registrations. Citizens who already have a real account are passed over: their password
is theirs. Load-test accounts that someone locked, upgraded or re-passworded are put back
to active, level 1, load-test password.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy import Engine
from sqlalchemy.dialects import postgresql, sqlite

from identity_service.accounts.models import Account, AccountLevel, AccountStatus
from identity_service.accounts.passwords import PasswordHashing
from identity_service.accounts.policy import normalize_password
from identity_service.accounts.registration import MINIMUM_AGE, today_in_vietnam
from population_db import db as population_db
from population_db.registry import PopulationRegistry

# Known on purpose: it is written into the credentials file Locust reads.
LOAD_TEST_PASSWORD = "natid-load-test-only-password"
# The random part 999000-999999 of an ID number is reserved for the fixed demo citizens
# (seeds/demo_citizens.csv); their demo passwords must keep working.
FIRST_DEMO_RANDOM_PART = "999000"
CHUNK_SIZE = 5_000  # rows per IN (...) lookup and per executemany

_ACCOUNT = Account.__table__  # type: ignore[attr-defined]


class ProvisioningError(Exception):
    """Load-test accounts cannot be provisioned as asked; the message says why."""


@dataclass(frozen=True, slots=True)
class LoadTestCredential:
    personal_id_number: str
    password: str

    def as_json(self) -> dict[str, str]:
        return {"personal_id_number": self.personal_id_number, "password": self.password}


@dataclass(frozen=True, slots=True)
class ProvisionResult:
    credentials: list[LoadTestCredential]
    created: int
    seconds: float

    @property
    def accounts_per_second(self) -> float:
        return len(self.credentials) / self.seconds if self.seconds > 0 else float("inf")


def provision_load_test_accounts(
    identity_engine: Engine,
    registry: PopulationRegistry,
    passwords: PasswordHashing,
    count: int,
    *,
    password: str = LOAD_TEST_PASSWORD,
    now: float | None = None,
) -> ProvisionResult:
    """Ensure ``count`` load-test accounts exist; their credentials in ID-number order.

    Raises ``ProvisioningError`` if the population has fewer eligible citizens.
    """
    if count < 0:
        raise ProvisioningError("the number of accounts cannot be negative")
    started = time.perf_counter()
    moment = time.time() if now is None else now
    typed = normalize_password(password)
    password_hash = _shared_hash(identity_engine, passwords, typed)
    created_at = dt.datetime.fromtimestamp(moment, dt.UTC)
    chosen: list[str] = []
    created = 0
    with identity_engine.begin() as connection:
        _restore_load_test_accounts(connection, password_hash)
        for candidates in _eligible_citizens(registry, today_in_vietnam(moment)):
            taken = _accounts_among(connection, candidates)
            # A citizen with a real account keeps it; load-test accounts are reused.
            usable = [n for n in candidates if taken.get(n, True)]
            selected = usable[: count - len(chosen)]
            missing = [n for n in selected if n not in taken]
            created += _insert_accounts(connection, missing, password_hash, created_at)
            chosen.extend(selected)
            if len(chosen) >= count:
                break
    if len(chosen) < count:
        raise ProvisioningError(
            f"only {len(chosen):,} citizens can get a load-test account (alive, at least "
            f"{MINIMUM_AGE}, no demo or real account); seed a larger population"
        )
    credentials = [LoadTestCredential(number, password) for number in chosen]
    return ProvisionResult(credentials, created, time.perf_counter() - started)


def write_credentials_file(path: Path, credentials: Iterable[LoadTestCredential]) -> None:
    """The JSON list of ``{personal_id_number, password}`` Locust reads, readable by the
    owner only, replacing any old file atomically."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.unlink(missing_ok=True)
    with temporary.open("x", encoding="utf-8") as handle:
        temporary.chmod(0o600)
        json.dump([credential.as_json() for credential in credentials], handle)
    temporary.replace(path)


def _shared_hash(engine: Engine, passwords: PasswordHashing, typed: str) -> str:
    """The load-test accounts' hash if it still fits, else one freshly computed."""
    query = sa.select(_ACCOUNT.c.password_hash).where(_ACCOUNT.c.load_test.is_(True)).limit(1)
    with engine.connect() as connection:
        stored = connection.execute(query).scalar()
    if (
        stored is not None
        and passwords.verify(stored, typed)
        and not passwords.needs_rehash(stored)
    ):
        return stored
    return passwords.hash(typed)


def _restore_load_test_accounts(connection: sa.Connection, password_hash: str) -> None:
    """One UPDATE: every load-test account active, level 1, the shared hash, no TOTP."""
    differs = sa.or_(
        _ACCOUNT.c.password_hash != password_hash,
        _ACCOUNT.c.status != AccountStatus.ACTIVE.value,
        _ACCOUNT.c.level != int(AccountLevel.LEVEL1),
        _ACCOUNT.c.totp_secret.is_not(None),
    )
    connection.execute(
        sa.update(_ACCOUNT)
        .where(_ACCOUNT.c.load_test.is_(True), differs)
        .values(
            password_hash=password_hash,
            status=AccountStatus.ACTIVE.value,
            level=int(AccountLevel.LEVEL1),
            totp_secret=None,
        )
    )


def _eligible_citizens(registry: PopulationRegistry, today: dt.date) -> Iterator[list[str]]:
    """ID numbers of living citizens aged 14 or more, demo citizens excluded, in chunks."""
    citizen = population_db.CITIZEN_TABLE
    number = citizen.c.personal_id_number
    base = (
        sa.select(number)
        .where(
            citizen.c.date_of_death.is_(None),
            citizen.c.birth_date <= _years_before(today, MINIMUM_AGE),
            sa.func.substr(number, 7, 6) < FIRST_DEMO_RANDOM_PART,
        )
        .order_by(number)
        .limit(CHUNK_SIZE)
    )
    after = ""
    while True:
        # Keyset pagination: each chunk is one index range scan, however far we are.
        with registry.engine.connect() as connection:
            chunk = list(connection.execute(base.where(number > after)).scalars())
        if not chunk:
            return
        yield chunk
        after = chunk[-1]


def _accounts_among(connection: sa.Connection, numbers: list[str]) -> dict[str, bool]:
    """Which of ``numbers`` already have an account, and whether it is a load-test one."""
    query = sa.select(_ACCOUNT.c.personal_id_number, _ACCOUNT.c.load_test).where(
        _ACCOUNT.c.personal_id_number.in_(numbers)
    )
    return {row[0]: bool(row[1]) for row in connection.execute(query)}


def _insert_accounts(
    connection: sa.Connection, numbers: list[str], password_hash: str, created_at: dt.datetime
) -> int:
    if not numbers:
        return 0
    rows = [
        {
            "personal_id_number": number,
            "password_hash": password_hash,
            "level": int(AccountLevel.LEVEL1),
            "totp_secret": None,
            "status": AccountStatus.ACTIVE.value,
            "load_test": True,
            "created_at": created_at,
            "password_changed_at": created_at,
        }
        for number in numbers
    ]
    dialect = connection.dialect.name
    if dialect == "postgresql":
        statement = postgresql.insert(_ACCOUNT).on_conflict_do_nothing()
    elif dialect == "sqlite":
        statement = sqlite.insert(_ACCOUNT).on_conflict_do_nothing()
    else:  # pragma: no cover - the identity database is SQLite or PostgreSQL
        raise ProvisioningError(f"unsupported identity database {dialect!r}")
    result = connection.execute(statement, rows)
    # A registration racing us may have taken a row; rowcount says how many we wrote.
    return max(result.rowcount, 0) if result.rowcount is not None else len(rows)


def _years_before(day: dt.date, years: int) -> dt.date:
    """The same calendar day ``years`` earlier (29 February falls back to the 28th)."""
    try:
        return day.replace(year=day.year - years)
    except ValueError:
        return day.replace(year=day.year - years, day=28)
