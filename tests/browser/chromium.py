"""Where the browser is and whether the browser tests can run here.

Debian's Chromium (``/usr/bin/chromium``) is driven through Playwright's Python package
with ``executable_path``; Playwright's own browser download is never used. Without
either, the browser tests are skipped with the reason; where ``NATID_TEST_BROWSER`` is
``required`` (CI) they fail instead, so that CI never skips them silently.
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

CHROMIUM = Path("/usr/bin/chromium")
# Without the background-networking flags Chromium keeps trying Google's hosts, which this
# machine's closed network refuses.
CHROMIUM_ARGUMENTS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    "--no-first-run",
]


def browser_required() -> bool:
    """CI sets NATID_TEST_BROWSER=required: there a missing browser is a failure."""
    return os.environ.get("NATID_TEST_BROWSER") == "required"


def browser_missing() -> str | None:
    """Why the browser tests cannot run here, or None."""
    if importlib.util.find_spec("playwright") is None:
        return "Playwright's Python package is not installed (pip install -e '.[dev]')"
    if not CHROMIUM.exists():
        return f"no Chromium at {CHROMIUM} (apt-get install chromium)"
    return None
