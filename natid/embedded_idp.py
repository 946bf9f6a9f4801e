"""An in-process natid for integrators' test suites (what the ``natid`` pytest plugin runs).

``EmbeddedIdp.start`` seeds a small synthetic population into a directory, gives the demo
citizens their accounts, registers a test portal and serves the real identity service
with uvicorn on a loopback port of its own, in a background thread. Everything is real:
the population rules, argon2id (with deliberately cheap parameters), PKCE, consent,
lockout, signed tokens. Only the storage is small and private to the run.

A portal under test talks to ``issuer`` over HTTP like it would to the real service, or
in-process through ``transport()`` (an ``httpx.ASGITransport``). ``login`` performs the
whole authorization-code flow with PKCE for a citizen (``natid.oidc_flow``);
``browser().authorize(url, ...)`` plays only the citizen's part for a portal that builds
its own requests. Settings are built explicitly: nothing is read from ``NATID_*``.
"""

from __future__ import annotations

import secrets
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy import select

from identity_service.accounts.errors import RegistrationError
from identity_service.api.deps import IdentityServices
from identity_service.app import create_app
from identity_service.config import IdentitySettings
from identity_service.jwk import generate_private_key, jwk_thumbprint, public_jwk_members
from identity_service.oidc.registration import ClientRegistration
from identity_service.state import MemoryStateStore
from natid.background_server import BackgroundServer, loopback_listener
from natid.citizen_browser import CitizenBrowser
from natid.oidc_flow import CitizenCredentials, PortalClient, TokenSet, client_credentials, log_in
from population_db.loader import seed_population
from population_db.models import Citizen
from population_db.registry import CitizenRecord

DEFAULT_CITIZENS = 500
DEFAULT_SEED = 5
DEFAULT_REDIRECT_URIS = ("http://localhost:8080/auth/callback",)
DEFAULT_SCOPES = ("openid", "profile", "national_id", "address", "phone", "household")
# Real argon2id, cheap enough that tests stay fast (never for a deployment).
CHEAP_ARGON2 = {"argon2_memory_kib": 1024, "argon2_time_cost": 1, "argon2_parallelism": 1}
CANDIDATE_BATCH = 100


@dataclass(frozen=True, slots=True)
class IdpOptions:
    """What the embedded natid is started with (the plugin reads them from pytest.ini)."""

    citizens: int = DEFAULT_CITIZENS
    seed: int = DEFAULT_SEED
    redirect_uris: tuple[str, ...] = DEFAULT_REDIRECT_URIS
    post_logout_redirect_uris: tuple[str, ...] = ()
    scopes: tuple[str, ...] = DEFAULT_SCOPES
    client_name: str = "Test portal"
    auth_method: str = "client_secret_basic"
    min_level: int = 1
    settings: dict[str, Any] = field(default_factory=dict)  # e.g. {"id_token_ttl": 60}


class EmbeddedIdp:
    """A running natid; ``close()`` stops it (the plugin does at the end of the session)."""

    def __init__(self, app: FastAPI, issuer: str, server: BackgroundServer | None = None) -> None:
        self.app = app
        self.issuer = issuer
        self._server = server
        self.http = httpx.Client(base_url=issuer, timeout=30)
        self.citizens: list[CitizenCredentials] = [
            CitizenCredentials(
                demo.personal_id_number, demo.password, demo.level, demo.totp_secret, demo.full_name
            )
            for demo in self.services.accounts.ensure_demo_accounts()
        ]
        self.portal: PortalClient | None = None
        self._next_candidate = 0
        self._lock = threading.Lock()

    @classmethod
    def start(cls, directory: Path, options: IdpOptions | None = None) -> EmbeddedIdp:
        """Seed, build and serve natid under ``directory``; register the test portal."""
        options = options or IdpOptions()
        directory.mkdir(parents=True, exist_ok=True)
        population_url = f"sqlite:///{(directory / 'population.db').as_posix()}"
        seed_population(population_url, options.citizens, seed=options.seed)
        listener, issuer = loopback_listener()
        no_seeds = directory / "clients.toml"
        no_seeds.write_text("# the embedded natid registers its clients itself\n")
        app = create_app(
            _settings(directory, issuer, population_url, options.settings),
            state_store=MemoryStateStore(),
            client_seeds=no_seeds,
        )
        idp = cls(app, issuer, BackgroundServer.start(app, listener))
        idp.portal = idp.client(
            name=options.client_name,
            redirect_uris=options.redirect_uris,
            scopes=options.scopes,
            auth_method=options.auth_method,
            min_level=options.min_level,
            post_logout_redirect_uris=options.post_logout_redirect_uris,
        )
        return idp

    @property
    def services(self) -> IdentityServices:
        return self.app.state.services

    # -- for the portal under test -----------------------------------------------------------

    @property
    def discovery_url(self) -> str:
        return f"{self.issuer}/.well-known/openid-configuration"

    def transport(self) -> httpx.ASGITransport:
        """An in-process transport to the same natid (for an ``httpx.AsyncClient``)."""
        return httpx.ASGITransport(app=self.app)

    def jwks(self) -> dict[str, Any]:
        return self.http.get("/jwks").raise_for_status().json()

    def client(
        self,
        *,
        name: str = "Test portal",
        redirect_uris: Iterable[str] = DEFAULT_REDIRECT_URIS,
        scopes: Iterable[str] = DEFAULT_SCOPES,
        auth_method: str = "client_secret_basic",
        grant_types: Iterable[str] | None = None,
        min_level: int = 1,
        id_token_alg: str | None = None,
        sector_identifier: str | None = None,
        post_logout_redirect_uris: Iterable[str] = (),
        backchannel_logout_uri: str | None = None,
    ) -> PortalClient:
        """Register another portal (``private_key_jwt``: a key pair is made for it)."""
        scopes = tuple(scopes)
        if grant_types is None:
            grant_types = ("authorization_code",)
            if "offline_access" in scopes:
                grant_types = (*grant_types, "refresh_token")
            if "kyc.verify" in scopes:
                grant_types = (*grant_types, "client_credentials")
        private_key, jwks, kid = None, None, None
        if auth_method == "private_key_jwt":
            private_key = generate_private_key("ES256")
            public = public_jwk_members(private_key.public_key())
            kid = jwk_thumbprint(public)
            jwks = {"keys": [{**public, "kid": kid, "alg": "ES256", "use": "sig"}]}
        created = self.services.clients.register(
            ClientRegistration(
                name=name,
                redirect_uris=tuple(redirect_uris),
                scopes=scopes,
                token_endpoint_auth_method=auth_method,
                jwks=jwks,
                min_level=min_level,
                grant_types=tuple(grant_types),
                id_token_signed_response_alg=id_token_alg,
                sector_identifier=sector_identifier,
                post_logout_redirect_uris=tuple(post_logout_redirect_uris),
                backchannel_logout_uri=backchannel_logout_uri,
            )
        )
        registered = created.client
        return PortalClient(
            client_id=registered.client_id,
            client_secret=created.client_secret,
            redirect_uris=registered.redirect_uris,
            scopes=registered.scopes,
            auth_method=registered.token_endpoint_auth_method,
            private_key=private_key,
            kid=kid,
        )

    # -- citizens ----------------------------------------------------------------------------

    def citizen(self, level: int = 1) -> CitizenCredentials:
        """The first demo citizen whose account is at ``level``."""
        return next(citizen for citizen in self.citizens if citizen.level == level)

    def new_citizen(self, level: int = 1) -> CitizenCredentials:
        """A citizen of the seeded population registered now, through natid's own rules
        (alive, at least 14, name, birth date and phone as recorded), with a fresh random
        password and, at level 2, a fresh authenticator. Each call gives another citizen."""
        accounts = self.services.accounts
        with self._lock:
            for record in self._candidates():
                password = f"test-{secrets.token_urlsafe(12)}"
                try:
                    accounts.register(
                        record.personal_id_number,
                        record.full_name,
                        record.birth_date,
                        record.phone or "",
                        password,
                    )
                except RegistrationError:
                    continue  # too young, deceased, already registered, no phone...
                secret = None
                if level >= 2:
                    secret = accounts.upgrade_to_level2(record.personal_id_number).secret
                return CitizenCredentials(
                    record.personal_id_number, password, level, secret, record.full_name
                )
        raise LookupError("no citizen without an account is left in the test population")

    # -- logins ------------------------------------------------------------------------------

    def browser(self) -> CitizenBrowser:
        """A citizen's browser; logins through the same one share an SSO session."""
        return CitizenBrowser(self.issuer)

    def login(
        self,
        personal_id_number: str,
        password: str,
        *,
        totp_secret: str | None = None,
        scopes: Iterable[str] | None = None,
        acr_values: str | Iterable[str] | None = None,
        client: PortalClient | None = None,
        redirect_uri: str | None = None,
        browser: CitizenBrowser | None = None,
        consent: bool = True,
        **parameters: str,
    ) -> TokenSet:
        """Log a citizen in at ``client`` (the test portal by default) with the whole
        authorization-code flow and PKCE; the verified tokens and the userinfo claims.

        Raises ``AuthorizationError`` when natid answers the portal with an error (e.g.
        ``access_denied`` with ``consent=False``, ``login_required`` with
        ``prompt="none"`` and no session) and ``CitizenLoginError`` when its pages refuse.
        """
        portal = client or self.portal
        assert portal is not None, "the embedded natid has no test portal"
        # natid's pages (and so the messages of CitizenLoginError) in English unless asked.
        parameters.setdefault("ui_locales", "en")
        own_browser = browser is None
        citizen_browser = browser or self.browser()
        try:
            return log_in(
                self.http,
                self.issuer,
                portal,
                citizen_browser,
                personal_id_number,
                password,
                totp_secret=totp_secret,
                scopes=tuple(scopes) if scopes is not None else None,
                acr_values=acr_values,
                redirect_uri=redirect_uri,
                consent=consent,
                parameters=parameters,
            )
        finally:
            if own_browser:
                citizen_browser.close()

    def machine_token(self, client: PortalClient, scope: str = "kyc.verify") -> str:
        """An access token from the client credentials grant (e.g. for the e-KYC API)."""
        return client_credentials(self.http, self.issuer, client, scope)

    # -- life cycle --------------------------------------------------------------------------

    def close(self) -> None:
        self.http.close()
        if self._server is not None:
            self._server.stop()

    def _candidates(self) -> Iterator[CitizenRecord]:
        """Population records in a fixed order, each offered once over the run."""
        registry = self.services.population
        while True:
            query = (
                select(Citizen.personal_id_number)
                .order_by(Citizen.personal_id_number)
                .offset(self._next_candidate)
                .limit(CANDIDATE_BATCH)
            )
            with registry.engine.connect() as connection:
                numbers = list(connection.execute(query).scalars())
            if not numbers:
                return
            for number in numbers:
                self._next_candidate += 1
                record = registry.get(number)
                if record is not None:
                    yield record


def _settings(
    directory: Path, issuer: str, population_url: str, overrides: dict[str, Any]
) -> IdentitySettings:
    """Every field given explicitly, so the developer's ``NATID_*`` variables never apply."""
    values = {
        name: info.get_default(call_default_factory=True)
        for name, info in IdentitySettings.model_fields.items()
    }
    values.update(
        data_dir=directory,
        issuer=issuer,
        identity_db_url=f"sqlite:///{(directory / 'identity.db').as_posix()}",
        population_db_url=population_url,
        redis_url=None,
        secret_key=secrets.token_urlsafe(32),
        key_passphrase=secrets.token_urlsafe(16),
        **CHEAP_ARGON2,
    )
    values.update(overrides)
    return IdentitySettings(**values)
