"""The provider's endpoints and its discovery document (OpenID Connect Discovery 1.0 §3).

The document is built from one declarative list, ``PROVIDER_METADATA``: each entry names
a metadata field and how its value follows from the issuer. Routes mount their endpoints
at the paths defined here, so the document and the routes cannot drift apart.

Besides the OpenID Connect fields it advertises introspection (RFC 7662), revocation
(RFC 7009), RP-initiated logout (``end_session_endpoint``), back-channel logout, pushed
authorization requests (RFC 9126), signed request objects (RFC 9101) and DPoP (RFC
9449). ``request_uri_parameter_supported`` stays false: the only request URIs taken are
the PAR endpoint's own (the provider never fetches one from elsewhere). Scopes
come in two kinds: citizen scopes (``claims.SCOPE_CLAIMS``, including ``offline_access``),
granted by a citizen at the authorization endpoint, and machine scopes (``MACHINE_SCOPES``),
granted to a portal's back-end through the client credentials grant only.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from identity_service.oidc.claims import SUPPORTED_SCOPES, supported_claims
from identity_service.oidc.levels import ACR_VALUES

DISCOVERY_PATH = "/.well-known/openid-configuration"
AUTHORIZATION_PATH = "/authorize"
TOKEN_PATH = "/token"
USERINFO_PATH = "/userinfo"
JWKS_PATH = "/jwks"
INTROSPECTION_PATH = "/introspect"
REVOCATION_PATH = "/revoke"
END_SESSION_PATH = "/logout"
PUSHED_AUTHORIZATION_REQUEST_PATH = "/par"

ID_TOKEN_SIGNING_ALGORITHMS = ("ES256", "EdDSA", "RS256")
DEFAULT_ID_TOKEN_ALGORITHM = "RS256"  # OIDC Core §2 default when a client registered none
ACCESS_TOKEN_SIGNING_ALGORITHMS = ("ES256",)
# Algorithms accepted for private_key_jwt client assertions (RFC 7523).
CLIENT_ASSERTION_ALGORITHMS = ("ES256", "EdDSA", "RS256", "PS256")
# Signed request objects (RFC 9101) and DPoP proofs (RFC 9449): the same asymmetric set.
REQUEST_OBJECT_ALGORITHMS = CLIENT_ASSERTION_ALGORITHMS
DPOP_ALGORITHMS = CLIENT_ASSERTION_ALGORITHMS
# FAPI 2.0 Security Profile §5.4: PS256, ES256 or EdDSA (Ed25519); never RS256.
FAPI2_ALGORITHMS = ("ES256", "EdDSA", "PS256")
# FAPI 2.0 Security Profile §5.3.2.2: authorization codes live at most 60 seconds.
FAPI2_MAX_CODE_TTL_SECONDS = 60
TOKEN_ENDPOINT_AUTH_METHODS = (
    "client_secret_basic",
    "client_secret_post",
    "private_key_jwt",
    "none",
)
GRANT_TYPES = ("authorization_code", "refresh_token", "client_credentials")
# OIDC Core §11: asks for a refresh token that outlives the SSO session.
OFFLINE_ACCESS_SCOPE = "offline_access"
# Scopes of machine APIs (the e-KYC verify API), for the client credentials grant only.
KYC_VERIFY_SCOPE = "kyc.verify"
MACHINE_SCOPES = (KYC_VERIFY_SCOPE,)
UI_LOCALES = ("vi", "en")


@dataclass(frozen=True, slots=True)
class ProviderUrls:
    """Absolute URLs of the endpoints under one issuer."""

    issuer: str

    def endpoint(self, path: str) -> str:
        return self.issuer.rstrip("/") + path

    @property
    def authorization_endpoint(self) -> str:
        return self.endpoint(AUTHORIZATION_PATH)

    @property
    def token_endpoint(self) -> str:
        return self.endpoint(TOKEN_PATH)

    @property
    def userinfo_endpoint(self) -> str:
        return self.endpoint(USERINFO_PATH)

    @property
    def jwks_uri(self) -> str:
        return self.endpoint(JWKS_PATH)

    @property
    def introspection_endpoint(self) -> str:
        return self.endpoint(INTROSPECTION_PATH)

    @property
    def revocation_endpoint(self) -> str:
        return self.endpoint(REVOCATION_PATH)

    @property
    def end_session_endpoint(self) -> str:
        return self.endpoint(END_SESSION_PATH)

    @property
    def pushed_authorization_request_endpoint(self) -> str:
        return self.endpoint(PUSHED_AUTHORIZATION_REQUEST_PATH)


@dataclass(frozen=True, slots=True)
class MetadataField:
    name: str
    value: Callable[[ProviderUrls], Any]


def _constant(value: Any) -> Callable[[ProviderUrls], Any]:
    return lambda _urls: value


PROVIDER_METADATA: tuple[MetadataField, ...] = (
    MetadataField("issuer", lambda urls: urls.issuer),
    MetadataField("authorization_endpoint", lambda urls: urls.authorization_endpoint),
    MetadataField("token_endpoint", lambda urls: urls.token_endpoint),
    MetadataField("userinfo_endpoint", lambda urls: urls.userinfo_endpoint),
    MetadataField("jwks_uri", lambda urls: urls.jwks_uri),
    MetadataField("introspection_endpoint", lambda urls: urls.introspection_endpoint),
    MetadataField("revocation_endpoint", lambda urls: urls.revocation_endpoint),
    MetadataField("end_session_endpoint", lambda urls: urls.end_session_endpoint),
    MetadataField(
        "pushed_authorization_request_endpoint",
        lambda urls: urls.pushed_authorization_request_endpoint,
    ),
    MetadataField("scopes_supported", _constant([*SUPPORTED_SCOPES, *MACHINE_SCOPES])),
    MetadataField("response_types_supported", _constant(["code"])),
    MetadataField("response_modes_supported", _constant(["query"])),
    MetadataField("grant_types_supported", _constant(list(GRANT_TYPES))),
    MetadataField("subject_types_supported", _constant(["pairwise"])),
    MetadataField(
        "id_token_signing_alg_values_supported", _constant(list(ID_TOKEN_SIGNING_ALGORITHMS))
    ),
    MetadataField(
        "token_endpoint_auth_methods_supported", _constant(list(TOKEN_ENDPOINT_AUTH_METHODS))
    ),
    MetadataField(
        "token_endpoint_auth_signing_alg_values_supported",
        _constant(list(CLIENT_ASSERTION_ALGORITHMS)),
    ),
    MetadataField(
        "introspection_endpoint_auth_methods_supported",
        _constant([method for method in TOKEN_ENDPOINT_AUTH_METHODS if method != "none"]),
    ),
    MetadataField(
        "introspection_endpoint_auth_signing_alg_values_supported",
        _constant(list(CLIENT_ASSERTION_ALGORITHMS)),
    ),
    MetadataField(
        "revocation_endpoint_auth_methods_supported", _constant(list(TOKEN_ENDPOINT_AUTH_METHODS))
    ),
    MetadataField(
        "revocation_endpoint_auth_signing_alg_values_supported",
        _constant(list(CLIENT_ASSERTION_ALGORITHMS)),
    ),
    MetadataField("code_challenge_methods_supported", _constant(["S256"])),
    MetadataField("claims_supported", _constant(supported_claims())),
    MetadataField("acr_values_supported", _constant(list(ACR_VALUES))),
    MetadataField("ui_locales_supported", _constant(list(UI_LOCALES))),
    MetadataField("claim_types_supported", _constant(["normal"])),
    MetadataField("authorization_response_iss_parameter_supported", _constant(True)),
    MetadataField("claims_parameter_supported", _constant(False)),
    MetadataField("request_parameter_supported", _constant(True)),
    MetadataField(
        "request_object_signing_alg_values_supported", _constant(list(REQUEST_OBJECT_ALGORITHMS))
    ),
    MetadataField("request_uri_parameter_supported", _constant(False)),
    # Per client (its registration); not for every client.
    MetadataField("require_pushed_authorization_requests", _constant(False)),
    MetadataField("dpop_signing_alg_values_supported", _constant(list(DPOP_ALGORITHMS))),
    MetadataField("backchannel_logout_supported", _constant(True)),
    MetadataField("backchannel_logout_session_supported", _constant(True)),
)


def discovery_document(issuer: str) -> dict[str, Any]:
    """The discovery document of the provider at ``issuer``."""
    urls = ProviderUrls(issuer)
    return {field.name: field.value(urls) for field in PROVIDER_METADATA}
