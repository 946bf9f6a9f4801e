"""Citizen login and SSO: the authorization-code flow with PKCE as a browser and a portal
run it.

``CitizenLogin`` (tag ``login``): a fresh browser for the next test citizen → authorize →
login page → submit ID number and password → consent page when the IdP asks → redirect
back with a code (``state`` and ``iss`` checked) → the portal redeems it at the token
endpoint (``client_secret_basic``) → verifies the ID token against the cached JWKS
(signature, iss, aud, exp, nonce, at_hash) → fetches userinfo (same ``sub``).

``SsoLogin`` (tag ``sso``): a browser that logged in once at the first portal logs in at
a second portal with its SSO session: no password page may appear; the second portal's
``sub`` must differ from the first's (pairwise subjects).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import jwt
from locust import tag, task

from loadtests.browser import (
    AuthorizationAttempt,
    authorization_attempt,
    form_for,
    is_redirect_to,
    path_of,
    read_callback,
)
from loadtests.config import Credential, LoadTestClient
from loadtests.id_tokens import verify_id_token
from loadtests.scenarios.common import (
    FlowFailedError,
    IdpUser,
    basic_auth,
    clients,
    json_object_check,
    next_citizen,
)

FORM_HEADERS = {"Content-Type": "application/x-www-form-urlencoded"}
MAX_PAGES = 4  # login, consent (and a second factor, which load-test accounts never get)


@dataclass(frozen=True, slots=True)
class PortalTokens:
    """What the portal holds after a login: the token response and the ID token's claims."""

    response: dict[str, Any]
    claims: dict[str, Any]


def log_in(
    user: IdpUser,
    portal: LoadTestClient,
    prefix: str,
    credential: Credential | None,
    *,
    scope: str | None = None,
) -> PortalTokens:
    """Browser steps to a code, then the portal's token request and ID-token check.

    With ``credential`` None the browser must get through on its SSO session alone.
    """
    attempt = authorization_attempt(
        user.endpoint("authorization_endpoint"),
        portal.client_id,
        portal.redirect_uri or "",
        scope or portal.scope,
    )
    code = browser_to_code(user, portal, attempt, prefix, credential)
    return redeem_code(user, portal, attempt, code, prefix)


def browser_to_code(
    user: IdpUser,
    portal: LoadTestClient,
    attempt: AuthorizationAttempt,
    prefix: str,
    credential: Credential | None,
) -> str:
    location = _location(user.step("GET", attempt.url, f"{prefix}: authorize", expect=303))
    page_name = "login page" if credential is not None else "consent page"
    for _ in range(MAX_PAGES):
        if is_redirect_to(location, portal.redirect_uri or ""):
            break
        page = user.step("GET", path_of(location), f"{prefix}: {page_name}", check=_html)
        text = page.text or ""
        if (form := form_for(text, "/login")) is not None:
            if credential is None:
                raise FlowFailedError(f"{prefix}: the SSO session did not spare the password")
            fields = {
                **form.hidden,
                "personal_id_number": credential.personal_id_number,
                "password": credential.password,
            }
            name, page_name = f"{prefix}: submit password", "consent page"
        elif (form := form_for(text, "/consent")) is not None:
            fields, name = {**form.hidden, "decision": "approve"}, f"{prefix}: submit consent"
        else:
            raise FlowFailedError(f"{prefix}: a page with neither a login nor a consent form")
        response = user.step(
            "POST", form.action, name, expect=303, data=urlencode(fields), headers=FORM_HEADERS
        )
        location = _location(response)
    else:
        raise FlowFailedError(f"{prefix}: more than {MAX_PAGES} pages before the redirect")
    callback = read_callback(location)
    if callback.error is not None or callback.code is None:
        raise FlowFailedError(f"{prefix}: the IdP answered {callback.error or 'without a code'}")
    if callback.state != attempt.state:
        raise FlowFailedError(f"{prefix}: the redirect carries another state")
    if callback.issuer != user.issuer:
        raise FlowFailedError(f"{prefix}: the redirect's iss is not the issuer (mix-up)")
    return callback.code


def redeem_code(
    user: IdpUser,
    portal: LoadTestClient,
    attempt: AuthorizationAttempt,
    code: str,
    prefix: str,
) -> PortalTokens:
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": portal.redirect_uri or "",
        "code_verifier": attempt.code_verifier,
    }
    response = user.step(
        "POST",
        user.endpoint("token_endpoint"),
        f"{prefix}: token (code)",
        data=urlencode(form),
        headers={**FORM_HEADERS, **basic_auth(portal)},
        check=token_response_check,
    ).json()
    claims = check_id_token(user, portal, response, nonce=attempt.nonce)
    return PortalTokens(response, claims)


def check_id_token(
    user: IdpUser, portal: LoadTestClient, response: dict[str, Any], *, nonce: str | None
) -> dict[str, Any]:
    """Verify the response's ID token offline, as the portal would (timed as a step)."""
    token = response.get("id_token")
    if not isinstance(token, str):
        raise FlowFailedError("the token response has no ID token")
    keys = user.key_set()
    issuer = user.issuer
    keys.key(_kid(token))  # a JWKS download on a miss is its own step, not verification time
    return user.local_check(
        "verify ID token (cached JWKS)",
        lambda: verify_id_token(
            token,
            keys,
            issuer=issuer,
            client_id=portal.client_id,
            nonce=nonce,
            access_token=response["access_token"],
        ),
    )


def fetch_userinfo(user: IdpUser, prefix: str, tokens: PortalTokens) -> None:
    subject = tokens.claims["sub"]

    def same_subject(response: Any) -> str | None:
        problem = json_object_check(response)
        if problem is None and response.json().get("sub") != subject:
            problem = "userinfo names another subject than the ID token"
        return problem

    user.step(
        "GET",
        user.endpoint("userinfo_endpoint"),
        f"{prefix}: userinfo",
        headers={"Authorization": f"Bearer {tokens.response['access_token']}"},
        check=same_subject,
    )


def token_response_check(response: Any) -> str | None:
    problem = json_object_check(response)
    if problem is not None:
        return problem
    body = response.json()
    if not isinstance(body.get("access_token"), str) or body.get("token_type") != "Bearer":
        return "no bearer access token in the token response"
    return None


class CitizenLogin(IdpUser):
    """A citizen logging in to a portal with ID number and password (full flow)."""

    weight = 30

    @tag("login")
    @task
    def citizen_login(self) -> None:
        self.client.cookiejar.clear()  # a new browser: no SSO session
        credential = next_citizen(self.worker_index)
        with self.flow("citizen login"):
            tokens = log_in(self, clients().portal, "login", credential)
            fetch_userinfo(self, "login", tokens)


class SsoLogin(IdpUser):
    """A citizen already logged in at one portal opening a second one (no password)."""

    weight = 10

    def on_start(self) -> None:
        self.first_subject: str | None = None

    @tag("sso")
    @task
    def sso_login(self) -> None:
        if self.first_subject is None:
            self.client.cookiejar.clear()
            credential = next_citizen(self.worker_index)
            with self.flow("setup: sso first login") as outcome:
                tokens = log_in(self, clients().portal, "sso setup", credential)
            if not outcome.ok:
                return
            self.first_subject = tokens.claims["sub"]
        with self.flow("sso login") as outcome:
            tokens = log_in(self, clients().second_portal, "sso", None)
            if tokens.claims["sub"] == self.first_subject:
                raise FlowFailedError("sso: both portals got the same subject (not pairwise)")
        if not outcome.ok:
            self.first_subject = None  # start again from a fresh browser


def _location(response: Any) -> str:
    location = response.headers.get("location") or response.headers.get("Location")
    if not location:
        raise FlowFailedError("a redirect without a Location header")
    return location


def _html(response: Any) -> str | None:
    content_type = response.headers.get("content-type") or ""
    return None if content_type.startswith("text/html") else f"not an HTML page ({content_type})"


def _kid(token: str) -> str:
    try:
        kid = jwt.get_unverified_header(token).get("kid")
    except jwt.InvalidTokenError:
        return ""
    return kid if isinstance(kid, str) else ""
