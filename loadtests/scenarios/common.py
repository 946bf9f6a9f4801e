"""The base of every scenario: a FastHttpUser that checks each step and times each flow.

Every HTTP request is a named *step* (``login: submit password``) that fails, with a
reason, unless its status and content are what a correct IdP answers; a failed step ends
its flow. Every flow (one citizen login, one e-KYC check, ...) is also reported as one
``flow`` entry in Locust's statistics, with its total time, so the report reads both
"how long does a login take" and "which step is slow".

What is shared per Locust process: the provisioning files, the discovery document, the
portals' JWKS cache (one portal back-end serves many browsers), and the counter that hands
each flow the next test citizen, so concurrent flows log in distinct citizens.
"""

from __future__ import annotations

import base64
import itertools
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from typing import Any
from urllib.parse import quote_plus

from locust import FastHttpUser, between, constant

from loadtests import config
from loadtests.browser import path_of
from loadtests.config import Credential, LoadTestClient, LoadTestClients
from loadtests.id_tokens import KeySet

FLOW = "flow"
LOCAL = "portal-side"
DISCOVERY_PATH = "/.well-known/openid-configuration"


class FlowFailedError(Exception):
    """A step of the flow got a wrong answer; the step is already reported as failed."""


@dataclass
class FlowOutcome:
    ok: bool = False


@cache
def clients() -> LoadTestClients:
    return config.read_clients(config.clients_path())


@cache
def accounts() -> list[Credential]:
    return config.read_accounts(config.accounts_path())


_citizen_counter: Iterator[int] | None = None


def next_citizen(worker_index: int) -> Credential:
    """The next test citizen, round robin; workers start at spread-out offsets."""
    global _citizen_counter
    credentials = accounts()
    if _citizen_counter is None:
        # 0.618... spreads any number of workers evenly around the list.
        _citizen_counter = itertools.count(int(worker_index * 0.6180339887 * len(credentials)))
    return credentials[next(_citizen_counter) % len(credentials)]


def basic_auth(client: LoadTestClient) -> dict[str, str]:
    """``client_secret_basic`` (RFC 6749 §2.3.1: form-encode id and secret first)."""
    raw = f"{quote_plus(client.client_id)}:{quote_plus(client.client_secret)}".encode()
    return {"Authorization": "Basic " + base64.b64encode(raw).decode("ascii")}


def _wait_time() -> Callable[..., float]:
    mean = config.think_time()
    return constant(0) if mean == 0 else between(0.5 * mean, 1.5 * mean)


class IdpUser(FastHttpUser):
    """Shared machinery of the scenarios; not a scenario itself."""

    abstract = True
    wait_time = _wait_time()
    # Per process: the discovery document and the portals' JWKS cache.
    _discovery: dict[str, Any] | None = None
    _key_set: KeySet | None = None

    @property
    def worker_index(self) -> int:
        return int(getattr(self.environment.runner, "worker_index", 0) or 0)

    # --- endpoints and keys -----------------------------------------------------------
    def endpoint(self, name: str) -> str:
        """The path of a discovery endpoint (``token_endpoint``, ...)."""
        if IdpUser._discovery is None:
            response = self.step("GET", DISCOVERY_PATH, "discovery", check=json_object_check)
            IdpUser._discovery = response.json()
        url = IdpUser._discovery.get(name)
        if not isinstance(url, str):
            raise FlowFailedError(f"the discovery document names no {name}")
        return path_of(url)

    @property
    def issuer(self) -> str:
        self.endpoint("issuer")
        assert IdpUser._discovery is not None
        return str(IdpUser._discovery["issuer"])

    def key_set(self) -> KeySet:
        if IdpUser._key_set is None:
            IdpUser._key_set = KeySet(self._fetch_jwks)
        return IdpUser._key_set

    def _fetch_jwks(self) -> dict[str, Any]:
        response = self.step(
            "GET", self.endpoint("jwks_uri"), "jwks (cache miss)", check=jwks_check
        )
        return response.json()

    # --- steps and flows ----------------------------------------------------------------
    def step(
        self,
        method: str,
        path: str,
        name: str,
        *,
        expect: int = 200,
        check: Callable[[Any], str | None] | None = None,
        **options: Any,
    ) -> Any:
        """One request; fails (and ends the flow) unless the status is ``expect`` and
        ``check(response)`` finds nothing wrong (it returns a reason or None)."""
        problem: str | None = None
        with self.client.request(
            method, path, name=name, allow_redirects=False, catch_response=True, **options
        ) as response:
            if response.status_code != expect:
                problem = f"expected HTTP {expect}, got {response.status_code}: " + _excerpt(
                    response
                )
            elif check is not None:
                problem = check(response)
            if problem is None:
                response.success()
            else:
                response.failure(problem)
        if problem is not None:
            raise FlowFailedError(f"{name}: {problem}")
        return response

    def local_check(self, name: str, work: Callable[[], Any]) -> Any:
        """Portal-side work (verifying a token), timed and reported like a step."""
        started = time.perf_counter()
        error: Exception | None = None
        try:
            return work()
        except Exception as failure:
            error = failure
            raise FlowFailedError(f"{name}: {failure}") from failure
        finally:
            self.environment.events.request.fire(
                request_type=LOCAL,
                name=name,
                response_time=(time.perf_counter() - started) * 1000,
                response_length=0,
                exception=error,
                context={},
            )

    @contextmanager
    def flow(self, name: str) -> Iterator[FlowOutcome]:
        """Report the block as one flow; a failed step or any error fails the flow (and
        is swallowed: the user goes on with its next flow). ``outcome.ok`` tells which."""
        started = time.perf_counter()
        outcome = FlowOutcome()
        error: Exception | None = None
        try:
            yield outcome
        except Exception as failure:  # any error is a failed flow, never a crashed user
            error = failure
        outcome.ok = error is None
        self.environment.events.request.fire(
            request_type=FLOW,
            name=name,
            response_time=(time.perf_counter() - started) * 1000,
            response_length=0,
            exception=error,
            context={},
        )


def _excerpt(response: Any) -> str:
    text = (response.text or "")[:160]
    return " ".join(text.split())


def json_object_check(response: Any) -> str | None:
    try:
        body = response.json()
    except ValueError:
        return "the body is not JSON"
    return None if isinstance(body, dict) else "the body is not a JSON object"


def jwks_check(response: Any) -> str | None:
    problem = json_object_check(response)
    if problem is not None:
        return problem
    keys = response.json().get("keys")
    return None if isinstance(keys, list) and keys else "the JWKS has no keys"
