"""Finding and reading the provisioning files Locust processes use."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from loadtests.config import (
    LoadTestClient,
    LoadTestClients,
    LoadTestConfigError,
    accounts_path,
    clients_path,
    read_accounts,
    read_clients,
    read_kyc_subjects,
    think_time,
)


def test_paths_come_from_the_directory_or_their_own_variables(tmp_path: Path) -> None:
    environ = {"NATID_LOADTEST_DIR": str(tmp_path)}
    assert accounts_path(environ) == tmp_path / "accounts.json"
    assert clients_path(environ) == tmp_path / "clients.json"
    own = {**environ, "NATID_LOADTEST_ACCOUNTS": "/elsewhere/creds.json"}
    assert accounts_path(own) == Path("/elsewhere/creds.json")
    with pytest.raises(LoadTestConfigError, match="NATID_LOADTEST_DIR"):
        accounts_path({})


def test_accounts_file_round_trip_and_its_errors(tmp_path: Path) -> None:
    path = tmp_path / "accounts.json"
    path.write_text(json.dumps([{"personal_id_number": "001", "password": "pw"}]))
    assert [c.personal_id_number for c in read_accounts(path)] == ["001"]
    path.write_text("[]")
    with pytest.raises(LoadTestConfigError, match="no accounts"):
        read_accounts(path)
    path.write_text('[{"id": 1}]')
    with pytest.raises(LoadTestConfigError, match="personal_id_number"):
        read_accounts(path)
    path.write_text("{not json")
    with pytest.raises(LoadTestConfigError, match="not valid JSON"):
        read_accounts(path)
    with pytest.raises(LoadTestConfigError, match="cannot read"):
        read_accounts(tmp_path / "missing.json")


def test_clients_file_round_trip(tmp_path: Path) -> None:
    clients = LoadTestClients(
        portal=LoadTestClient("a", "secret-a", "openid profile", "http://127.0.0.1:9/a"),
        second_portal=LoadTestClient("b", "secret-b", "openid", "http://127.0.0.1:9/b"),
        bank=None,
    )
    path = tmp_path / "clients.json"
    path.write_text(json.dumps(clients.as_json()))
    assert read_clients(path) == clients
    path.write_text('{"portal": {}}')
    with pytest.raises(LoadTestConfigError, match="not a load-test clients file"):
        read_clients(path)


@pytest.mark.parametrize(("text", "expected"), [("", 1.0), ("0", 0.0), ("2.5", 2.5)])
def test_think_time(text: str, expected: float) -> None:
    assert think_time({"NATID_LOADTEST_THINK_TIME": text}) == expected


@pytest.mark.parametrize("text", ["-1", "soon"])
def test_think_time_errors(text: str) -> None:
    with pytest.raises(LoadTestConfigError):
        think_time({"NATID_LOADTEST_THINK_TIME": text})


def test_kyc_subjects_file(tmp_path: Path) -> None:
    path = tmp_path / "kyc_subjects.json"
    row = {
        "personal_id_number": "1",
        "full_name": "A B",
        "birth_date": "2000-01-02",
        "gender": "male",
    }
    path.write_text(json.dumps([row]))
    assert [subject.as_json() for subject in read_kyc_subjects(path)] == [row]
    path.write_text(json.dumps([{"personal_id_number": "1"}]))
    with pytest.raises(LoadTestConfigError, match="e-KYC subjects"):
        read_kyc_subjects(path)
