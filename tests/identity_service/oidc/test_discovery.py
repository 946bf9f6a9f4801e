"""Discovery document (OpenID Connect Discovery 1.0 §3) as a client library reads it."""

from __future__ import annotations

import httpx
import pytest
from fastapi import FastAPI

from identity_service.api.direct_routes import FORM_CONTENT_TYPE, DirectRoute
from identity_service.oidc.claims import SCOPE_CLAIMS
from identity_service.oidc.metadata import MACHINE_SCOPES, PROVIDER_METADATA
from tests.identity_service.oidc.support import ISSUER, PUBLIC_SERVICES, Portal

pytestmark = pytest.mark.anyio


async def test_every_endpoint_is_under_the_issuer_and_answers(http: httpx.AsyncClient) -> None:
    response = await http.get("/.well-known/openid-configuration")
    assert response.status_code == 200
    document = response.json()
    assert document["issuer"] == ISSUER
    assert [field.name for field in PROVIDER_METADATA] == list(document)
    for name in ("authorization_endpoint", "token_endpoint", "userinfo_endpoint", "jwks_uri"):
        assert document[name].startswith(ISSUER + "/")
    # The advertised JWKS really is served where discovery says.
    jwks = await http.get(document["jwks_uri"].removeprefix(ISSUER))
    assert jwks.status_code == 200


async def test_document_states_the_security_profile(http: httpx.AsyncClient) -> None:
    document = (await http.get("/.well-known/openid-configuration")).json()
    assert document["response_types_supported"] == ["code"]
    assert document["response_modes_supported"] == ["query"]
    assert document["code_challenge_methods_supported"] == ["S256"]
    assert document["subject_types_supported"] == ["pairwise"]
    assert set(document["id_token_signing_alg_values_supported"]) == {"ES256", "EdDSA", "RS256"}
    assert "none" not in document["id_token_signing_alg_values_supported"]
    assert set(document["token_endpoint_auth_methods_supported"]) == {
        "client_secret_basic",
        "client_secret_post",
        "private_key_jwt",
        "none",
    }
    assert document["authorization_response_iss_parameter_supported"] is True
    assert document["claims_parameter_supported"] is False
    assert document["request_parameter_supported"] is True
    assert document["request_uri_parameter_supported"] is False  # only our PAR references
    assert "none" not in document["request_object_signing_alg_values_supported"]
    assert document["pushed_authorization_request_endpoint"] == f"{ISSUER}/par"
    assert set(document["dpop_signing_alg_values_supported"]) == {
        "ES256",
        "EdDSA",
        "RS256",
        "PS256",
    }
    assert document["ui_locales_supported"] == ["vi", "en"]
    assert document["acr_values_supported"] == ["urn:natid:acr:level1", "urn:natid:acr:level2"]


async def test_scopes_and_claims_match_what_userinfo_can_release(http: httpx.AsyncClient) -> None:
    document = (await http.get("/.well-known/openid-configuration")).json()
    assert document["scopes_supported"] == [*SCOPE_CLAIMS, *MACHINE_SCOPES]
    for claims in SCOPE_CLAIMS.values():
        assert set(claims) <= set(document["claims_supported"])


async def test_document_is_cacheable_and_framing_is_refused(http: httpx.AsyncClient) -> None:
    response = await http.get("/.well-known/openid-configuration")
    assert response.headers["content-type"] == "application/json"
    assert "max-age" in response.headers["cache-control"]
    assert response.headers["x-frame-options"] == "DENY"
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]


async def test_authlib_client_reads_the_document(app: FastAPI) -> None:
    async with Portal(app, PUBLIC_SERVICES, None, "http://127.0.0.1:8101/auth/callback") as portal:
        document = await portal.discover()
    assert document["token_endpoint"] == f"{ISSUER}/token"


async def test_openapi_documentation_is_served(http: httpx.AsyncClient) -> None:
    docs = await http.get("/docs")
    assert docs.status_code == 200
    schema = (await http.get("/openapi.json")).json()
    assert {"/authorize", "/token", "/userinfo", "/jwks"} <= set(schema["paths"])


def test_the_login_steps_are_served_directly_and_still_documented(app: FastAPI) -> None:
    direct_routes = {
        (route.path, method)
        for route in app.router.routes
        if isinstance(route, DirectRoute)
        for method in route.methods or ()
    }
    assert {
        ("/authorize", "GET"),
        ("/interaction/{interaction_id}", "GET"),
        ("/interaction/{interaction_id}/login", "POST"),
        ("/interaction/{interaction_id}/consent", "POST"),
        ("/token", "POST"),
        ("/userinfo", "GET"),
    } <= direct_routes
    login = app.openapi()["paths"]["/interaction/{interaction_id}/login"]["post"]
    assert [(p["name"], p["in"]) for p in login["parameters"]] == [("interaction_id", "path")]
    form = login["requestBody"]["content"][FORM_CONTENT_TYPE]["schema"]["properties"]
    assert set(form) == {"csrf_token", "personal_id_number", "password"}
