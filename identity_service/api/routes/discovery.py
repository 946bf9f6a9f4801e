"""``GET /.well-known/openid-configuration`` (OpenID Connect Discovery 1.0 §4)."""

from __future__ import annotations

from fastapi import APIRouter, Response

from identity_service.api.deps import ServicesDep
from identity_service.oidc.metadata import DISCOVERY_PATH

router = APIRouter(tags=["discovery"])

DISCOVERY_CACHE_CONTROL = "public, max-age=3600"


@router.get(
    DISCOVERY_PATH,
    summary="OpenID Provider metadata",
    response_description="The discovery document (JSON)",
)
async def openid_configuration(services: ServicesDep) -> Response:
    # Serialised once at startup: the document depends only on the issuer.
    return Response(
        content=services.discovery_json,
        media_type="application/json",
        headers={"Cache-Control": DISCOVERY_CACHE_CONTROL},
    )
