"""Settings of the demo bank: ``NATID_PORTAL_BANK_*``.

The defaults are its demo registration in ``seeds/clients.toml`` (published demo secret,
port 8102); a real deployment sets its own through the environment.
"""

from __future__ import annotations

from pydantic import SecretStr
from pydantic_settings import SettingsConfigDict

from portals.common.settings import PortalSettings

DEMO_PORT = 8102


class BankSettings(PortalSettings):
    model_config = SettingsConfigDict(env_prefix="NATID_PORTAL_BANK_", extra="ignore")

    client_id: str = "demo-bank"
    client_secret: SecretStr | None = SecretStr("demo-secret-demo-bank-not-for-production")
    scopes: str = "openid profile national_id address phone"
    base_url: str = f"http://127.0.0.1:{DEMO_PORT}"
