"""Prometheus metrics of the identity service, an ASGI middleware timing requests, /metrics.

Owns the metric names and their label sets. Every metric lives in the registry of one
``Metrics`` object (no global registry), so several apps in one process and tests never
clash. Label values are bounded: requests are labelled with the route template the router
matched (``/clients/{client_id}``), never the raw path, methods outside the standard set
become ``OTHER``, and the service-level counters accept only the values listed here
(anything else counts as ``other``).

With several worker processes each process has its own registry; scrape each process, or
run one worker per container as the load tests do.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import CounterMetricFamily
from prometheus_client.exposition import CONTENT_TYPE_LATEST, generate_latest
from prometheus_client.registry import Collector

Scope = dict[str, Any]
Message = dict[str, Any]

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
HTTP_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
UNMATCHED_ROUTE = "unmatched"
OTHER = "other"

LOGIN_OUTCOMES = frozenset({"success", "failure", "locked", "rate_limited", "stepup_failure"})
LOGIN_LEVELS = frozenset({"1", "2"})
GRANT_TYPES = frozenset({"authorization_code", "refresh_token", "client_credentials"})
KYC_RESULTS = frozenset(
    {"match", "no_match", "rate_limited", "quota_exceeded", "unauthorized", "invalid", "error"}
)


class Metrics:
    """The service's metrics in their own registry; hand ``registry`` to ``metrics_response``."""

    def __init__(
        self,
        namespace: str = "natid",
        *,
        password_hashing: Callable[[], tuple[int, float]] | None = None,
    ) -> None:
        """``password_hashing`` gives the process's argon2 hashes and verifies so far and
        their CPU seconds (``accounts.passwords.hashing_totals``)."""
        self.registry = CollectorRegistry(auto_describe=True)
        if password_hashing is not None:
            self.registry.register(_PasswordHashingCollector(namespace, password_hashing))
        self.http_requests = Counter(
            "http_requests",
            "HTTP requests by route template, method and status.",
            ("route", "method", "status"),
            namespace=namespace,
            registry=self.registry,
        )
        self.http_latency = Histogram(
            "http_request_duration_seconds",
            "Time from request start to the end of the response body.",
            ("route", "method", "status"),
            namespace=namespace,
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.logins = Counter(
            "logins",
            "Login attempts by outcome and level of assurance.",
            ("outcome", "level"),
            namespace=namespace,
            registry=self.registry,
        )
        self.tokens_issued = Counter(
            "tokens_issued",
            "Token responses by grant type.",
            ("grant_type",),
            namespace=namespace,
            registry=self.registry,
        )
        self.kyc_calls = Counter(
            "kyc_calls",
            "e-KYC verification calls by result.",
            ("result",),
            namespace=namespace,
            registry=self.registry,
        )
        self.lockouts = Counter(
            "lockouts",
            "Accounts locked after too many failed attempts.",
            namespace=namespace,
            registry=self.registry,
        )
        # labels() takes a lock and builds a key; the request path looks its children up here.
        self._http_children: dict[tuple[str, str, int], tuple[Any, Any]] = {}
        # The same for the outcome counters: bounded labels, so a bounded dict.
        self._children: dict[tuple[Any, tuple[str, ...]], Any] = {}

    def _child(self, metric: Any, *labels: str) -> Any:
        key = (metric, labels)
        child = self._children.get(key)
        if child is None:
            child = self._children[key] = metric.labels(*labels)
        return child

    def login(self, outcome: str, level: int | str | None = None) -> None:
        """Count a login attempt (outcome: success, failure, locked, rate_limited, ...)."""
        level_label = str(level) if level is not None else "none"
        self._child(
            self.logins,
            _bounded(outcome, LOGIN_OUTCOMES),
            level_label if level_label in LOGIN_LEVELS else OTHER,
        ).inc()

    def token_issued(self, grant_type: str) -> None:
        """Count a successful token response for ``grant_type``."""
        self._child(self.tokens_issued, _bounded(grant_type, GRANT_TYPES)).inc()

    def kyc_call(self, result: str) -> None:
        """Count an e-KYC call (result: match, no_match, rate_limited, unauthorized, ...)."""
        self._child(self.kyc_calls, _bounded(result, KYC_RESULTS)).inc()

    def lockout(self) -> None:
        """Count an account being locked."""
        self.lockouts.inc()

    def observe_request(self, route: str, method: str, status: int, seconds: float) -> None:
        """Record one finished HTTP request (the middleware calls this)."""
        key = (route, method, status)
        children = self._http_children.get(key)
        if children is None:
            labels = (route, method, str(status))
            children = (self.http_requests.labels(*labels), self.http_latency.labels(*labels))
            self._http_children[key] = children
        counter, histogram = children
        counter.inc()
        histogram.observe(seconds)


class MetricsMiddleware:
    """Pure ASGI middleware counting and timing HTTP requests by matched route template.

    Add it with ``app.add_middleware(MetricsMiddleware, metrics=metrics)``: it then runs
    outside the router, and reads the route the router stored in the scope once the
    request has been handled.
    """

    def __init__(self, app: Any, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500  # what the server answers if the app fails before starting a response

        async def send_and_note_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_and_note_status)
        finally:
            method = scope.get("method", "")
            self.metrics.observe_request(
                route_template(scope),
                method if method in HTTP_METHODS else "OTHER",
                status,
                time.perf_counter() - started,
            )


class _PasswordHashingCollector(Collector):
    """Counters read from the password hasher when scraped (it keeps its own totals)."""

    def __init__(self, namespace: str, totals: Callable[[], tuple[int, float]]) -> None:
        self._namespace = namespace
        self._totals = totals

    def collect(self) -> Iterator[CounterMetricFamily]:
        hashes, cpu_seconds = self._totals()
        yield CounterMetricFamily(
            f"{self._namespace}_password_hashes",
            "argon2id hashes and verifies run by this process.",
            value=hashes,
        )
        yield CounterMetricFamily(
            f"{self._namespace}_password_hashing_cpu_seconds",
            "CPU time of those hashes and verifies, on their own threads' clocks.",
            value=cpu_seconds,
        )


def route_template(scope: Scope) -> str:
    """The path template of the route that handled the request, or ``unmatched``."""
    route = scope.get("route")
    template = getattr(route, "path_format", None) or getattr(route, "path", None)
    return template if isinstance(template, str) and template else UNMATCHED_ROUTE


def metrics_response(metrics: Metrics) -> tuple[bytes, str]:
    """The body and content type of a /metrics response in the Prometheus text format."""
    return generate_latest(metrics.registry), CONTENT_TYPE_LATEST


def _bounded(value: str, allowed: frozenset[str]) -> str:
    return value if value in allowed else OTHER
