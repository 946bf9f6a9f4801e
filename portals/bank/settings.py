"""Settings of the demo bank: ``NATID_PORTAL_BANK_*``.

The defaults are its demo registration in ``seeds/clients.toml`` (published demo secret,
port 8102) and its back-end's (``demo-bank-backend``: ``private_key_jwt`` with the DEMO
key shipped beside ``backend_key``); a real deployment sets its own through the
environment, with ``KYC_PRIVATE_KEY_FILE`` naming where its own key is kept (generated
there on first start).
"""

from __future__ import annotations

from pathlib import Path

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
    # The back-end's own client at the IdP, for the e-KYC checks (client credentials).
    kyc_client_id: str = "demo-bank-backend"
    # None: the published DEMO key in portals/bank/demo_backend_key.json.
    kyc_private_key_file: Path | None = None
