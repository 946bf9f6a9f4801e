"""Fixtures of the adversarial suite: the same in-process IdP as the OIDC provider tests.

The fixtures are imported from ``tests/identity_service/oidc/conftest.py`` (the seeded
population, the identity database with keys, the fake clock, the app, a citizen's
browser), so every attack here runs against exactly the service those tests build.
"""

from __future__ import annotations

from tests.identity_service.oidc.conftest import (
    _clean_environment,
    anyio_backend,
    app,
    browser,
    clock,
    demo,
    http,
    identity_template,
    population_url,
    services,
    settings,
    state,
)

__all__ = [
    "_clean_environment",
    "anyio_backend",
    "app",
    "browser",
    "clock",
    "demo",
    "http",
    "identity_template",
    "population_url",
    "services",
    "settings",
    "state",
]
