"""Signed request objects (JAR, RFC 9101): an authorization request as a JWT the client signs.

A client may send its authorization request as the ``request`` parameter, at the
authorization endpoint or in a pushed authorization request (RFC 9126 §3). The object
must be a JWS (compact, canonical base64url) signed with one of the client's registered
keys, with an asymmetric algorithm we accept (never ``none``: RFC 9101 §10.2 lets a
provider refuse unsigned objects, and we do); encrypted objects (JWE) are not supported.

Claims: ``iss`` is the client id, ``aud`` our issuer (a string, or a list holding it),
``exp`` required and at most ``MAX_LIFETIME_SECONDS`` ahead, ``nbf``/``iat`` not in the
future; a ``client_id`` claim must name the same client as the request. The other claims
are the request's parameters, and the only ones used: parameters sent beside the object
are ignored (RFC 9101 §5), except ``client_id``. A ``request`` or ``request_uri`` claim
inside the object is refused. ``typ``, when present, is ``oauth-authz-req+jwt`` (RFC
9101 §10.8) or ``JWT``.

Every fault raises ``InvalidRequestObjectError`` (``invalid_request_object``).
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Sequence
from typing import Any

import jwt

from identity_service.oidc.client_keys import candidate_keys
from identity_service.oidc.clients import RegisteredClient
from identity_service.oidc.errors import InvalidRequestObjectError
from identity_service.oidc.metadata import FAPI2_ALGORITHMS, REQUEST_OBJECT_ALGORITHMS
from identity_service.oidc.requests import AUTHORIZATION_PARAMETERS

REQUEST_OBJECT_TYPE = "oauth-authz-req+jwt"
MAX_LIFETIME_SECONDS = 3600
CLOCK_SKEW_SECONDS = 30
MAX_REQUEST_OBJECT_LENGTH = 16 * 1024
_ACCEPTED_TYPES = frozenset({REQUEST_OBJECT_TYPE, "jwt"})
_COMPACT_JWS = re.compile(r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+")
_COMPACT_JWE = re.compile(r"[A-Za-z0-9_-]*(\.[A-Za-z0-9_-]*){4}")
# JWT claims that are about the object itself, not parameters of the request.
_ENVELOPE_CLAIMS = frozenset({"iss", "aud", "exp", "nbf", "iat", "jti", "sub"})
_NESTED = ("request", "request_uri")
MAX_NUMERIC_DATE = 10**12


class RequestObjects:
    def __init__(self, issuer: str, *, clock: Callable[[], float] = time.time) -> None:
        self._issuer = issuer
        self._clock = clock

    def parameters(self, client: RegisteredClient, request_object: str) -> dict[str, list[str]]:
        """The authorization request's parameters from ``request_object``, once verified."""
        if len(request_object) > MAX_REQUEST_OBJECT_LENGTH:
            raise InvalidRequestObjectError("the request object is too large")
        if not _COMPACT_JWS.fullmatch(request_object):
            if _COMPACT_JWE.fullmatch(request_object):
                raise InvalidRequestObjectError("encrypted request objects are not supported")
            raise InvalidRequestObjectError("the request object is not a compact JWS")
        claims = self._verified(client, request_object)
        if claims.get("client_id", client.client_id) != client.client_id:
            raise InvalidRequestObjectError("the request object names another client_id")
        for name in _NESTED:
            if name in claims:
                raise InvalidRequestObjectError(f"a request object may not contain {name}")
        parameters = {"client_id": [client.client_id]}
        for name, value in claims.items():
            if name in _ENVELOPE_CLAIMS:
                continue
            text = _parameter_value(value)
            if text is not None:
                parameters[name] = [text]
            elif name in AUTHORIZATION_PARAMETERS:
                raise InvalidRequestObjectError(f"the request object claim {name} is not a string")
            # Other claims are parameters we do not know: ignored (RFC 6749 §3.1).
        return parameters

    def _verified(self, client: RegisteredClient, request_object: str) -> dict[str, Any]:
        try:
            header = jwt.get_unverified_header(request_object)
        except jwt.InvalidTokenError:
            raise InvalidRequestObjectError("the request object header is unreadable") from None
        typ = header.get("typ")
        if typ is not None and (
            not isinstance(typ, str)
            or typ.lower().removeprefix("application/") not in _ACCEPTED_TYPES
        ):
            raise InvalidRequestObjectError(f"the request object typ must be {REQUEST_OBJECT_TYPE}")
        alg = header.get("alg")
        allowed: Sequence[str] = FAPI2_ALGORITHMS if client.fapi2 else REQUEST_OBJECT_ALGORITHMS
        if alg not in allowed:
            raise InvalidRequestObjectError(
                f"the request object must be signed with one of {' '.join(allowed)}"
            )
        for key in candidate_keys(client, alg, header.get("kid")):
            try:
                claims = jwt.decode(
                    request_object,
                    key.key,
                    algorithms=[alg],
                    audience=self._issuer,
                    issuer=client.client_id,
                    options={
                        "require": ["iss", "aud", "exp"],
                        "verify_exp": False,
                        "verify_nbf": False,
                        "verify_iat": False,
                    },
                )
            except jwt.InvalidSignatureError:
                continue
            except jwt.InvalidTokenError as error:
                raise InvalidRequestObjectError(f"the request object is invalid: {error}") from None
            self._check_times(claims)
            return claims
        raise InvalidRequestObjectError("the request object is not signed by a key of the client")

    def _check_times(self, claims: dict[str, Any]) -> None:
        now = self._clock()
        exp = claims["exp"]
        if not _is_time(exp) or exp <= now - CLOCK_SKEW_SECONDS:
            raise InvalidRequestObjectError("the request object has expired")
        if exp - now > MAX_LIFETIME_SECONDS + CLOCK_SKEW_SECONDS:
            raise InvalidRequestObjectError("the request object lives too long (exp)")
        for name in ("nbf", "iat"):
            moment = claims.get(name)
            if moment is not None and (not _is_time(moment) or moment > now + CLOCK_SKEW_SECONDS):
                raise InvalidRequestObjectError(f"the request object {name} is in the future")


def _parameter_value(value: Any) -> str | None:
    """A claim as the string parameter it stands for: strings as they are, whole numbers
    (``max_age``) in decimal; None for anything else."""
    if isinstance(value, str):
        return value
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < MAX_NUMERIC_DATE:
        return str(value)
    return None


def _is_time(value: Any) -> bool:
    if not isinstance(value, int | float) or isinstance(value, bool):
        return False
    return -MAX_NUMERIC_DATE < value < MAX_NUMERIC_DATE
