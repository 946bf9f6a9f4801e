"""Pushed authorization requests (RFC 9126): validated requests parked under a request URI.

The PAR endpoint validates a client's authorization request exactly as the authorization
endpoint would, then parks it in the shared state store under a hash of a fresh
``urn:ietf:params:oauth:request_uri:…`` reference, for ``ttl`` seconds (at most 60: the
browser goes to the authorization endpoint at once). The reference works once
(``take`` is atomic, across processes) and only together with the client it was issued
to (RFC 9126 §4: the ``client_id`` sent with it must be the pushing client's).
"""

from __future__ import annotations

import hashlib
import secrets

from identity_service.oidc.requests import AuthorizationRequest
from identity_service.state import StateStore

REQUEST_URI_PREFIX = "urn:ietf:params:oauth:request_uri:"
MAX_TTL_SECONDS = 60
_KEY_PREFIX = "par:"
_MAX_REQUEST_URI_LENGTH = 128


class PushedRequests:
    def __init__(self, state: StateStore, ttl: int = MAX_TTL_SECONDS) -> None:
        if not 0 < ttl <= MAX_TTL_SECONDS:
            raise ValueError(f"a pushed request lives 1-{MAX_TTL_SECONDS} seconds")
        self._state = state
        self.ttl = ttl

    def push(self, request: AuthorizationRequest) -> str:
        """Park ``request``; its request URI (valid once, for ``ttl`` seconds)."""
        request_uri = REQUEST_URI_PREFIX + secrets.token_urlsafe(32)
        self._state.put(_key(request_uri), request.to_json(), self.ttl)
        return request_uri

    def take(self, request_uri: str, client_id: str) -> AuthorizationRequest | None:
        """The parked request, consumed; None if unknown, expired, used or another
        client's (which consumes it too: a leaked reference is dead either way)."""
        if not request_uri.startswith(REQUEST_URI_PREFIX):
            return None
        if len(request_uri) > _MAX_REQUEST_URI_LENGTH:
            return None
        data = self._state.take(_key(request_uri))
        if data is None:
            return None
        request = AuthorizationRequest.from_json(data)
        return request if request.client_id == client_id else None


def _key(request_uri: str) -> str:
    return _KEY_PREFIX + hashlib.sha256(request_uri.encode("utf-8")).hexdigest()
