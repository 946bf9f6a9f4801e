"""Portal-side verification: what a relying party's back-end asks the IdP about tokens.

``PortalVerification`` has two tasks (tag ``portal`` selects both):

* ``introspection`` — the portal asks whether a citizen's access token is still good
  (RFC 7662): ``active`` true, its own ``client_id``, the citizen's pairwise ``sub``. The
  token comes from one login at the start, repeated when the token nears expiry.
* ``jwks`` — a portal process starting up (or meeting an unknown ``kid``) downloads the
  JWKS and checks that every key parses: the request every portal makes.
"""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import urlencode

import jwt
from locust import tag, task

from loadtests.scenarios.common import (
    IdpUser,
    basic_auth,
    clients,
    json_object_check,
    jwks_check,
    next_citizen,
)
from loadtests.scenarios.login import FORM_HEADERS, log_in

RENEW_BEFORE_EXPIRY_SECONDS = 30


class PortalVerification(IdpUser):
    """A portal back-end verifying what citizens bring it."""

    weight = 10

    def on_start(self) -> None:
        self.access_token: str | None = None
        self.subject: str | None = None
        self.renew_at = 0.0

    @tag("portal", "introspection")
    @task
    def introspect(self) -> None:
        portal = clients().portal
        if self.access_token is None or time.monotonic() >= self.renew_at:
            self.client.cookiejar.clear()
            with self.flow("setup: portal login") as outcome:
                tokens = log_in(self, portal, "portal setup", next_citizen(self.worker_index))
            if not outcome.ok:
                return
            self.access_token = tokens.response["access_token"]
            self.subject = tokens.claims["sub"]
            lifetime = int(tokens.response.get("expires_in", 0)) - RENEW_BEFORE_EXPIRY_SECONDS
            self.renew_at = time.monotonic() + max(lifetime, 1)
        subject, client_id = self.subject, portal.client_id

        def active_for_us(response: Any) -> str | None:
            problem = json_object_check(response)
            if problem is not None:
                return problem
            body = response.json()
            if body.get("active") is not True:
                return "a fresh access token is reported inactive"
            if body.get("client_id") != client_id or body.get("sub") != subject:
                return "introspection names another client or subject"
            return None

        with self.flow("portal: introspection") as outcome:
            self.step(
                "POST",
                self.endpoint("introspection_endpoint"),
                "portal: introspect",
                data=urlencode({"token": self.access_token, "token_type_hint": "access_token"}),
                headers={**FORM_HEADERS, **basic_auth(portal)},
                check=active_for_us,
            )
        if not outcome.ok:
            self.access_token = None  # log in again next time

    @tag("portal", "jwks")
    @task
    def fetch_jwks(self) -> None:
        with self.flow("portal: jwks fetch"):
            self.step("GET", self.endpoint("jwks_uri"), "portal: jwks", check=_usable_jwks)


def _usable_jwks(response: Any) -> str | None:
    problem = jwks_check(response)
    if problem is not None:
        return problem
    try:
        jwt.PyJWKSet.from_dict(response.json())
    except jwt.PyJWKError as error:
        return f"the JWKS does not parse: {error}"
    return None
