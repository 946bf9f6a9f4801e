"""Fixtures of the browser tests: the running demo system, headless Chromium, a page.

A failing test leaves a screenshot of its page in its ``tmp_path``; the path is printed
in the failure report.
"""

from __future__ import annotations

from collections.abc import Generator, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.browser.chromium import (
    CHROMIUM,
    CHROMIUM_ARGUMENTS,
    browser_missing,
    browser_required,
)
from tests.browser.servers import DemoSystem

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

STEP_TIMEOUT_MS = 30_000  # generous: CI runs two test workers on two cores


@pytest.fixture(scope="module")
def chromium() -> Iterator[Browser]:
    reason = browser_missing()
    if reason:
        if browser_required():
            pytest.fail(f"NATID_TEST_BROWSER=required but {reason}", pytrace=False)
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGUMENTS, headless=True
        )
        yield browser
        browser.close()


@pytest.fixture(scope="module")
def demo_system(
    chromium: Browser, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[DemoSystem]:
    """The IdP and the three portals, started once for the module (after the browser, so
    nothing starts when the tests are skipped)."""
    system = DemoSystem(tmp_path_factory.mktemp("demo-system"))
    system.start()
    yield system
    system.stop()


@pytest.fixture
def page(chromium: Browser, tmp_path: Path) -> Iterator[Page]:
    """A fresh browser profile (no cookies) per test, in Vietnamese like a citizen's.

    Asks for ``tmp_path`` so that a failure screenshot always has the test's directory."""
    context = chromium.new_context(locale="vi-VN", viewport={"width": 1280, "height": 900})
    context.set_default_timeout(STEP_TIMEOUT_MS)
    try:
        yield context.new_page()
    finally:
        context.close()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    if report.when == "call" and report.failed:
        funcargs = getattr(item, "funcargs", {})
        page, tmp_path = funcargs.get("page"), funcargs.get("tmp_path")
        if page is not None and tmp_path is not None:
            report.sections.append(("browser", _screenshot(page, Path(tmp_path))))
    return report


def _screenshot(page: Page, directory: Path) -> str:
    path = directory / "failure.png"
    try:
        page.screenshot(path=str(path), full_page=True)
    except Exception as error:  # the page may be gone; the report must still be made
        return f"no screenshot ({error.__class__.__name__}: {error})"
    message = f"screenshot of {page.url} saved to {path}"
    print(message)
    return message
