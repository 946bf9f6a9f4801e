"""Provisioning for a load test: the load-test clients and accounts, and the files."""

from __future__ import annotations

import json
import stat
from pathlib import Path

from identity_service.config import IdentitySettings
from identity_service.db import create_identity_engine
from identity_service.oidc.client_secrets import ClientSecretHasher
from identity_service.oidc.clients import ClientRegistry
from loadtests.config import read_accounts, read_clients, read_kyc_subjects
from loadtests.provisioning import provision_load_test
from population_db.registry import PopulationRegistry


def _registry(settings: IdentitySettings) -> ClientRegistry:
    engine = create_identity_engine(settings.identity_database_url())
    return ClientRegistry(engine, ClientSecretHasher(settings.server_secret()))


def test_clients_and_accounts_are_registered_and_written(
    settings: IdentitySettings, tmp_path: Path
) -> None:
    directory = tmp_path / "provisioned"
    result = provision_load_test(settings, directory, 40)
    assert [c.personal_id_number for c in read_accounts(directory / "accounts.json")] == [
        c.personal_id_number for c in result.accounts.credentials
    ]
    assert len(result.accounts.credentials) == 40
    clients = read_clients(directory / "clients.json")
    assert clients == result.clients
    for name in ("accounts.json", "clients.json", "kyc_subjects.json"):
        assert stat.S_IMODE((directory / name).stat().st_mode) == 0o600
    registry = _registry(settings)
    portal = registry.get(clients.portal.client_id)
    second = registry.get(clients.second_portal.client_id)
    assert portal is not None and second is not None
    assert portal.id_token_signed_response_alg == "ES256"
    assert second.id_token_signed_response_alg == "ES256"
    assert portal.sector_identifier != second.sector_identifier
    assert registry.verify_secret(portal, clients.portal.client_secret)
    assert clients.bank is not None
    bank = registry.get(clients.bank.client_id)
    assert bank is not None and "client_credentials" in bank.grant_types
    assert registry.verify_secret(bank, clients.bank.client_secret)


def test_provisioning_again_keeps_the_secrets_and_accounts(
    settings: IdentitySettings, tmp_path: Path
) -> None:
    directory = tmp_path / "provisioned"
    first = provision_load_test(settings, directory, 30)
    again = provision_load_test(settings, directory, 30)
    assert again.clients == first.clients
    assert again.accounts.created == 0
    assert again.accounts.credentials == first.accounts.credentials


def test_a_damaged_clients_file_gets_new_secrets_that_work(
    settings: IdentitySettings, tmp_path: Path
) -> None:
    directory = tmp_path / "provisioned"
    first = provision_load_test(settings, directory, 5)
    (directory / "clients.json").write_text("{broken")
    again = provision_load_test(settings, directory, 5)
    assert again.clients.portal.client_secret != first.clients.portal.client_secret
    registry = _registry(settings)
    portal = registry.get(again.clients.portal.client_id)
    assert registry.verify_secret(portal, again.clients.portal.client_secret)
    assert json.loads((directory / "clients.json").read_text()) == again.clients.as_json()


def test_kyc_subjects_are_the_same_citizens_as_the_registry_holds_them(
    settings: IdentitySettings, tmp_path: Path
) -> None:
    directory = tmp_path / "provisioned"
    result = provision_load_test(settings, directory, 12)
    subjects = read_kyc_subjects(directory / "kyc_subjects.json")
    numbers = [c.personal_id_number for c in result.accounts.credentials]
    assert [s.personal_id_number for s in subjects] == numbers
    registry = PopulationRegistry.from_url(settings.population_database_url())
    try:
        for subject in subjects:
            record = registry.get(subject.personal_id_number)
            assert record is not None
            assert subject.full_name == record.full_name
            assert subject.birth_date == record.birth_date.isoformat()
            assert subject.gender == record.gender
    finally:
        registry.close()
