"""What a Locust process needs to know: the provisioned credentials and load-test clients.

``natid loadtest`` (or ``loadtests.provisioning``) writes a directory holding
``accounts.json`` (a JSON list of ``{personal_id_number, password}``, the format of
``natid accounts provision``), ``clients.json`` (the load-test portals and bank back-end
with their secrets) and ``kyc_subjects.json`` (what a bank holds about the same citizens:
``{personal_id_number, full_name, birth_date, gender}``). Locust processes find it through
``NATID_LOADTEST_DIR``; each file can also be named on its own with
``NATID_LOADTEST_ACCOUNTS``, ``NATID_LOADTEST_CLIENTS`` or ``NATID_LOADTEST_KYC_SUBJECTS``.

This module never imports Locust (importing Locust monkey-patches the process with gevent),
so the runner and the tests can use it.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

DIRECTORY_VARIABLE = "NATID_LOADTEST_DIR"
ACCOUNTS_VARIABLE = "NATID_LOADTEST_ACCOUNTS"
CLIENTS_VARIABLE = "NATID_LOADTEST_CLIENTS"
THINK_TIME_VARIABLE = "NATID_LOADTEST_THINK_TIME"
KYC_SUBJECTS_VARIABLE = "NATID_LOADTEST_KYC_SUBJECTS"
ACCOUNTS_FILE = "accounts.json"
CLIENTS_FILE = "clients.json"
KYC_SUBJECTS_FILE = "kyc_subjects.json"
DEFAULT_THINK_TIME = 1.0


class LoadTestConfigError(Exception):
    """The provisioning files are missing or malformed; the message says which and how."""


@dataclass(frozen=True, slots=True)
class Credential:
    personal_id_number: str
    password: str


@dataclass(frozen=True, slots=True)
class KycSubject:
    """What a bank holds about a citizen it asks the e-KYC API about."""

    personal_id_number: str
    full_name: str
    birth_date: str  # ISO 8601, as the API takes it
    gender: str

    def as_json(self) -> dict[str, str]:
        return {
            "personal_id_number": self.personal_id_number,
            "full_name": self.full_name,
            "birth_date": self.birth_date,
            "gender": self.gender,
        }


@dataclass(frozen=True, slots=True)
class LoadTestClient:
    """A registered load-test client: a portal (code flow) or a back-end (machine)."""

    client_id: str
    client_secret: str
    scope: str
    redirect_uri: str | None = None

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> LoadTestClient:
        return cls(
            client_id=str(data["client_id"]),
            client_secret=str(data["client_secret"]),
            scope=str(data["scope"]),
            redirect_uri=None if data.get("redirect_uri") is None else str(data["redirect_uri"]),
        )

    def as_json(self) -> dict[str, str | None]:
        return {
            "client_id": self.client_id,
            "client_secret": self.client_secret,
            "scope": self.scope,
            "redirect_uri": self.redirect_uri,
        }


@dataclass(frozen=True, slots=True)
class LoadTestClients:
    """``portal`` logs citizens in (and refreshes), ``second_portal`` is where SSO is
    measured, ``bank`` is a back-end using client credentials (None if not registered)."""

    portal: LoadTestClient
    second_portal: LoadTestClient
    bank: LoadTestClient | None

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> LoadTestClients:
        bank = data.get("bank")
        return cls(
            portal=LoadTestClient.from_json(data["portal"]),
            second_portal=LoadTestClient.from_json(data["second_portal"]),
            bank=None if bank is None else LoadTestClient.from_json(bank),
        )

    def as_json(self) -> dict[str, Any]:
        return {
            "portal": self.portal.as_json(),
            "second_portal": self.second_portal.as_json(),
            "bank": None if self.bank is None else self.bank.as_json(),
        }


def read_accounts(path: Path) -> list[Credential]:
    rows = _read_json(path)
    try:
        credentials = [Credential(str(r["personal_id_number"]), str(r["password"])) for r in rows]
    except (TypeError, KeyError) as error:
        raise LoadTestConfigError(
            f"{path} must be a JSON list of {{personal_id_number, password}} objects"
        ) from error
    if not credentials:
        raise LoadTestConfigError(f"{path} lists no accounts; run natid accounts provision")
    return credentials


def read_kyc_subjects(path: Path) -> list[KycSubject]:
    rows = _read_json(path)
    try:
        subjects = [
            KycSubject(
                str(r["personal_id_number"]), str(r["full_name"]), str(r["birth_date"]),
                str(r["gender"]),
            )
            for r in rows
        ]  # fmt: skip
    except (TypeError, KeyError) as error:
        raise LoadTestConfigError(f"{path} is not a list of e-KYC subjects") from error
    if not subjects:
        raise LoadTestConfigError(f"{path} lists no e-KYC subjects")
    return subjects


def read_clients(path: Path) -> LoadTestClients:
    try:
        return LoadTestClients.from_json(_read_json(path))
    except (TypeError, KeyError) as error:
        raise LoadTestConfigError(f"{path} is not a load-test clients file") from error


def accounts_path(environ: Mapping[str, str] = os.environ) -> Path:
    return _path(environ, ACCOUNTS_VARIABLE, ACCOUNTS_FILE)


def clients_path(environ: Mapping[str, str] = os.environ) -> Path:
    return _path(environ, CLIENTS_VARIABLE, CLIENTS_FILE)


def kyc_subjects_path(environ: Mapping[str, str] = os.environ) -> Path:
    return _path(environ, KYC_SUBJECTS_VARIABLE, KYC_SUBJECTS_FILE)


def think_time(environ: Mapping[str, str] = os.environ) -> float:
    """Mean seconds a simulated user waits between flows (0: back to back)."""
    text = environ.get(THINK_TIME_VARIABLE, "").strip()
    if not text:
        return DEFAULT_THINK_TIME
    try:
        value = float(text)
    except ValueError:
        raise LoadTestConfigError(f"{THINK_TIME_VARIABLE} must be a number of seconds") from None
    if value < 0:
        raise LoadTestConfigError(f"{THINK_TIME_VARIABLE} cannot be negative")
    return value


def _path(environ: Mapping[str, str], variable: str, file_name: str) -> Path:
    if environ.get(variable):
        return Path(environ[variable])
    directory = environ.get(DIRECTORY_VARIABLE)
    if not directory:
        raise LoadTestConfigError(
            f"set {DIRECTORY_VARIABLE} to the provisioning directory (natid loadtest writes "
            f"one), or {variable} to the {file_name} file"
        )
    return Path(directory) / file_name


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise LoadTestConfigError(f"cannot read {path}: {error.strerror}") from error
    except ValueError as error:
        raise LoadTestConfigError(f"{path} is not valid JSON: {error}") from error
