"""Settings of the demo clinic: ``NATID_PORTAL_CLINIC_*``.

The defaults are its demo registration in ``seeds/clients.toml`` (published demo secret,
``client_secret_post``, port 8103) and its back-end's (``demo-clinic-backend``, a client
of its own for the e-KYC checks at the front desk); a real deployment sets its own
through the environment. ``FRONT_DESK_PASSCODE`` guards the front-desk page: a shared
demo passcode standing in for the clinic's staff login, which is out of scope here.
"""

from __future__ import annotations

from typing import Literal

from pydantic import SecretStr
from pydantic_settings import SettingsConfigDict

from portals.common.settings import PortalSettings

DEMO_PORT = 8103
DEMO_FRONT_DESK_PASSCODE = "demo-front-desk"


class ClinicSettings(PortalSettings):
    model_config = SettingsConfigDict(env_prefix="NATID_PORTAL_CLINIC_", extra="ignore")

    client_id: str = "demo-clinic"
    client_secret: SecretStr | None = SecretStr("demo-secret-demo-clinic-not-for-production")
    token_endpoint_auth_method: Literal["client_secret_basic", "client_secret_post"] = (
        "client_secret_post"
    )
    # national_id links the visits checked in at the front desk to the patient's login.
    scopes: str = "openid profile phone national_id"
    base_url: str = f"http://127.0.0.1:{DEMO_PORT}"
    # The back-end's own client at the IdP, for the e-KYC checks (client credentials).
    kyc_client_id: str = "demo-clinic-backend"
    kyc_client_secret: SecretStr = SecretStr("demo-secret-demo-clinic-backend-not-for-production")
    kyc_token_endpoint_auth_method: Literal["client_secret_basic", "client_secret_post"] = (
        "client_secret_basic"
    )
    front_desk_passcode: SecretStr = SecretStr(DEMO_FRONT_DESK_PASSCODE)
