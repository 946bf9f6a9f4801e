"""Preparing an IdP for a load test: load-test clients and accounts, written for Locust.

``provision_load_test`` registers the dedicated load-test clients in the identity
database (through the client registry, as ``natid clients add`` does) and gives seeded
citizens load-test accounts (``natid accounts provision``), then writes ``clients.json``,
``accounts.json`` and ``kyc_subjects.json`` (the same citizens' name, birth date and
gender as a bank would hold them) into one directory that Locust reads
(``loadtests.config``).

The clients sign ID tokens with ES256: the IdP's cost per login should be the password
hash, not an RSA signature (RS256 signing costs ~1 ms, ES256 ~20 µs). Their ids are fixed
and their secrets kept from the previous ``clients.json`` when there is one, so
provisioning again changes nothing. Run it before the server starts: a running server
caches clients for up to 30 s.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass, replace
from pathlib import Path

import sqlalchemy as sa

from identity_service.accounts.passwords import PasswordHashing
from identity_service.accounts.provisioning import (
    CHUNK_SIZE,
    ProvisionResult,
    provision_load_test_accounts,
    write_credentials_file,
)
from identity_service.config import IdentitySettings
from identity_service.db import create_identity_engine, create_identity_schema
from identity_service.oidc.client_secrets import ClientSecretHasher
from identity_service.oidc.clients import ClientRegistry
from identity_service.oidc.registration import ClientRegistration
from loadtests.config import (
    ACCOUNTS_FILE,
    CLIENTS_FILE,
    KYC_SUBJECTS_FILE,
    KycSubject,
    LoadTestClient,
    LoadTestClients,
    LoadTestConfigError,
    read_clients,
)
from population_db.db import CITIZEN_TABLE
from population_db.registry import PopulationRegistry

ID_TOKEN_ALGORITHM = "ES256"
# Nothing listens there: the load test reads the code off the redirect, as a portal's
# callback would, without following it.
REDIRECT_BASE = "http://127.0.0.1:9/loadtest"
PORTAL_SCOPE = "openid profile"
REFRESH_SCOPE = "offline_access"
KYC_SCOPE = "kyc.verify"


@dataclass(frozen=True, slots=True)
class ProvisionedLoadTest:
    directory: Path
    clients: LoadTestClients
    accounts: ProvisionResult


def provision_load_test(
    settings: IdentitySettings, directory: Path, accounts: int
) -> ProvisionedLoadTest:
    """Register the load-test clients, provision ``accounts`` accounts, write both files."""
    directory.mkdir(parents=True, exist_ok=True)
    engine = create_identity_engine(settings.identity_database_url())
    registry = None
    try:
        create_identity_schema(engine)
        clients = _register_clients(
            ClientRegistry(engine, ClientSecretHasher(settings.server_secret())),
            _previous_secrets(directory / CLIENTS_FILE),
        )
        registry = PopulationRegistry.from_url(settings.population_database_url())
        result = provision_load_test_accounts(
            engine, registry, PasswordHashing.from_settings(settings), accounts
        )
        subjects = _kyc_subjects(registry, [c.personal_id_number for c in result.credentials])
    finally:
        if registry is not None:
            registry.close()
        engine.dispose()
    write_credentials_file(directory / ACCOUNTS_FILE, result.credentials)
    _write_private_json(directory / CLIENTS_FILE, clients.as_json())
    _write_private_json(directory / KYC_SUBJECTS_FILE, [s.as_json() for s in subjects])
    return ProvisionedLoadTest(directory, clients, result)


def _registrations() -> dict[str, ClientRegistration]:
    """The load-test clients by role (see ``LoadTestClients``)."""
    return {
        "portal": ClientRegistration(
            client_id="loadtest-portal",
            name="Load-test portal",
            redirect_uris=(f"{REDIRECT_BASE}/portal/callback",),
            scopes=(*PORTAL_SCOPE.split(), REFRESH_SCOPE),
            grant_types=("authorization_code", "refresh_token"),
            id_token_signed_response_alg=ID_TOKEN_ALGORITHM,
            sector_identifier="loadtest-portal.natid.test",
        ),
        "second_portal": ClientRegistration(
            client_id="loadtest-second-portal",
            name="Load-test second portal (SSO)",
            redirect_uris=(f"{REDIRECT_BASE}/second-portal/callback",),
            scopes=tuple(PORTAL_SCOPE.split()),
            id_token_signed_response_alg=ID_TOKEN_ALGORITHM,
            sector_identifier="loadtest-second-portal.natid.test",
        ),
        "bank": ClientRegistration(
            client_id="loadtest-bank",
            name="Load-test bank back-end (e-KYC)",
            redirect_uris=(),
            scopes=(KYC_SCOPE,),
            grant_types=("client_credentials",),
        ),
    }


def _register_clients(registry: ClientRegistry, previous: dict[str, str]) -> LoadTestClients:
    registered: dict[str, LoadTestClient] = {}
    for role, registration in _registrations().items():
        assert registration.client_id is not None
        secret = previous.get(registration.client_id) or secrets.token_urlsafe(32)
        registry.upsert(replace(registration, client_secret=secret))
        redirect_uri = registration.redirect_uris[0] if registration.redirect_uris else None
        scope = PORTAL_SCOPE if role != "bank" else KYC_SCOPE
        registered[role] = LoadTestClient(registration.client_id, secret, scope, redirect_uri)
    return LoadTestClients(
        portal=registered["portal"],
        second_portal=registered["second_portal"],
        bank=registered["bank"],
    )


def _kyc_subjects(registry: PopulationRegistry, numbers: list[str]) -> list[KycSubject]:
    """The population records' name, birth date and gender, in the order of ``numbers``."""
    citizen = CITIZEN_TABLE
    columns = (citizen.c.personal_id_number, citizen.c.full_name, citizen.c.birth_date,
               citizen.c.gender)  # fmt: skip
    found: dict[str, KycSubject] = {}
    with registry.engine.connect() as connection:
        for start in range(0, len(numbers), CHUNK_SIZE):
            chunk = numbers[start : start + CHUNK_SIZE]
            query = sa.select(*columns).where(citizen.c.personal_id_number.in_(chunk))
            for number, name, born, gender in connection.execute(query):
                found[number] = KycSubject(number, name, born.isoformat(), gender)
    return [found[number] for number in numbers if number in found]


def _previous_secrets(path: Path) -> dict[str, str]:
    if not path.exists():
        return {}
    try:
        clients = read_clients(path)
    except LoadTestConfigError:
        return {}  # unreadable: new secrets, written over it
    known = [clients.portal, clients.second_portal, clients.bank]
    return {client.client_id: client.client_secret for client in known if client is not None}


def _write_private_json(path: Path, data: object) -> None:
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.unlink(missing_ok=True)
    with temporary.open("x", encoding="utf-8") as handle:
        temporary.chmod(0o600)
        json.dump(data, handle, indent=2)
    temporary.replace(path)
