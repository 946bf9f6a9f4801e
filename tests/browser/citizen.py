"""The level-2 demo citizen as a person at a browser: credentials and an authenticator app.

The credentials are the published demo ones (``seeds/demo_credentials.toml``) and the
name comes from ``seeds/demo_citizens.csv``, both as ``natid accounts demo`` uses them.
The authenticator hands out a code of a time step not used yet: the IdP accepts each
step once (replay guard) and one step either side of the current one, so two logins in
the same 30 seconds use the current step and then the next.
"""

from __future__ import annotations

import csv
import time
import tomllib
from dataclasses import dataclass, field

import pyotp

from identity_service.accounts.second_factor import TOTP_INTERVAL_SECONDS, TOTP_VALID_WINDOW
from tests.browser.servers import REPO_ROOT

SEEDS = REPO_ROOT / "seeds"


@dataclass(frozen=True)
class DemoCitizen:
    personal_id_number: str
    password: str
    totp_secret: str
    full_name: str


def level2_demo_citizen() -> DemoCitizen:
    """The demo account with a TOTP secret (the level-2 one)."""
    with (SEEDS / "demo_credentials.toml").open("rb") as handle:
        accounts = tomllib.load(handle)["account"]
    account = next(entry for entry in accounts if entry.get("totp_secret"))
    return DemoCitizen(
        personal_id_number=account["personal_id_number"],
        password=account["password"],
        totp_secret=account["totp_secret"],
        full_name=_full_name(account["personal_id_number"]),
    )


def _full_name(personal_id_number: str) -> str:
    with (SEEDS / "demo_citizens.csv").open(encoding="utf-8", newline="") as handle:
        rows = csv.DictReader(line for line in handle if not line.startswith("#"))
        row = next(row for row in rows if row["personal_id_number"] == personal_id_number)
    return " ".join(
        part for part in (row["family_name"], row["middle_name"], row["given_name"]) if part
    )


@dataclass
class Authenticator:
    secret: str
    last_step: int = field(default=-1)

    def next_code(self) -> str:
        """The code of the earliest step after the last one used that the IdP accepts,
        waiting (at most one step) if the next step is still too far ahead."""
        step = max(self._current_step(), self.last_step + 1)
        while step > self._current_step() + TOTP_VALID_WINDOW:
            time.sleep(0.5)
        self.last_step = step
        return pyotp.TOTP(self.secret).at(step * TOTP_INTERVAL_SECONDS)

    @staticmethod
    def _current_step() -> int:
        return int(time.time() // TOTP_INTERVAL_SECONDS)
