"""Token requests without a browser: refresh-token rotation and client credentials.

``TokenRefresh`` (tag ``refresh``): a portal keeps a citizen's session alive. Once, the
citizen logs in with ``offline_access``; then every flow is one refresh request, which
must rotate the refresh token and bring a fresh ID token for the same subject (verified
offline, no nonce). A failed refresh starts over with a new login.

``ClientCredentials`` (tag ``client_credentials``): a portal back-end asks for a machine
access token (``kyc.verify``); the answer must be a bearer JWT of that scope with no
refresh token and no ID token.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from locust import tag, task

from loadtests.config import LoadTestClient
from loadtests.scenarios.common import (
    FlowFailedError,
    IdpUser,
    basic_auth,
    clients,
    next_citizen,
)
from loadtests.scenarios.login import FORM_HEADERS, check_id_token, log_in, token_response_check

OFFLINE_SCOPE = "offline_access"
KYC_SCOPE = "kyc.verify"


def client_credentials_token(user: IdpUser, bank: LoadTestClient, name: str) -> dict[str, Any]:
    """A machine access token for ``bank``; the token response, checked."""

    def machine_token(response: Any) -> str | None:
        problem = token_response_check(response)
        if problem is not None:
            return problem
        body = response.json()
        if body.get("scope") != bank.scope:
            return f"granted scope {body.get('scope')!r}, asked {bank.scope!r}"
        if "refresh_token" in body or "id_token" in body:
            return "a machine token came with a refresh or ID token"
        if not isinstance(body.get("expires_in"), int) or body["access_token"].count(".") != 2:
            return "not a JWT access token with expires_in"
        return None

    form = {"grant_type": "client_credentials", "scope": bank.scope}
    return user.step(
        "POST",
        user.endpoint("token_endpoint"),
        name,
        data=urlencode(form),
        headers={**FORM_HEADERS, **basic_auth(bank)},
        check=machine_token,
    ).json()


class TokenRefresh(IdpUser):
    """A portal refreshing a logged-in citizen's tokens (rotation every time)."""

    weight = 10

    def on_start(self) -> None:
        self.refresh_token: str | None = None
        self.subject: str | None = None

    @tag("refresh")
    @task
    def refresh(self) -> None:
        portal = clients().portal
        if self.refresh_token is None:
            self.client.cookiejar.clear()
            credential = next_citizen(self.worker_index)
            with self.flow("setup: login with offline_access") as outcome:
                tokens = log_in(
                    self,
                    portal,
                    "refresh setup",
                    credential,
                    scope=f"{portal.scope} {OFFLINE_SCOPE}",
                )
                if not isinstance(tokens.response.get("refresh_token"), str):
                    raise FlowFailedError("no refresh token for an offline_access login")
            if not outcome.ok:
                return
            self.refresh_token = tokens.response["refresh_token"]
            self.subject = tokens.claims["sub"]
        with self.flow("token refresh") as outcome:
            self._rotate(portal)
        if not outcome.ok:
            self.refresh_token = None

    def _rotate(self, portal: LoadTestClient) -> None:
        assert self.refresh_token is not None
        form = {"grant_type": "refresh_token", "refresh_token": self.refresh_token}
        response = self.step(
            "POST",
            self.endpoint("token_endpoint"),
            "refresh: token (refresh)",
            data=urlencode(form),
            headers={**FORM_HEADERS, **basic_auth(portal)},
            check=token_response_check,
        ).json()
        rotated = response.get("refresh_token")
        if not isinstance(rotated, str) or rotated == self.refresh_token:
            raise FlowFailedError("refresh: the refresh token was not rotated")
        self.refresh_token = rotated
        claims = check_id_token(self, portal, response, nonce=None)
        if claims["sub"] != self.subject:
            raise FlowFailedError("refresh: the new ID token names another subject")


class ClientCredentials(IdpUser):
    """A portal back-end getting machine access tokens."""

    weight = 5

    @tag("client_credentials")
    @task
    def machine_token(self) -> None:
        bank = clients().bank
        with self.flow("client credentials"):
            if bank is None:
                raise FlowFailedError("no back-end client was provisioned")
            client_credentials_token(self, bank, "client credentials: token")
