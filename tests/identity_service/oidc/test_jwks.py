"""The JWKS endpoint: public keys only, one per algorithm, usable by standard libraries."""

from __future__ import annotations

import httpx
import jwt
import pytest

from identity_service.api.deps import IdentityServices
from identity_service.jwk import jwk_thumbprint

pytestmark = pytest.mark.anyio

PRIVATE_MEMBERS = {"d", "p", "q", "dp", "dq", "qi", "k"}


async def test_one_public_key_per_algorithm_with_thumbprint_kids(http: httpx.AsyncClient) -> None:
    response = await http.get("/jwks")
    assert response.status_code == 200
    keys = response.json()["keys"]
    assert sorted(key["alg"] for key in keys) == ["ES256", "EdDSA", "RS256"]
    for key in keys:
        assert not PRIVATE_MEMBERS & set(key)
        assert key["use"] == "sig"
        assert key["kid"] == jwk_thumbprint(key)


async def test_keys_verify_tokens_the_provider_signs(
    http: httpx.AsyncClient, services: IdentityServices
) -> None:
    key_set = jwt.PyJWKSet.from_dict((await http.get("/jwks")).json())
    token = services.tokens.access_token(
        client_id="demo-clinic", subject="subject", scope="openid", ttl=60
    )
    header = jwt.get_unverified_header(token)
    claims = jwt.decode(
        token, key_set[header["kid"]].key, algorithms=["ES256"], audience=services.urls.issuer
    )
    assert claims["client_id"] == "demo-clinic"


async def test_rotation_is_published_at_once(
    http: httpx.AsyncClient, services: IdentityServices
) -> None:
    before = {key["kid"] for key in (await http.get("/jwks")).json()["keys"]}
    (new_kid,) = services.keys.rotate("ES256", retain_seconds=600)
    after = {key["kid"] for key in (await http.get("/jwks")).json()["keys"]}
    assert after == before | {new_kid}


async def test_cache_headers_let_clients_cache_briefly(http: httpx.AsyncClient) -> None:
    response = await http.get("/jwks")
    assert "max-age=300" in response.headers["cache-control"]
    assert response.headers["x-content-type-options"] == "nosniff"
