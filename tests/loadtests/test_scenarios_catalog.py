"""Choosing scenarios: the tags asked for, what the IdP offers, what the locustfile has."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from loadtests import scenarios_catalog
from loadtests.scenarios_catalog import SCENARIOS, ScenarioSelectionError, available_tags, resolve

ALL = [scenario.tag for scenario in SCENARIOS]


def test_no_request_means_everything_available() -> None:
    assert resolve([], ALL) == ALL
    assert resolve([], ALL[:1]) == ALL[:1]


def test_requested_tags_keep_their_order_and_groups_expand() -> None:
    assert resolve(["sso", "login", "sso"], ALL) == ["sso", "login"]
    for group, members in scenarios_catalog.GROUPS.items():
        assert resolve([group], ALL) == list(members)


def test_unknown_and_unavailable_scenarios_are_errors() -> None:
    with pytest.raises(ScenarioSelectionError, match="unknown scenario"):
        resolve(["nope"], ALL)
    with pytest.raises(ScenarioSelectionError, match="does not offer"):
        resolve(["sso"], ["login"])


def test_availability_follows_the_discovery_and_openapi_documents() -> None:
    bare = set(available_tags({"grant_types_supported": ["authorization_code"]}, set()))
    assert bare == {"login", "sso", "jwks"}
    discovery = {
        "grant_types_supported": ["authorization_code", "refresh_token", "client_credentials"],
        "introspection_endpoint": "http://127.0.0.1:8000/introspect",
    }
    everything = set(available_tags(discovery, {"/introspect", "/api/v1/kyc/verify"}))
    assert everything == set(ALL)
    # Advertised but not served (no such path): not available.
    assert "introspection" not in available_tags(discovery, {"/api/v1/kyc/verify"})
    # e-KYC needs the machine token too.
    no_machine = {**discovery, "grant_types_supported": ["authorization_code"]}
    assert "kyc" not in available_tags(no_machine, {"/introspect", "/api/v1/kyc/verify"})


def test_every_catalogued_tag_is_a_tag_of_the_locustfile() -> None:
    # Importing Locust patches the interpreter with gevent: look in a separate process.
    script = (
        "import json, loadtests.locustfile as f\n"
        "tags = set()\n"
        "for user in f.__all__:\n"
        "    for task in getattr(f, user).tasks:\n"
        "        tags |= set(getattr(task, 'locust_tag_set', ()))\n"
        "print(json.dumps(sorted(tags)))\n"
    )
    output = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=60
    ).stdout
    locust_tags = set(json.loads(output.strip().splitlines()[-1]))
    assert set(ALL) <= locust_tags
    assert set(scenarios_catalog.GROUPS) <= locust_tags
