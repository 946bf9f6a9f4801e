"""Portal settings (pydantic-settings): where the IdP is, who the portal is, where it keeps data.

Every portal has its own subclass with its own environment prefix
(``NATID_PORTAL_BANK_CLIENT_SECRET`` …) and its demo registration as defaults, so three
portals started from one shell never read each other's client secret. Tests and the
command line pass values explicitly.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from pydantic import SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

SESSION_SECRET_BYTES = 32
DEFAULT_ISSUER = "http://127.0.0.1:8000"


class PortalSettings(BaseSettings):
    """What one portal needs to know; subclasses set the defaults of a demo portal."""

    model_config = SettingsConfigDict(env_prefix="NATID_PORTAL_", extra="ignore")

    # The IdP's issuer; discovery is at {issuer}/.well-known/openid-configuration.
    issuer: str = DEFAULT_ISSUER
    client_id: str
    client_secret: SecretStr | None = None
    token_endpoint_auth_method: Literal[
        "client_secret_basic", "client_secret_post", "private_key_jwt"
    ] = "client_secret_basic"
    # The high-assurance profile (a FAPI 2.0 registration needs all three): authorization
    # requests pushed to the PAR endpoint (RFC 9126), tokens bound to a DPoP key of the
    # portal (RFC 9449). private_key_jwt needs the portal's private key (the app's).
    pushed_authorization_requests: bool = False
    dpop: bool = False
    scopes: str = "openid profile"
    # The portal's own origin as the browser sees it; the callback is {base_url}/auth/callback.
    base_url: str
    # Keys the digests of session ids and the CSRF tokens; None → kept in the data dir.
    session_secret: SecretStr | None = None
    session_ttl_seconds: int = 8 * 3600
    data_dir: Path = Path("var")
    # The portal's own database; None → sqlite:///<data_dir>/portal_<name>.db.
    database_url: str | None = None
    # An unknown signing key id triggers a JWKS refetch at most this often.
    jwks_min_refetch_seconds: float = 10.0
    # Tolerated clock difference with the IdP when checking exp and iat.
    clock_skew_seconds: int = 60

    @property
    def redirect_uri(self) -> str:
        return f"{self.base_url.rstrip('/')}/auth/callback"

    @property
    def home_url(self) -> str:
        return f"{self.base_url.rstrip('/')}/"

    @property
    def post_logout_redirect_uri(self) -> str:
        """Where the IdP sends the browser after logging out (registered at the IdP)."""
        return f"{self.base_url.rstrip('/')}/?logged_out=1"

    @property
    def issuer_origin(self) -> str:
        parts = urlsplit(self.issuer)
        return f"{parts.scheme}://{parts.netloc}"

    @property
    def secure_cookies(self) -> bool:
        return self.base_url.startswith("https://")

    def database_url_for(self, portal_name: str) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.data_dir / f'portal_{portal_name}.db'}"

    def session_key_for(self, portal_name: str) -> bytes:
        """The configured session secret, else one generated once per portal and kept
        (mode 0600) in the data directory, so sessions survive a restart."""
        if self.session_secret is not None:
            return self.session_secret.get_secret_value().encode("utf-8")
        self.data_dir.mkdir(parents=True, exist_ok=True)
        path = self.data_dir / f"portal_{portal_name}_session_secret"
        try:
            descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass  # made earlier, or by another worker starting at the same moment
        else:
            with os.fdopen(descriptor, "w") as handle:
                handle.write(secrets.token_hex(SESSION_SECRET_BYTES))
        return bytes.fromhex(path.read_text().strip())
