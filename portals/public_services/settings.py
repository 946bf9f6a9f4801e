"""Settings of the public-service portal: ``NATID_PORTAL_PUBLIC_SERVICES_*``.

The defaults are its demo registration in ``seeds/clients.toml`` (published demo secret,
port 8101); a real deployment sets its own through the environment.
"""

from __future__ import annotations

from pydantic import SecretStr
from pydantic_settings import SettingsConfigDict

from portals.common.settings import PortalSettings

DEMO_PORT = 8101


class PublicServicesSettings(PortalSettings):
    model_config = SettingsConfigDict(env_prefix="NATID_PORTAL_PUBLIC_SERVICES_", extra="ignore")

    client_id: str = "public-services-portal"
    client_secret: SecretStr | None = SecretStr(
        "demo-secret-public-services-portal-not-for-production"
    )
    # The form of the criminal-record application is filled from these.
    scopes: str = "openid profile national_id address phone"
    base_url: str = f"http://127.0.0.1:{DEMO_PORT}"
