"""What makes a client registration valid (OpenID Connect Dynamic Client Registration §2).

Owns ``ClientRegistration`` (the fields an integrator supplies, from the command line or
``seeds/clients.toml``) and ``validate_registration``, which normalises it or raises
``ClientRegistrationError`` naming the first problem. Redirect URIs are matched later as
exact strings, so they are checked strictly here: absolute, no fragment, no user info,
``https`` except for loopback and single-label development hosts. The same rules apply to
post-logout redirect URIs and the back-channel logout URI (OIDC Back-Channel Logout §2.2).

Grants and scopes must fit together: citizen scopes (with ``openid``) come with the
authorization code grant; ``offline_access`` needs the refresh token grant, which needs
the code grant; machine scopes (``kyc.verify``) need the client credentials grant, which
only confidential clients may use.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import urlsplit

from jwt import PyJWK
from jwt.exceptions import InvalidKeyError, PyJWKError

from identity_service.oidc.claims import SUPPORTED_SCOPES
from identity_service.oidc.levels import HIGHEST_LEVEL, LOWEST_LEVEL
from identity_service.oidc.metadata import (
    DEFAULT_ID_TOKEN_ALGORITHM,
    FAPI2_ALGORITHMS,
    GRANT_TYPES,
    ID_TOKEN_SIGNING_ALGORITHMS,
    MACHINE_SCOPES,
    OFFLINE_ACCESS_SCOPE,
    TOKEN_ENDPOINT_AUTH_METHODS,
)

MAX_URI_LENGTH = 2000
MAX_NAME_LENGTH = 200
MIN_SEED_SECRET_LENGTH = 16
_CLIENT_ID = re.compile(r"[A-Za-z0-9._~-]{1,128}")
_SECTOR = re.compile(r"[A-Za-z0-9._~:-]{1,255}")
_PRIVATE_JWK_MEMBERS = frozenset({"d", "p", "q", "dp", "dq", "qi", "oth", "k"})
_ACCEPTED_KEY_TYPES = {("EC", "P-256"), ("OKP", "Ed25519"), ("RSA", None)}


class ClientRegistrationError(ValueError):
    """A registration is invalid; the message says which field and why."""


@dataclass(frozen=True, slots=True)
class ClientRegistration:
    name: str
    redirect_uris: tuple[str, ...]
    scopes: tuple[str, ...]
    token_endpoint_auth_method: str = "client_secret_basic"
    jwks: dict[str, Any] | None = None
    min_level: int = LOWEST_LEVEL
    grant_types: tuple[str, ...] = ("authorization_code",)
    id_token_signed_response_alg: str | None = None
    # Default: the host of the redirect URIs (OIDC Core §8.1).
    sector_identifier: str | None = None
    post_logout_redirect_uris: tuple[str, ...] = ()
    # OIDC Back-Channel Logout 1.0 §2.2: where logout tokens are POSTed, and whether the
    # client needs the sid claim in them.
    backchannel_logout_uri: str | None = None
    backchannel_logout_session_required: bool = False
    # Seed files fix the id and secret; the command line lets the registry generate them.
    client_id: str | None = None
    client_secret: str | None = None
    # RFC 9126 §6: authorization requests only through the PAR endpoint.
    require_pushed_authorization_requests: bool = False
    # RFC 9449 §5.2: every token request carries a DPoP proof; tokens are key-bound.
    dpop_bound_access_tokens: bool = False
    # RFC 9101 §10.5: authorization requests only as signed request objects.
    require_signed_request_object: bool = False
    # The FAPI 2.0 Security Profile (``fapi2``): see ``check_fapi2``.
    fapi2: bool = False


def validate_registration(registration: ClientRegistration) -> ClientRegistration:
    """The registration, normalised (defaults filled in), or ``ClientRegistrationError``."""
    reg = registration
    name = reg.name.strip()
    if not name or len(name) > MAX_NAME_LENGTH:
        raise ClientRegistrationError(f"the name must have 1-{MAX_NAME_LENGTH} characters")
    if reg.client_id is not None and not _CLIENT_ID.fullmatch(reg.client_id):
        raise ClientRegistrationError(
            "a client id may only contain letters, digits and . _ ~ - (at most 128)"
        )
    method = reg.token_endpoint_auth_method
    if method not in TOKEN_ENDPOINT_AUTH_METHODS:
        raise ClientRegistrationError(
            f"unknown auth method {method!r}; use one of {', '.join(TOKEN_ENDPOINT_AUTH_METHODS)}"
        )
    grant_types = _unique(reg.grant_types)
    unknown_grants = [grant for grant in grant_types if grant not in GRANT_TYPES]
    if unknown_grants or not grant_types:
        raise ClientRegistrationError(
            f"unsupported grant type(s) {', '.join(unknown_grants) or '(none)'}; "
            f"supported: {', '.join(GRANT_TYPES)}"
        )
    scopes = _unique(reg.scopes)
    _check_grants_and_scopes(grant_types, scopes, method)
    redirect_uris = _unique(reg.redirect_uris)
    if "authorization_code" in grant_types and not redirect_uris:
        raise ClientRegistrationError("at least one redirect URI is required")
    for uri in redirect_uris:
        check_redirect_uri(uri)
    post_logout = _unique(reg.post_logout_redirect_uris)
    for uri in post_logout:
        check_redirect_uri(uri)
    if reg.backchannel_logout_uri is not None:
        check_redirect_uri(reg.backchannel_logout_uri)
    if reg.min_level not in range(LOWEST_LEVEL, HIGHEST_LEVEL + 1):
        raise ClientRegistrationError(
            f"the minimum level must be {LOWEST_LEVEL} or {HIGHEST_LEVEL}"
        )
    alg = reg.id_token_signed_response_alg or DEFAULT_ID_TOKEN_ALGORITHM
    if alg not in ID_TOKEN_SIGNING_ALGORITHMS:
        raise ClientRegistrationError(
            f"unsupported ID token algorithm {alg!r}; "
            f"use one of {', '.join(ID_TOKEN_SIGNING_ALGORITHMS)}"
        )
    jwks = None if reg.jwks is None else check_jwks(reg.jwks)
    if method == "private_key_jwt" and not jwks:
        raise ClientRegistrationError("private_key_jwt needs the client's public keys (JWKS)")
    if reg.fapi2:
        check_fapi2(method, grant_types, alg, jwks)
    secret = reg.client_secret
    if secret is not None and (
        not method.startswith("client_secret_") or len(secret) < MIN_SEED_SECRET_LENGTH
    ):
        raise ClientRegistrationError(
            f"a fixed client secret needs a client_secret_* auth method and at least "
            f"{MIN_SEED_SECRET_LENGTH} characters"
        )
    return replace(
        reg,
        name=name,
        redirect_uris=redirect_uris,
        scopes=scopes,
        grant_types=grant_types,
        post_logout_redirect_uris=post_logout,
        id_token_signed_response_alg=alg,
        jwks=jwks,
        sector_identifier=_sector_identifier(reg.sector_identifier, redirect_uris, grant_types),
        # The profile implies both (FAPI 2.0 §5.3.2.2: PAR only; §5.3.2.1: sender-constrained).
        require_pushed_authorization_requests=reg.require_pushed_authorization_requests
        or (reg.fapi2 and "authorization_code" in grant_types),
        dpop_bound_access_tokens=reg.dpop_bound_access_tokens or reg.fapi2,
    )


def check_fapi2(
    method: str, grant_types: tuple[str, ...], id_token_alg: str, jwks: dict[str, Any] | None
) -> None:
    """What a FAPI 2.0 client must be (FAPI 2.0 Security Profile §5.3.2 and §5.4).

    A confidential client authenticating with ``private_key_jwt`` (we offer no mutual
    TLS), whose keys and ID tokens use PS256, ES256 or EdDSA, never RS256. At run time the
    switch also demands PAR and DPoP, accepts only the issuer as a client assertion's
    audience, caps the code's life at 60 s, and refreshes without rotation.
    """
    if method != "private_key_jwt":
        raise ClientRegistrationError("a fapi2 client authenticates with private_key_jwt")
    if "authorization_code" in grant_types and id_token_alg not in FAPI2_ALGORITHMS:
        raise ClientRegistrationError(
            f"a fapi2 client's ID tokens use {', '.join(FAPI2_ALGORITHMS)}, not {id_token_alg}"
        )
    for jwk in (jwks or {}).get("keys", []):
        if jwk.get("alg") not in (None, *FAPI2_ALGORITHMS):
            raise ClientRegistrationError(
                f"a fapi2 client's keys are for {', '.join(FAPI2_ALGORITHMS)}, not {jwk.get('alg')}"
            )


def _check_grants_and_scopes(
    grant_types: tuple[str, ...], scopes: tuple[str, ...], method: str
) -> None:
    known = (*SUPPORTED_SCOPES, *MACHINE_SCOPES)
    unknown_scopes = [scope for scope in scopes if scope not in known]
    if unknown_scopes:
        raise ClientRegistrationError(
            f"unknown scope(s) {', '.join(unknown_scopes)}; known: {', '.join(known)}"
        )
    if "authorization_code" in grant_types and "openid" not in scopes:
        raise ClientRegistrationError("the scopes must include openid")
    citizen_scopes = [scope for scope in scopes if scope in SUPPORTED_SCOPES]
    if citizen_scopes and "authorization_code" not in grant_types:
        raise ClientRegistrationError(
            "citizen scopes (openid, profile, ...) need the authorization_code grant"
        )
    if "refresh_token" in grant_types and "authorization_code" not in grant_types:
        raise ClientRegistrationError("the refresh_token grant needs the authorization_code grant")
    if OFFLINE_ACCESS_SCOPE in scopes and "refresh_token" not in grant_types:
        raise ClientRegistrationError(f"{OFFLINE_ACCESS_SCOPE} needs the refresh_token grant")
    machine_scopes = [scope for scope in scopes if scope in MACHINE_SCOPES]
    if machine_scopes and "client_credentials" not in grant_types:
        raise ClientRegistrationError(
            f"machine scope(s) {', '.join(machine_scopes)} need the client_credentials grant"
        )
    if "client_credentials" in grant_types:
        if method == "none":
            raise ClientRegistrationError(
                "the client_credentials grant is for confidential clients (not auth method none)"
            )
        if not machine_scopes:
            raise ClientRegistrationError(
                f"the client_credentials grant needs a machine scope ({', '.join(MACHINE_SCOPES)})"
            )


def check_redirect_uri(uri: str) -> None:
    """Raise ``ClientRegistrationError`` unless ``uri`` is safe to register."""
    if not uri or len(uri) > MAX_URI_LENGTH or any(c.isspace() or ord(c) < 32 for c in uri):
        raise ClientRegistrationError(f"redirect URI {uri!r} is empty, too long or has spaces")
    try:
        parts = urlsplit(uri)
        hostname = parts.hostname
        parts.port  # noqa: B018 - raises ValueError for a malformed port
    except ValueError:
        raise ClientRegistrationError(f"redirect URI {uri!r} is malformed") from None
    if parts.scheme not in ("https", "http") or not hostname:
        raise ClientRegistrationError(f"redirect URI {uri!r} must be an absolute http(s) URL")
    if parts.fragment or "#" in uri:
        raise ClientRegistrationError(f"redirect URI {uri!r} must not have a fragment")
    if "@" in parts.netloc:
        raise ClientRegistrationError(f"redirect URI {uri!r} must not contain user info")
    if parts.scheme == "http" and not _is_development_host(hostname):
        raise ClientRegistrationError(
            f"redirect URI {uri!r} must use https (http only for loopback or local hosts)"
        )


def check_jwks(jwks: Any) -> dict[str, Any]:
    """A JWKS of public signing keys (EC P-256, Ed25519, RSA), or an error."""
    if not isinstance(jwks, dict) or not isinstance(jwks.get("keys"), list) or not jwks["keys"]:
        raise ClientRegistrationError('the JWKS must be a JSON object {"keys": [...]}')
    for jwk in jwks["keys"]:
        if not isinstance(jwk, dict):
            raise ClientRegistrationError("every JWKS entry must be a JSON object")
        if _PRIVATE_JWK_MEMBERS & jwk.keys():
            raise ClientRegistrationError("the JWKS contains private key material; publish only")
        if (jwk.get("kty"), jwk.get("crv")) not in _ACCEPTED_KEY_TYPES:
            raise ClientRegistrationError(
                "JWKS keys must be EC P-256, OKP Ed25519 or RSA public keys"
            )
        if jwk.get("use", "sig") != "sig":
            raise ClientRegistrationError("JWKS keys must be signing keys (use: sig)")
        try:
            PyJWK(jwk)
        # PyJWT raises InvalidKeyError (not a PyJWKError) for missing or mistyped members.
        except (PyJWKError, InvalidKeyError, ValueError, TypeError) as error:
            raise ClientRegistrationError(f"invalid JWK: {error}") from None
    return {"keys": [dict(jwk) for jwk in jwks["keys"]]}


def _sector_identifier(
    explicit: str | None, redirect_uris: tuple[str, ...], grant_types: tuple[str, ...]
) -> str | None:
    if explicit is None and "authorization_code" not in grant_types:
        return None  # no citizen logins, so no pairwise subjects to compute
    if explicit is not None:
        if not _SECTOR.fullmatch(explicit):
            raise ClientRegistrationError(
                "a sector identifier is a host-like name (letters, digits, . _ ~ : -)"
            )
        return explicit.lower()
    hosts = {(urlsplit(uri).hostname or "").lower() for uri in redirect_uris}
    if len(hosts) != 1:
        raise ClientRegistrationError(
            "the redirect URIs are on several hosts (or none); give a sector identifier"
        )
    return hosts.pop()


def _is_development_host(hostname: str) -> bool:
    if hostname == "localhost" or ("." not in hostname and ":" not in hostname):
        return True
    try:
        return ipaddress.ip_address(hostname).is_loopback
    except ValueError:
        return False


def _unique(values: tuple[str, ...] | list[str]) -> tuple[str, ...]:
    seen: dict[str, None] = {}
    for value in values:
        seen.setdefault(value, None)
    return tuple(seen)
