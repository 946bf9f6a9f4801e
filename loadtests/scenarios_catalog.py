"""Which scenarios exist (by Locust tag) and which of them a running IdP can serve.

The locustfile's tasks carry these tags; ``select`` answers, for the tags asked on the
command line (or all of them), the ones to pass to Locust — after checking over HTTP that
the IdP offers what each needs (a grant type in its discovery document, a path in its
OpenAPI document). Asking for a scenario the IdP cannot serve is an error, not a run that
silently measures something else. No Locust import here.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx

DISCOVERY_PATH = "/.well-known/openid-configuration"
OPENAPI_PATH = "/openapi.json"
KYC_VERIFY_PATH = "/api/v1/kyc/verify"


@dataclass(frozen=True, slots=True)
class Scenario:
    tag: str
    description: str
    # What the IdP must offer, read from (discovery document, OpenAPI paths).
    available: Callable[[dict[str, Any], set[str]], bool]


def _always(_discovery: dict[str, Any], _paths: set[str]) -> bool:
    return True


def _grant(grant_type: str) -> Callable[[dict[str, Any], set[str]], bool]:
    def offered(discovery: dict[str, Any], _paths: set[str]) -> bool:
        return grant_type in discovery.get("grant_types_supported", [])

    return offered


def _introspection(discovery: dict[str, Any], paths: set[str]) -> bool:
    endpoint = discovery.get("introspection_endpoint")
    return isinstance(endpoint, str) and urlsplit(endpoint).path in paths


def _kyc(discovery: dict[str, Any], paths: set[str]) -> bool:
    return KYC_VERIFY_PATH in paths and _grant("client_credentials")(discovery, paths)


SCENARIOS: tuple[Scenario, ...] = (
    Scenario("login", "citizen login: code flow with PKCE, ID token, userinfo", _always),
    Scenario("kyc", "bank back-end: e-KYC verify with a machine token", _kyc),
    Scenario("sso", "SSO login at a second portal (no password)", _always),
    Scenario("refresh", "refresh-token rotation with a new ID token", _grant("refresh_token")),
    Scenario(
        "client_credentials", "machine access token for kyc.verify", _grant("client_credentials")
    ),
    Scenario("introspection", "portal introspects a citizen's access token", _introspection),
    Scenario("jwks", "portal fetches the JWKS", _always),
)
# Tags naming several scenarios at once.
GROUPS: dict[str, tuple[str, ...]] = {"portal": ("introspection", "jwks")}


class ScenarioSelectionError(Exception):
    """A requested scenario is unknown or the IdP does not offer what it needs."""


def known_tags() -> list[str]:
    return [scenario.tag for scenario in SCENARIOS] + list(GROUPS)


def available_tags(discovery: dict[str, Any], paths: set[str]) -> list[str]:
    return [s.tag for s in SCENARIOS if s.available(discovery, paths)]


def check_known(requested: Iterable[str]) -> None:
    """Raise ``ScenarioSelectionError`` for a tag no scenario has (before any set-up)."""
    resolve(requested, [scenario.tag for scenario in SCENARIOS])


def resolve(requested: Iterable[str], available: list[str]) -> list[str]:
    """The scenario tags to run for ``requested`` (empty: every available one)."""
    wanted: list[str] = []
    for tag in requested:
        members = GROUPS.get(tag, (tag,))
        for member in members:
            if member not in {s.tag for s in SCENARIOS}:
                raise ScenarioSelectionError(
                    f"unknown scenario {tag!r}; known: {', '.join(known_tags())}"
                )
            if member not in available:
                raise ScenarioSelectionError(
                    f"the IdP does not offer what the {member!r} scenario needs yet"
                )
            if member not in wanted:
                wanted.append(member)
    return wanted or list(available)


def select(base_url: str, requested: Iterable[str]) -> list[str]:
    """Ask the IdP at ``base_url`` what it offers; the tags to run."""
    with httpx.Client(base_url=base_url, timeout=10.0) as client:
        discovery = client.get(DISCOVERY_PATH).raise_for_status().json()
        openapi = client.get(OPENAPI_PATH)
        paths = set(openapi.json().get("paths", {})) if openapi.status_code == 200 else set()
    return resolve(requested, available_tags(discovery, paths))
