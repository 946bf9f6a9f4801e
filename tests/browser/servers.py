"""The whole demo system as real processes for browser tests: the IdP and three portals.

``DemoSystem.start`` does what ``make demo`` does, in a temporary data directory and on
free loopback ports: ``natid demo --no-serve`` seeds a small population and gives the
demo citizens their accounts, then ``natid serve`` and ``natid portals serve NAME`` run
as child processes, as ``natid demo`` starts them. The demo ports (8000, 8101-8103) may
be busy (a developer's ``make demo``, another test worker), so each portal gets a
registration of its own: the demo registration from ``seeds/clients.toml`` with the
port in every URI replaced, under a new client id and secret that the portal receives
through its ``NATID_PORTAL_<NAME>_CLIENT_ID`` / ``_CLIENT_SECRET`` variables. A port
taken between the check and the server's start means new ports and new registrations.
"""

from __future__ import annotations

import dataclasses
import os
import random
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from identity_service.config import IdentitySettings
from identity_service.db import create_identity_engine, create_identity_schema
from identity_service.oidc.client_secrets import ClientSecretHasher
from identity_service.oidc.client_seeds import read_client_seeds
from identity_service.oidc.clients import ClientRegistry
from identity_service.oidc.registration import ClientRegistration
from natid.processes import Service, port_is_free, stop_all

REPO_ROOT = Path(__file__).resolve().parents[2]
CLIENT_SEEDS = REPO_ROOT / "seeds" / "clients.toml"
HOST = "127.0.0.1"
CITIZENS = 2_000
KEY_PASSPHRASE = "browser-tests-key-passphrase"
SERVER_SECRET = "browser-tests-server-secret"
START_TIMEOUT_SECONDS = 120.0  # two test workers and four servers share two cores
LAUNCH_ATTEMPTS = 3
# Below Linux's ephemeral range (32768-60999), from which every outgoing connection takes
# its local port: a port found free there may be taken again a moment later.
PORT_RANGE = (20_000, 32_000)
_random = random.SystemRandom()

# Portal name on the command line → (its demo client id, its settings' environment prefix).
PORTALS = {
    "public-services": ("public-services-portal", "NATID_PORTAL_PUBLIC_SERVICES_"),
    "bank": ("demo-bank", "NATID_PORTAL_BANK_"),
    "clinic": ("demo-clinic", "NATID_PORTAL_CLINIC_"),
}


class SystemStartError(RuntimeError):
    """A command or a server failed; the message carries the end of its output."""


class PortTakenError(SystemStartError):
    """Another process took a chosen port between the check and the server's start."""


def free_port(taken: set[int]) -> int:
    """A port free now, outside ``taken``, drawn below the ephemeral range."""
    while True:
        port = _random.randint(*PORT_RANGE)
        if port not in taken and port_is_free(HOST, port):
            return port


@dataclass
class DemoSystem:
    directory: Path
    idp_port: int = 0
    portal_ports: dict[str, int] = field(default_factory=dict)
    services: list[Service] = field(default_factory=list)

    @property
    def issuer(self) -> str:
        return f"http://{HOST}:{self.idp_port}"

    def portal_url(self, name: str) -> str:
        return f"http://{HOST}:{self.portal_ports[name]}"

    def settings(self) -> IdentitySettings:
        """The IdP's settings: real argon2 parameters, the keys sealed with a passphrase."""
        return IdentitySettings(
            data_dir=self.directory / "idp",
            issuer=self.issuer,
            key_passphrase=KEY_PASSPHRASE,
            secret_key=SERVER_SECRET,
        )

    def environment(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        """This process's environment without the developer's NATID_*, plus the IdP's."""
        environment = {k: v for k, v in os.environ.items() if not k.startswith("NATID_")}
        for name, value in self.settings().model_dump().items():
            if value is not None:
                environment[f"NATID_{name.upper()}"] = str(value)
        environment.update(extra or {})
        return environment

    def start(self) -> None:
        """Seed, give accounts, then register the portals and start all four servers;
        stop them all if any fails. A port taken meanwhile means new ports and another try
        (the new registrations name the new ports)."""
        self._choose_ports()
        self._natid("demo", "--citizens", str(CITIZENS), "--no-serve")
        for attempt in range(1, LAUNCH_ATTEMPTS + 1):
            try:
                self._launch(self._register_portals())
                return
            except PortTakenError:
                self.stop()
                if attempt == LAUNCH_ATTEMPTS:
                    raise
                self._choose_ports()
            except BaseException:
                self.stop()
                raise

    def stop(self) -> None:
        stop_all(self.services)
        self.services.clear()

    def _choose_ports(self) -> None:
        taken: set[int] = set()
        self.idp_port = free_port(taken)
        taken.add(self.idp_port)
        for name in PORTALS:
            self.portal_ports[name] = free_port(taken)
            taken.add(self.portal_ports[name])

    def _natid(self, *arguments: str) -> None:
        result = subprocess.run(
            [sys.executable, "-m", "natid", *arguments],
            env=self.environment(),
            cwd=REPO_ROOT,
            capture_output=True,  # the demo prints the demo passwords: keep them out of logs
            text=True,
            timeout=120,
        )
        if result.returncode != 0:
            raise SystemStartError(f"natid {arguments[0]} failed: {result.stderr[-2000:]}")

    def _register_portals(self) -> dict[str, tuple[str, str | None]]:
        """Each portal's demo registration moved to its test port; name → (id, secret).

        The bank's secret is None: it authenticates with its DEMO key (FAPI 2.0)."""
        demo = {seed.client_id: seed for seed in read_client_seeds(CLIENT_SEEDS)}
        settings = self.settings()
        engine = create_identity_engine(settings.identity_database_url())
        try:
            create_identity_schema(engine)
            registry = ClientRegistry(engine, ClientSecretHasher(settings.server_secret()))
            credentials = {}
            for name, (client_id, _prefix) in PORTALS.items():
                registration = self._moved(demo[client_id], name)
                created = registry.register(registration)
                credentials[name] = (created.client.client_id, created.client_secret)
        finally:
            engine.dispose()
        return credentials

    def _moved(self, seed: ClientRegistration, name: str) -> ClientRegistration:
        old = seed.redirect_uris[0].rsplit("/auth/callback", 1)[0]
        new = self.portal_url(name)

        def move(uri: str) -> str:
            assert uri.startswith(old), f"{seed.client_id}: {uri} is not under {old}"
            return new + uri[len(old) :]

        return dataclasses.replace(
            seed,
            client_id=None,
            client_secret=None,
            redirect_uris=tuple(map(move, seed.redirect_uris)),
            post_logout_redirect_uris=tuple(map(move, seed.post_logout_redirect_uris)),
            backchannel_logout_uri=(
                move(seed.backchannel_logout_uri) if seed.backchannel_logout_uri else None
            ),
        )

    def _launch(self, credentials: dict[str, tuple[str, str | None]]) -> None:
        """Start the four servers at once, then wait until each answers."""
        idp = Service(
            "IdP",
            self.idp_port,
            ["serve", "--host", HOST, "--port", str(self.idp_port)],
            f"{self.issuer}/.well-known/openid-configuration",
        )
        self._spawn(idp, self.environment())
        for name, (_client_id, prefix) in PORTALS.items():
            port = self.portal_ports[name]
            portal = Service(
                name,
                port,
                ["portals", "serve", name, "--port", str(port), "--issuer", self.issuer,
                 "--data-dir", str(self.directory / "portals"), "--log-level", "warning"],
                f"{self.portal_url(name)}/",
            )  # fmt: skip
            client_id, client_secret = credentials[name]
            extra = {f"{prefix}CLIENT_ID": client_id}
            if client_secret is not None:
                extra[f"{prefix}CLIENT_SECRET"] = client_secret
            self._spawn(portal, self.environment(extra))
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        for service in self.services:
            self._wait_ready(service, deadline)

    def _log_path(self, service: Service) -> Path:
        return self.directory / "logs" / f"{service.name}.log"

    def _spawn(self, service: Service, environment: dict[str, str]) -> None:
        log = self._log_path(service)
        log.parent.mkdir(parents=True, exist_ok=True)
        with log.open("wb") as output:
            service.process = subprocess.Popen(
                [sys.executable, "-m", "natid", *service.arguments],
                env=environment,
                cwd=REPO_ROOT,
                stdout=output,
                stderr=subprocess.STDOUT,
            )
        self.services.append(service)

    def _wait_ready(self, service: Service, deadline: float) -> None:
        assert service.process is not None
        while time.monotonic() < deadline:
            if service.process.poll() is not None:
                log = self.log_tail(service)
                error = PortTakenError if "already in use" in log else SystemStartError
                raise error(f"{service.name} exited ({service.process.returncode}): {log}")
            try:
                if httpx.get(service.ready_url, timeout=1.0).status_code < 500:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise SystemStartError(
            f"{service.name} did not answer at {service.ready_url}: {self.log_tail(service)}"
        )

    def log_tail(self, service: Service, characters: int = 2000) -> str:
        log = self._log_path(service)
        return log.read_text(errors="replace")[-characters:] if log.exists() else "(no log)"
