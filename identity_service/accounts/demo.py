"""Demo accounts with known credentials, for ``natid accounts demo`` and ``make demo``.

The demo citizens are the rows of ``seeds/demo_citizens.csv`` with ``account_level`` 1 or
2; their passwords and the level-2 TOTP secrets are in ``seeds/demo_credentials.toml``.
``ensure_demo_accounts`` is idempotent: it creates missing accounts and puts existing
ones back to exactly the listed password, level and secret, so the printed credentials
always work.
"""

from __future__ import annotations

import tomllib
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from identity_service.accounts.errors import DemoSeedError
from identity_service.accounts.models import AccountLevel, DemoCredential
from population_db.seeds import read_csv, seeds_dir

if TYPE_CHECKING:  # the service calls this module; only the type flows back
    from identity_service.accounts.service import AccountService

DEMO_CITIZENS_FILE = "demo_citizens.csv"
DEMO_CREDENTIALS_FILE = "demo_credentials.toml"


@dataclass(frozen=True, slots=True)
class DemoAccountSpec:
    personal_id_number: str
    level: int
    password: str
    totp_secret: str | None


def load_demo_specs(
    citizens_rows: list[dict[str, str]] | None = None, credentials_path: Path | None = None
) -> list[DemoAccountSpec]:
    """The demo accounts to ensure, in the order of the demo citizens file."""
    rows = citizens_rows if citizens_rows is not None else read_csv(DEMO_CITIZENS_FILE)
    path = credentials_path or seeds_dir() / DEMO_CREDENTIALS_FILE
    with path.open("rb") as handle:
        credentials = {
            entry["personal_id_number"]: entry for entry in tomllib.load(handle)["account"]
        }
    specs = []
    for row in rows:
        level_text = (row.get("account_level") or "").strip()
        if level_text not in ("1", "2"):
            continue
        number = row["personal_id_number"].strip()
        entry = credentials.get(number)
        if entry is None:
            raise ValueError(f"{path.name} has no credentials for a level-{level_text} demo row")
        level = int(level_text)
        secret = entry.get("totp_secret") if level == AccountLevel.LEVEL2 else None
        if level == AccountLevel.LEVEL2 and not secret:
            raise ValueError(f"{path.name}: a level-2 demo account needs a totp_secret")
        specs.append(DemoAccountSpec(number, level, entry["password"], secret))
    return specs


def ensure_demo_accounts(
    service: AccountService, specs: list[DemoAccountSpec] | None = None
) -> list[DemoCredential]:
    """Give every demo citizen their demo account (idempotent); their credentials."""
    credentials = []
    for spec in specs if specs is not None else load_demo_specs():
        record = service.registry.get(spec.personal_id_number)
        if record is None:
            raise DemoSeedError()
        account = service.get(spec.personal_id_number)
        if account is None:
            service.create_account(spec.personal_id_number, spec.password)
        elif not service.password_matches(account, spec.password):
            service.set_password(spec.personal_id_number, spec.password)
        account = service.get(spec.personal_id_number)
        assert account is not None
        if account.level != spec.level or service.totp_secret(account) != spec.totp_secret:
            service.bind_totp(spec.personal_id_number, spec.totp_secret)
        credentials.append(
            DemoCredential(
                personal_id_number=spec.personal_id_number,
                password=spec.password,
                level=spec.level,
                totp_secret=spec.totp_secret,
                # NFC, whatever form the record stores (one demo row is NFD on purpose).
                full_name=unicodedata.normalize("NFC", record.full_name),
            )
        )
    return credentials
