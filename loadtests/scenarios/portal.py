"""Portal-side verification: what a relying party's back-end asks the IdP about tokens.

``PortalVerification`` — tag ``jwks``: a portal process starting up (or meeting an
unknown ``kid``) downloads the JWKS and checks that every key parses; this is the request
every portal makes and no cache on the IdP side can skip.
"""

from __future__ import annotations

from typing import Any

import jwt
from locust import tag, task

from loadtests.scenarios.common import IdpUser, jwks_check


class PortalVerification(IdpUser):
    """A portal back-end verifying what citizens bring it."""

    weight = 10

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
