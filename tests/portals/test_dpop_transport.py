"""The portal's DPoP transport: proofs only where they belong, ``ath`` with a token, the
server nonce kept, and exactly one retry when the server asks for a nonce."""

from __future__ import annotations

import json

import httpx
import jwt
import pytest

from portals.common.dpop import DpopKey, DpopTransport

pytestmark = pytest.mark.anyio

TOKEN_URL = "https://id.natid.test/token"


def _claims(proof: str) -> dict:
    header = jwt.get_unverified_header(proof)
    key = jwt.PyJWK(header["jwk"]).key
    return jwt.decode(proof, key, algorithms=["ES256"], options={"verify_iat": False})


async def test_proofs_go_only_to_named_endpoints_and_dpop_tokens() -> None:
    seen: list[httpx.Request] = []

    def server(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={}, headers={"DPoP-Nonce": "n-1"})

    key = DpopKey(clock=lambda: 1_800_000_000)
    transport = DpopTransport(key, httpx.MockTransport(server), endpoints=[TOKEN_URL])
    async with httpx.AsyncClient(transport=transport) as http:
        await http.get("https://id.natid.test/.well-known/openid-configuration")
        await http.get(TOKEN_URL)  # not a POST
        await http.post(TOKEN_URL + "?x=1", data={"grant_type": "client_credentials"})
        await http.get(
            "https://id.natid.test/userinfo", headers={"Authorization": "DPoP the-token"}
        )
        await http.get(
            "https://id.natid.test/userinfo", headers={"Authorization": "Bearer the-token"}
        )
    with_proof = ["dpop" in request.headers for request in seen]
    assert with_proof == [False, False, True, True, False]
    token_proof = _claims(seen[2].headers["dpop"])
    assert token_proof["htm"] == "POST" and token_proof["htu"] == TOKEN_URL
    assert "nonce" not in token_proof and "ath" not in token_proof
    resource_proof = _claims(seen[3].headers["dpop"])
    assert resource_proof["nonce"] == "n-1"  # kept from the previous answer
    assert resource_proof["htm"] == "GET" and resource_proof["ath"]
    assert token_proof["jti"] != resource_proof["jti"]
    assert jwt.get_unverified_header(seen[2].headers["dpop"])["jwk"] == key.public_jwk


async def test_use_dpop_nonce_is_retried_once_with_the_same_body() -> None:
    bodies: list[bytes] = []
    nonces: list[str | None] = []

    def server(request: httpx.Request) -> httpx.Response:
        bodies.append(request.content)
        nonces.append(_claims(request.headers["dpop"]).get("nonce"))
        return httpx.Response(
            400, json={"error": "use_dpop_nonce"}, headers={"DPoP-Nonce": f"n-{len(bodies)}"}
        )

    transport = DpopTransport(DpopKey(), httpx.MockTransport(server), endpoints=[TOKEN_URL])
    async with httpx.AsyncClient(transport=transport) as http:
        response = await http.post(TOKEN_URL, data={"client_assertion": "eyJ.x.y"})
    assert response.status_code == 400
    assert json.loads(response.content)["error"] == "use_dpop_nonce"
    assert len(bodies) == 2 and bodies[0] == bodies[1]  # one retry, not a loop
    assert nonces == [None, "n-1"]
