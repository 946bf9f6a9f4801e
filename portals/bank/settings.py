"""Settings of the demo bank: ``NATID_PORTAL_BANK_*``.

The defaults are its demo registration in ``seeds/clients.toml`` (``demo-bank``: the FAPI
2.0 profile — ``private_key_jwt``, pushed authorization requests, DPoP — on port 8102)
and its back-end's (``demo-bank-backend``: ``private_key_jwt`` and DPoP), each with a
DEMO key shipped beside ``keys``; a real deployment sets its own through the environment,
with ``PRIVATE_KEY_FILE`` and ``KYC_PRIVATE_KEY_FILE`` naming where its keys are kept
(generated there on first start).
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import SecretStr
from pydantic_settings import SettingsConfigDict

from portals.common.settings import PortalSettings

DEMO_PORT = 8102


class BankSettings(PortalSettings):
    model_config = SettingsConfigDict(env_prefix="NATID_PORTAL_BANK_", extra="ignore")

    client_id: str = "demo-bank"
    client_secret: SecretStr | None = None
    token_endpoint_auth_method: Literal[
        "client_secret_basic", "client_secret_post", "private_key_jwt"
    ] = "private_key_jwt"
    pushed_authorization_requests: bool = True
    dpop: bool = True
    # None: the published DEMO key in portals/bank/demo_frontend_key.json.
    private_key_file: Path | None = None
    scopes: str = "openid profile national_id address phone"
    base_url: str = f"http://127.0.0.1:{DEMO_PORT}"
    # The back-end's own client at the IdP, for the e-KYC checks (client credentials).
    kyc_client_id: str = "demo-bank-backend"
    # None: the published DEMO key in portals/bank/demo_backend_key.json.
    kyc_private_key_file: Path | None = None
    # The back-end's tokens are bound to a DPoP key of its own (RFC 9449).
    kyc_dpop: bool = True
