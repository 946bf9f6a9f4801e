"""What the IdP under load counts itself, read from its ``/metrics`` (HTTP, like any
Prometheus scraper): the argon2id hashes and verifies and their CPU time.

The runner reads them before and after the load, so a login's cost can be set against a
verify as the server ran it, in the same run, rather than against one measured apart.
With several worker processes each answers ``/metrics`` for itself, so the figures are
read only from a server with one worker.
"""

from __future__ import annotations

import httpx
from prometheus_client.parser import text_string_to_metric_families

from loadtests.report import ServerHashing

HASHES = "natid_password_hashes"
HASHING_CPU = "natid_password_hashing_cpu_seconds"


def password_hashing(base_url: str, *, timeout: float = 5.0) -> ServerHashing | None:
    """The server's totals so far, or None when it does not publish them."""
    try:
        answer = httpx.get(f"{base_url.rstrip('/')}/metrics", timeout=timeout)
    except httpx.HTTPError:
        return None
    if answer.status_code != 200:
        return None
    values: dict[str, float] = {}
    for family in text_string_to_metric_families(answer.text):
        if family.name in (HASHES, HASHING_CPU):
            values[family.name] = sum(sample.value for sample in family.samples)
    if HASHES not in values or HASHING_CPU not in values:
        return None
    return ServerHashing(hashes=int(values[HASHES]), cpu_seconds=values[HASHING_CPU])


def difference(before: ServerHashing | None, after: ServerHashing | None) -> ServerHashing | None:
    """The work done between two readings of one server."""
    if before is None or after is None:
        return None
    return ServerHashing(
        hashes=after.hashes - before.hashes, cpu_seconds=after.cpu_seconds - before.cpu_seconds
    )
