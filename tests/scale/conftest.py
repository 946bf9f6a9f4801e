"""Fixtures of the scale tests: services they need, skipped when those are missing.

Tests on the shared PostgreSQL and Redis read ``NATID_TEST_POSTGRES_URL`` and
``NATID_TEST_REDIS_URL`` (private databases and a private key prefix per run); outage
tests start their own ``redis-server`` or PostgreSQL cluster instead.
"""

from __future__ import annotations

import os
import shutil

import pytest

from tests.scale.services import postgres_binaries_available


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="module")
def shared_postgres_url() -> str:
    url = os.environ.get("NATID_TEST_POSTGRES_URL")
    if not url:
        pytest.skip("NATID_TEST_POSTGRES_URL is not set")
    return url


@pytest.fixture(scope="module")
def shared_redis_url() -> str:
    url = os.environ.get("NATID_TEST_REDIS_URL")
    if not url:
        pytest.skip("NATID_TEST_REDIS_URL is not set")
    return url


@pytest.fixture
def redis_server_binary() -> None:
    if shutil.which("redis-server") is None:
        pytest.skip("redis-server is not installed")


@pytest.fixture
def postgres_binaries() -> None:
    if not postgres_binaries_available():
        pytest.skip("PostgreSQL 15 server binaries (initdb, pg_ctl) are not installed")
