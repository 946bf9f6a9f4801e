"""Shared fixtures for identity service tests."""

from __future__ import annotations

import os

import pytest


@pytest.fixture
def clean_natid_environ(monkeypatch: pytest.MonkeyPatch) -> None:
    """Remove the developer's NATID_* settings (keeps NATID_TEST_* service URLs)."""
    for name in list(os.environ):
        if name.startswith("NATID_") and not name.startswith("NATID_TEST_"):
            monkeypatch.delenv(name)
