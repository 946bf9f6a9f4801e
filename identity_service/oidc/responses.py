"""Authorization responses: the redirect back to the client (RFC 6749 §4.1.2, RFC 9207).

Every response, success or error, carries ``iss`` so a client talking to several
providers can tell which one answered (mix-up defence, RFC 9207), and ``state`` exactly
as the client sent it. Parameters are added to any query the registered URI already has.
"""

from __future__ import annotations

from urllib.parse import urlencode, urlsplit, urlunsplit

from identity_service.oidc.errors import OAuthError


def _with_query(redirect_uri: str, params: dict[str, str]) -> str:
    parts = urlsplit(redirect_uri)
    added = urlencode(params)
    query = f"{parts.query}&{added}" if parts.query else added
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, ""))


def success_redirect(redirect_uri: str, *, code: str, state: str | None, issuer: str) -> str:
    params = {"code": code}
    if state is not None:
        params["state"] = state
    params["iss"] = issuer
    return _with_query(redirect_uri, params)


def error_redirect(redirect_uri: str, error: OAuthError, *, state: str | None, issuer: str) -> str:
    params = error.body()
    if state is not None:
        params["state"] = state
    params["iss"] = issuer
    return _with_query(redirect_uri, params)
