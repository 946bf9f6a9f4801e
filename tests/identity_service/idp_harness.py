"""A running IdP for the e-KYC, account page, audit and observability tests.

Builds on ``oidc/environment.py`` (seeded population, identity database with keys, cheap
argon2) and adds what these tests need: a relying party registered for ``kyc.verify``
with the client credentials grant, its access tokens, the JWKS as PyJWT keys, and reading
``/metrics`` as samples.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import jwt
from fastapi import FastAPI
from prometheus_client.parser import text_string_to_metric_families

from identity_service.api.deps import IdentityServices
from identity_service.config import IdentitySettings
from identity_service.oidc.registration import ClientRegistration
from identity_service.state import MemoryStateStore
from population_db.identifiers import PersonalIdNumber
from tests.identity_service.oidc.environment import close_app, make_app, make_settings
from tests.identity_service.oidc.support import FakeClock

KYC_CLIENT = "kyc-test-bank"
KYC_SCOPE = "kyc.verify"


@dataclass
class RunningIdp:
    app: FastAPI
    clock: FakeClock
    state: MemoryStateStore

    @property
    def services(self) -> IdentityServices:
        return self.app.state.services

    def close(self) -> None:
        self.services.audit_writer.close()
        close_app(self.app)


def start_idp(
    directory: Path,
    population_url: str,
    template: Path,
    clock: FakeClock,
    **overrides: Any,
) -> RunningIdp:
    """An app on its own copy of the identity database, with ``overrides`` in its settings."""
    settings = make_settings(directory, population_url, template)
    if overrides:
        settings = IdentitySettings(**{**settings.model_dump(), **overrides})
    state = MemoryStateStore(clock=clock)
    return RunningIdp(make_app(settings, state, clock), clock, state)


def copy_population(source_url: str, directory: Path) -> str:
    """A private copy of a SQLite population database (for tests that change records)."""
    source = Path(source_url.removeprefix("sqlite:///"))
    target = directory / "population-copy.db"
    shutil.copyfile(source, target)
    return f"sqlite:///{target}"


def register_kyc_client(services: IdentityServices, client_id: str = KYC_CLIENT) -> str:
    """Register a bank back-end for ``kyc.verify`` (client credentials); its secret."""
    new = services.clients.register(
        ClientRegistration(
            name=f"{client_id} (KYC)",
            redirect_uris=(),
            scopes=(KYC_SCOPE,),
            grant_types=("client_credentials",),
            token_endpoint_auth_method="client_secret_basic",
            client_id=client_id,
        )
    )
    assert new.client_secret is not None
    return new.client_secret


def kyc_token(
    services: IdentityServices,
    client_id: str = KYC_CLIENT,
    *,
    scope: str = KYC_SCOPE,
    subject: str | None = None,
    ttl: int = 600,
) -> str:
    """An access token as the client credentials grant issues it (sub = client_id)."""
    return services.tokens.access_token(
        client_id=client_id, subject=subject or client_id, scope=scope, ttl=ttl
    )


async def jwks_keys(http: httpx.AsyncClient) -> jwt.PyJWKSet:
    response = await http.get("/jwks")
    assert response.status_code == 200
    return jwt.PyJWKSet.from_dict(response.json())


async def metric_samples(http: httpx.AsyncClient) -> dict[tuple[str, tuple], float]:
    """``/metrics`` as {(sample name, sorted labels): value}."""
    response = await http.get("/metrics")
    assert response.status_code == 200
    samples: dict[tuple[str, tuple], float] = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def metric(samples: dict[tuple[str, tuple], float], name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def unknown_number(services: IdentityServices, birth_year: int, gender: str) -> str:
    """A well-formed ID number that no citizen of the test population has."""
    for random_part in range(999_999, 0, -7):
        number = PersonalIdNumber.build(1, birth_year, gender, random_part).value
        if services.population.get(number) is None:
            return number
    raise AssertionError("no free ID number")
