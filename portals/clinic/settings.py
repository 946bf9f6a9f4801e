"""Settings of the demo clinic: ``NATID_PORTAL_CLINIC_*``.

The defaults are its demo registration in ``seeds/clients.toml`` (published demo secret,
``client_secret_post``, port 8103); a real deployment sets its own through the environment.
"""

from __future__ import annotations

from typing import Literal

from pydantic import SecretStr
from pydantic_settings import SettingsConfigDict

from portals.common.settings import PortalSettings

DEMO_PORT = 8103


class ClinicSettings(PortalSettings):
    model_config = SettingsConfigDict(env_prefix="NATID_PORTAL_CLINIC_", extra="ignore")

    client_id: str = "demo-clinic"
    client_secret: SecretStr | None = SecretStr("demo-secret-demo-clinic-not-for-production")
    token_endpoint_auth_method: Literal["client_secret_basic", "client_secret_post"] = (
        "client_secret_post"
    )
    scopes: str = "openid profile phone"
    base_url: str = f"http://127.0.0.1:{DEMO_PORT}"
