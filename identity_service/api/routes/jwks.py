"""``GET /jwks``: the public keys that verify the provider's tokens (RFC 7517).

Published keys come from the key store's in-memory cache, which re-reads the table every
few seconds, so a rotation shows up here at once. Clients may cache the set briefly and
must refetch when they meet an unknown ``kid``.
"""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from identity_service.api.deps import ServicesDep
from identity_service.oidc.metadata import JWKS_PATH

router = APIRouter(tags=["discovery"])

JWKS_CACHE_CONTROL = "public, max-age=300"


@router.get(JWKS_PATH, summary="JSON Web Key Set", response_description="{keys: [...]}")
def jwks(services: ServicesDep) -> JSONResponse:
    return JSONResponse(
        services.keys.jwks(),
        media_type="application/jwk-set+json",
        headers={"Cache-Control": JWKS_CACHE_CONTROL},
    )
