"""What a browser and a portal do by hand in the code flow, without Locust: PKCE values,
the authorization URL, reading the IdP's HTML forms, and reading the redirect back.

Forms are read with small regular expressions rather than a full HTML parser: the load
generator shares two cores with the server, and these pages are our own templates. The
expressions do not depend on attribute order or quoting style beyond double quotes.
"""

from __future__ import annotations

import base64
import hashlib
import html
import re
import secrets
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, urlencode, urlsplit

_FORM = re.compile(r"<form\b([^>]*)>(.*?)</form>", re.IGNORECASE | re.DOTALL)
_CONTROL = re.compile(r"<(input|button)\b([^>]*)>", re.IGNORECASE)
_ATTRIBUTE = re.compile(r'([a-zA-Z_:][-a-zA-Z0-9_:.]*)\s*=\s*"([^"]*)"')


@dataclass(frozen=True, slots=True)
class PageForm:
    """A form on a page: where it posts, its hidden fields, and its named buttons."""

    action: str
    hidden: dict[str, str] = field(default_factory=dict)
    buttons: dict[str, list[str]] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class AuthorizationAttempt:
    """One authorization request: the URL and what the portal keeps to finish it."""

    url: str
    state: str
    nonce: str
    code_verifier: str


@dataclass(frozen=True, slots=True)
class Callback:
    """The redirect back to the portal: a code or an error, with state and iss."""

    code: str | None
    error: str | None
    state: str | None
    issuer: str | None


def code_challenge(verifier: str) -> str:
    """PKCE S256 (RFC 7636 §4.2): base64url(SHA-256(verifier)) without padding."""
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def authorization_attempt(
    authorize_path: str, client_id: str, redirect_uri: str, scope: str, **extra: str
) -> AuthorizationAttempt:
    """A fresh code-flow request with PKCE S256, state and nonce."""
    verifier = secrets.token_urlsafe(48)
    state = secrets.token_urlsafe(12)
    nonce = secrets.token_urlsafe(12)
    query = urlencode(
        {
            "response_type": "code",
            "client_id": client_id,
            "redirect_uri": redirect_uri,
            "scope": scope,
            "state": state,
            "nonce": nonce,
            "code_challenge": code_challenge(verifier),
            "code_challenge_method": "S256",
            **extra,
        }
    )
    return AuthorizationAttempt(f"{authorize_path}?{query}", state, nonce, verifier)


def page_forms(page: str) -> list[PageForm]:
    """Every form of an HTML page, in page order."""
    forms = []
    for form_attributes, body in _FORM.findall(page):
        attributes = _attributes(form_attributes)
        hidden: dict[str, str] = {}
        buttons: dict[str, list[str]] = {}
        for tag, control_attributes in _CONTROL.findall(body):
            control = _attributes(control_attributes)
            name = control.get("name")
            if not name:
                continue
            if tag.lower() == "button":
                buttons.setdefault(name, []).append(control.get("value", ""))
            elif control.get("type", "").lower() == "hidden":
                hidden[name] = control.get("value", "")
        forms.append(PageForm(attributes.get("action", ""), hidden, buttons))
    return forms


def form_for(page: str, action_suffix: str) -> PageForm | None:
    """The page's form posting to an action ending in ``action_suffix``, if any."""
    for form in page_forms(page):
        if form.action.endswith(action_suffix):
            return form
    return None


def is_redirect_to(location: str, redirect_uri: str) -> bool:
    """Whether ``location`` goes back to the portal's redirect URI (query aside)."""
    return location.split("?", 1)[0] == redirect_uri


def read_callback(location: str) -> Callback:
    """The parameters of the redirect back to the portal (RFC 6749 §4.1.2, RFC 9207)."""
    parameters = dict(parse_qsl(urlsplit(location).query))
    return Callback(
        code=parameters.get("code"),
        error=parameters.get("error"),
        state=parameters.get("state"),
        issuer=parameters.get("iss"),
    )


def path_of(url: str) -> str:
    """The path and query of an absolute URL (Locust requests go to its own host)."""
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def _attributes(text: str) -> dict[str, str]:
    return {name.lower(): html.unescape(value) for name, value in _ATTRIBUTE.findall(text)}
