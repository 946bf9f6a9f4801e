"""One natid deployment for a test: its databases, its Redis key prefix, its processes.

``Deployment.prepare`` does what an operator does before starting servers — ``natid db
upgrade`` (run as the real command when asked), then seeds a small population and gives
citizens load-test accounts (through the same functions ``natid population seed`` and
``natid accounts provision`` call, in-process to save the start-up of more commands).
``server()`` makes a ``natid serve`` process with the deployment's environment.
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import redis
from sqlalchemy import Engine

from identity_service.accounts.passwords import PasswordHashing
from identity_service.accounts.provisioning import (
    LoadTestCredential,
    provision_load_test_accounts,
)
from identity_service.audit import AuditLog
from identity_service.config import IdentitySettings
from identity_service.db import create_identity_engine, create_identity_schema
from population_db.loader import seed_population
from population_db.registry import PopulationRegistry
from tests.identity_service.oidc.environment import CHEAP_ARGON2, TEST_PASSPHRASE, TEST_SECRET
from tests.identity_service.oidc.support import ISSUER
from tests.scale.services import REPO_ROOT, ServerProcess

CITIZENS = 200
SEED = 11


@dataclass
class Deployment:
    directory: Path
    identity_url: str
    population_url: str
    redis_url: str | None = None
    redis_prefix: str = field(default_factory=lambda: f"natid_test:{uuid.uuid4().hex}:")
    extra_environment: dict[str, str] = field(default_factory=dict)
    servers: list[ServerProcess] = field(default_factory=list)

    def settings(self) -> IdentitySettings:
        return IdentitySettings(
            data_dir=self.directory,
            issuer=ISSUER,
            identity_db_url=self.identity_url,
            population_db_url=self.population_url,
            redis_url=self.redis_url,
            redis_prefix=self.redis_prefix,
            secret_key=TEST_SECRET,
            key_passphrase=TEST_PASSPHRASE,
            **CHEAP_ARGON2,
        )

    def environment(self) -> dict[str, str]:
        """This process's environment without any NATID_* of the developer, plus ours."""
        environment = {k: v for k, v in os.environ.items() if not k.startswith("NATID_")}
        for name, value in self.settings().model_dump().items():
            if value is not None:
                environment[f"NATID_{name.upper()}"] = str(value)
        environment.update(self.extra_environment)
        return environment

    def natid(self, *arguments: str) -> str:
        """Run ``natid ARGUMENTS`` with this deployment's environment; its output."""
        result = subprocess.run(
            [sys.executable, "-m", "natid", *arguments],
            env=self.environment(),
            cwd=REPO_ROOT,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert result.returncode == 0, f"natid {' '.join(arguments)}: {result.stderr}"
        return result.stdout

    def prepare(self, accounts: int, *, upgrade_command: bool = False) -> list[LoadTestCredential]:
        """Schemas, a population, ``accounts`` load-test accounts; their credentials.

        With ``upgrade_command`` the schemas are made by ``natid db upgrade``; else
        seeding and the identity startup policy make them (new databases), in-process.
        """
        if upgrade_command:
            self.natid("db", "upgrade")
        seed_population(self.population_url, CITIZENS, SEED)
        settings = self.settings()
        registry = PopulationRegistry.from_url(self.population_url)
        try:
            with self.identity_engine() as engine:
                create_identity_schema(engine)
                result = provision_load_test_accounts(
                    engine, registry, PasswordHashing.from_settings(settings), accounts
                )
        finally:
            registry.close()
        return result.credentials

    def server(self) -> ServerProcess:
        process = ServerProcess(self.environment(), self.directory)
        self.servers.append(process)
        return process

    @contextmanager
    def identity_engine(self) -> Iterator[Engine]:
        engine = create_identity_engine(self.identity_url)
        try:
            yield engine
        finally:
            engine.dispose()

    def audit_log(self, engine: Engine) -> AuditLog:
        return AuditLog(engine, TEST_SECRET.encode())

    def close(self) -> None:
        for server in self.servers:
            server.stop()
        if self.redis_url:
            client = redis.Redis.from_url(self.redis_url, socket_timeout=2)
            try:
                for key in client.scan_iter(match=f"{self.redis_prefix}*"):
                    client.delete(key)
            except redis.exceptions.ConnectionError:
                pass  # a private Redis the test has already stopped
            finally:
                client.close()
