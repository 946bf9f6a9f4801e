"""Validating authorization requests (RFC 6749 §4.1.1, OIDC Core §3.1.2.1, RFC 7636).

The order of the checks is the security property: until the client and its redirect URI
are known good, every problem raises ``UnsafeAuthorizationRequestError`` (an error page,
never a redirect — RFC 6749 §4.1.2.1, RFC 9700 §4.1.1); after that, problems raise
``AuthorizationRedirectError`` so the client learns about them. Redirect URIs are
compared as exact strings with the registration: no prefix, case or port leeway.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from typing import Any

from identity_service.oidc import pkce
from identity_service.oidc.claims import SUPPORTED_SCOPES
from identity_service.oidc.clients import ClientRegistry, RegisteredClient
from identity_service.oidc.errors import (
    AuthorizationRedirectError,
    InvalidRequestError,
    InvalidScopeError,
    OAuthError,
    RequestNotSupportedError,
    RequestUriNotSupportedError,
    UnauthorizedClientError,
    UnsafeAuthorizationRequestError,
    UnsupportedResponseTypeError,
)
from identity_service.oidc.levels import requested_level
from identity_service.oidc.metadata import UI_LOCALES
from population_db.identifiers import InvalidIdNumberError, PersonalIdNumber

MAX_PARAMETER_LENGTH = 2048
# The parameters this provider reads (others are ignored: RFC 6749 §3.1).
AUTHORIZATION_PARAMETERS = frozenset(
    {
        "response_type",
        "response_mode",
        "client_id",
        "redirect_uri",
        "scope",
        "state",
        "nonce",
        "code_challenge",
        "code_challenge_method",
        "prompt",
        "max_age",
        "login_hint",
        "ui_locales",
        "acr_values",
        "dpop_jkt",
        "request",
        "request_uri",
    }
)
# RFC 7638 SHA-256 thumbprints: 32 bytes, unpadded base64url.
_THUMBPRINT = re.compile(r"[A-Za-z0-9_-]{43}")
PROMPT_VALUES = frozenset({"none", "login", "consent", "select_account"})
# Twelve digits in groups with separators ("079 092 999 004") fit easily.
MAX_LOGIN_HINT_LENGTH = 20


@dataclass(frozen=True, slots=True)
class AuthorizationRequest:
    """A validated request, JSON-serialisable so an interaction can park it in the store."""

    client_id: str
    redirect_uri: str
    scopes: tuple[str, ...]
    state: str | None
    nonce: str | None
    code_challenge: str
    prompt: tuple[str, ...]
    max_age: int | None
    login_hint: str | None
    ui_locale: str | None
    required_level: int
    # RFC 9449 §10: the code is bound to this DPoP key (a parameter, or the key of the
    # proof that came with a pushed request).
    dpop_jkt: str | None = None
    # The client is registered for the FAPI 2.0 profile (codes live at most 60 s).
    fapi2: bool = False

    @property
    def scope(self) -> str:
        return " ".join(self.scopes)

    def to_json(self) -> dict[str, Any]:
        # Field by field: dataclasses.asdict deep-copies every value, a few times the cost
        # (it runs for every authorization request, inside the interaction's JSON).
        return {name: getattr(self, name) for name in _REQUEST_FIELDS}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> AuthorizationRequest:
        return cls(**{**data, "scopes": tuple(data["scopes"]), "prompt": tuple(data["prompt"])})


_REQUEST_FIELDS = tuple(field.name for field in fields(AuthorizationRequest))


def parse_authorization_request(
    params: Mapping[str, Sequence[str]],
    clients: ClientRegistry,
    *,
    pushed: bool = False,
    signed: bool = False,
) -> AuthorizationRequest:
    """Validate ``params`` (every value of every parameter, in order received).

    ``pushed``: the parameters came through the PAR endpoint (RFC 9126); ``signed``: from
    a verified request object (RFC 9101). A client registered to require either gets
    ``invalid_request`` otherwise.
    """
    client = trusted_client(params, clients)
    redirect_uri = _trusted_redirect_uri(params, client)
    state = first_value(params, "state")

    def fail(error: OAuthError) -> AuthorizationRedirectError:
        return AuthorizationRedirectError(error, redirect_uri, state)

    try:
        if client.require_pushed_authorization_requests and not pushed:
            raise InvalidRequestError("this client must use pushed authorization requests (PAR)")
        if client.require_signed_request_object and not signed:
            raise InvalidRequestError("this client must send a signed request object (request)")
        return _validated(params, client, redirect_uri)
    except OAuthError as error:
        raise fail(error) from None


def first_value(params: Mapping[str, Sequence[str]], name: str) -> str | None:
    """The first non-empty value of ``name``, or None."""
    values = params.get(name) or []
    return values[0] if values and values[0] else None


def registered_redirect_uri(
    params: Mapping[str, Sequence[str]], client: RegisteredClient
) -> str | None:
    """The request's redirect URI if it is given once and registered, else None."""
    try:
        return _trusted_redirect_uri(params, client)
    except UnsafeAuthorizationRequestError:
        return None


def trusted_client(
    params: Mapping[str, Sequence[str]], clients: ClientRegistry
) -> RegisteredClient:
    values = params.get("client_id") or []
    if len(values) != 1 or not values[0]:
        raise UnsafeAuthorizationRequestError(
            "missing_client", "client_id is missing or given more than once"
        )
    client = clients.get(values[0])
    if client is None:
        raise UnsafeAuthorizationRequestError("unknown_client", "client_id is not registered")
    return client


def _trusted_redirect_uri(params: Mapping[str, Sequence[str]], client: RegisteredClient) -> str:
    values = params.get("redirect_uri") or []
    if len(values) != 1 or not values[0]:
        raise UnsafeAuthorizationRequestError(
            "missing_redirect_uri", "redirect_uri is missing or given more than once"
        )
    # Exact string comparison (OIDC Core §3.1.2.1): no normalisation of any kind.
    if values[0] not in client.redirect_uris:
        raise UnsafeAuthorizationRequestError(
            "redirect_uri_mismatch", "redirect_uri is not registered for this client"
        )
    return values[0]


def _validated(
    params: Mapping[str, Sequence[str]], client: RegisteredClient, redirect_uri: str
) -> AuthorizationRequest:
    for name, values in params.items():
        if len(values) > 1:
            raise InvalidRequestError(f"parameter {name} is given more than once")
        if values and len(values[0]) > MAX_PARAMETER_LENGTH:
            raise InvalidRequestError(f"parameter {name} is too long")
    # RFC 6749 §3.1: a parameter sent without a value is treated as omitted.
    value = {name: values[0] for name, values in params.items() if values and values[0]}
    if "request" in value:
        raise RequestNotSupportedError("request objects are not supported")
    if "request_uri" in value:
        raise RequestUriNotSupportedError("request_uri is not supported")
    response_type = value.get("response_type")
    if not response_type:
        raise InvalidRequestError("response_type is required")
    if response_type != "code":
        raise UnsupportedResponseTypeError("only the authorization code flow (code) is offered")
    if value.get("response_mode", "query") != "query":
        raise InvalidRequestError("only response_mode=query is supported")
    if "authorization_code" not in client.grant_types:
        raise UnauthorizedClientError("this client may not use the authorization code flow")
    scopes = _scopes(value.get("scope", ""), client)
    try:
        code_challenge = pkce.check_challenge(
            value.get("code_challenge"), value.get("code_challenge_method")
        )
    except pkce.PkceError as error:
        raise InvalidRequestError(str(error)) from None
    prompt = _prompt(value.get("prompt", ""))
    max_age = _max_age(value.get("max_age"))
    dpop_jkt = value.get("dpop_jkt")
    if dpop_jkt is not None and not _THUMBPRINT.fullmatch(dpop_jkt):
        raise InvalidRequestError("dpop_jkt must be a JWK SHA-256 thumbprint (RFC 7638)")
    return AuthorizationRequest(
        client_id=client.client_id,
        redirect_uri=redirect_uri,
        scopes=scopes,
        state=value.get("state"),
        nonce=value.get("nonce"),
        code_challenge=code_challenge,
        prompt=prompt,
        max_age=max_age,
        login_hint=_login_hint(value.get("login_hint")),
        ui_locale=preferred_locale(value.get("ui_locales", "")),
        required_level=requested_level(value.get("acr_values", "").split(), client.min_level),
        dpop_jkt=dpop_jkt,
        fapi2=client.fapi2,
    )


def _scopes(scope: str, client: RegisteredClient) -> tuple[str, ...]:
    requested = list(dict.fromkeys(scope.split()))
    if "openid" not in requested:
        raise InvalidScopeError("the openid scope is required")
    # Unknown scope values are ignored (OIDC Core §3.1.2.1); known ones must be registered.
    known = [name for name in requested if name in SUPPORTED_SCOPES]
    not_allowed = [name for name in known if not client.allows_scope(name)]
    if not_allowed:
        raise InvalidScopeError(f"scope not registered for this client: {' '.join(not_allowed)}")
    return tuple(known)


def _prompt(prompt: str) -> tuple[str, ...]:
    values = tuple(dict.fromkeys(prompt.split()))
    unknown = [value for value in values if value not in PROMPT_VALUES]
    if unknown:
        raise InvalidRequestError(f"unsupported prompt value {unknown[0]}")
    if "none" in values and len(values) > 1:
        raise InvalidRequestError("prompt=none cannot be combined with other values")
    return values


def _max_age(raw: str | None) -> int | None:
    if raw is None:
        return None
    if not raw.isascii() or not raw.isdigit() or len(raw) > 10:
        raise InvalidRequestError("max_age must be a non-negative whole number of seconds")
    return int(raw)


def _login_hint(raw: str | None) -> str | None:
    # Only a well-formed ID number is kept: it pre-fills the login form, nothing more.
    if not raw or len(raw) > MAX_LOGIN_HINT_LENGTH:
        return None
    try:
        return PersonalIdNumber.parse(raw).value
    except InvalidIdNumberError:
        return None


def preferred_locale(ui_locales: str) -> str | None:
    """The first supported language of a space-separated BCP 47 list (``en-US`` → en)."""
    for tag in ui_locales.split():
        language = tag.split("-")[0].lower()
        if language in UI_LOCALES:
            return language
    return None
