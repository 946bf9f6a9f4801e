"""Settings of the identity service (``NATID_`` environment variables).

Owns the configuration of the e-ID accounts and the OpenID Connect provider and the one
piece of state that settings derive lazily: the server secret. Built by the caller (CLI
command or ``create_app``), never at import time.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from pydantic_settings import BaseSettings, SettingsConfigDict

SERVER_SECRET_FILE = "server_secret"
SERVER_SECRET_BYTES = 32


class IdentitySettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="NATID_", extra="ignore")

    data_dir: Path = Path("var")
    issuer: str = "http://127.0.0.1:8000"
    identity_db_url: str | None = None
    population_db_url: str | None = None
    redis_url: str | None = None
    # Every key in Redis starts with this: several deployments (or test runs) can share
    # one Redis without seeing each other's codes, sessions and counters.
    redis_prefix: str = "natid:"
    # None means the development passphrase: the key store warns loudly when it is used.
    key_passphrase: str | None = None
    # Server secret for pairwise subjects, CSRF and cookie signing; None means one is
    # generated once and kept in <data_dir>/server_secret.
    secret_key: str | None = None

    argon2_memory_kib: int = 19456
    argon2_time_cost: int = 2
    argon2_parallelism: int = 1

    lockout_threshold: int = 5
    lockout_base_seconds: int = 60
    lockout_max_seconds: int = 3600
    ip_attempts_per_minute: int = 30

    authorization_code_ttl: int = 60
    # RFC 9126: how long a pushed authorization request waits for the browser (≤ 60 s).
    pushed_request_ttl: int = 60
    # RFC 9449 §8-9: DPoP proofs must carry a server nonce (``use_dpop_nonce`` otherwise).
    dpop_require_nonce: bool = True
    id_token_ttl: int = 600
    access_token_ttl: int = 600
    refresh_token_ttl: int = 30 * 24 * 3600
    sso_session_ttl: int = 8 * 3600

    # e-KYC verify API, per relying party: a burst limit per wall-clock second and a quota
    # per day (Vietnam time). High by default so that load tests measure the service,
    # not the limiter; lower them for a real deployment.
    kyc_requests_per_second: int = 5000
    kyc_daily_quota: int = 1_000_000

    def identity_database_url(self) -> str:
        """The configured URL, else ``identity.db`` in the data directory."""
        if self.identity_db_url:
            return self.identity_db_url
        return f"sqlite:///{(self.data_dir / 'identity.db').as_posix()}"

    def population_database_url(self) -> str:
        """The configured URL, else ``population.db`` in the data directory."""
        if self.population_db_url:
            return self.population_db_url
        return f"sqlite:///{(self.data_dir / 'population.db').as_posix()}"

    def longest_token_ttl(self) -> int:
        """Seconds a signing key must stay published after rotation (longest JWT lifetime)."""
        return max(self.id_token_ttl, self.access_token_ttl)

    def server_secret(self) -> bytes:
        """The configured secret, else the one kept in ``<data_dir>/server_secret``.

        The file is created on first use with mode 0600. It is written under a temporary
        name and linked into place, so it appears complete or not at all, and several
        workers starting at once all end up with the same secret.
        """
        if self.secret_key:
            return self.secret_key.encode("utf-8")
        path = self.data_dir / SERVER_SECRET_FILE
        if path.exists():
            return _read_secret(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        secret = secrets.token_bytes(SERVER_SECRET_BYTES)
        temporary = path.with_name(f".{SERVER_SECRET_FILE}.{os.getpid()}.{secrets.token_hex(4)}")
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(descriptor, "w", encoding="ascii") as handle:
                handle.write(secret.hex())
            try:
                os.link(temporary, path)
            except FileExistsError:
                # Another process won the race; everyone uses its secret.
                return _read_secret(path)
        finally:
            temporary.unlink(missing_ok=True)
        return secret


def _read_secret(path: Path) -> bytes:
    return bytes.fromhex(path.read_text(encoding="ascii").strip())
