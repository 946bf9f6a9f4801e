"""What every portal page has in common: texts in both languages, headers, error pages."""

from __future__ import annotations

import logging
import re
from pathlib import Path

import pytest
from fastapi import FastAPI

import portals
from portals.bank.messages import MESSAGES as BANK_MESSAGES
from portals.clinic.messages import MESSAGES as CLINIC_MESSAGES
from portals.common.auth_routes import safe_next_path
from portals.public_services.messages import MESSAGES as PUBLIC_SERVICES_MESSAGES
from tests.portals.support import BANK, CLINIC, PUBLIC_SERVICES, Browser, Citizen, FakeClock, log_in

pytestmark = pytest.mark.anyio
CATALOGUES = {
    "public_services": PUBLIC_SERVICES_MESSAGES,
    "bank": BANK_MESSAGES,
    "clinic": CLINIC_MESSAGES,
}


@pytest.mark.parametrize("name", sorted(CATALOGUES))
def test_every_text_exists_in_vietnamese_and_english(name: str) -> None:
    catalogue = CATALOGUES[name]
    assert set(catalogue["vi"]) == set(catalogue["en"])
    for locale in ("vi", "en"):
        assert all(text.strip() for text in catalogue[locale].values())


@pytest.mark.parametrize("name", sorted(CATALOGUES))
def test_every_text_key_used_by_a_template_exists(name: str) -> None:
    root = Path(portals.__file__).parent
    used: set[str] = set()
    for folder in (root / "common" / "templates", root / name / "templates"):
        for template in folder.glob("*.html"):
            used |= set(re.findall(r"\bt\('([a-z0-9_.\-]+)'\s*[,)]", template.read_text()))
    missing = used - set(CATALOGUES[name]["vi"])
    assert not missing


@pytest.mark.parametrize(
    ("candidate", "expected"),
    [
        ("/services", "/services"),
        ("/applications/LLTP-1?submitted=1", "/applications/LLTP-1?submitted=1"),
        ("https://evil.example/", "/"),
        ("//evil.example/path", "/"),
        ("/\\evil.example", "/"),
        ("javascript:alert(1)", "/"),
        ("/ok\r\nSet-Cookie: x=y", "/"),
        ("", "/"),
        (None, "/"),
    ],
)
def test_return_paths_stay_on_the_portal(candidate: str | None, expected: str) -> None:
    assert safe_next_path(candidate) == expected


@pytest.mark.parametrize("origin", [PUBLIC_SERVICES, BANK, CLINIC])
async def test_pages_carry_security_headers_and_default_to_vietnamese(
    public_services: FastAPI, bank: FastAPI, clinic: FastAPI, browser: Browser, origin: str
) -> None:
    page = await browser.get(f"{origin}/")
    assert page.status_code == 200
    csp = page.headers["content-security-policy"]
    assert "default-src 'none'" in csp and "frame-ancestors 'none'" in csp
    assert "script-src" not in csp  # no script at all
    assert "form-action 'self' http://127.0.0.1:8000" in csp
    assert page.headers["x-frame-options"] == "DENY"
    assert page.headers["x-content-type-options"] == "nosniff"
    assert page.headers["cache-control"] == "no-store"
    assert '<html lang="vi">' in page.text
    assert "<script" not in page.text
    stylesheet = await browser.get(f"{origin}/static/portal/theme.css")
    assert stylesheet.status_code == 200 and "--brand" in stylesheet.text


async def test_the_language_choice_is_remembered(clinic: FastAPI, browser: Browser) -> None:
    english = await browser.get(f"{CLINIC}/?lang=en")
    assert '<html lang="en">' in english.text and "Check in with your e-ID" in english.text
    again = await browser.get(f"{CLINIC}/")
    assert '<html lang="en">' in again.text
    back = await browser.get(f"{CLINIC}/?lang=vi")
    assert "Đăng ký khám bằng định danh điện tử" in back.text


async def test_unknown_pages_get_the_portal_error_page(bank: FastAPI, browser: Browser) -> None:
    page = await browser.get(f"{BANK}/no-such-page?lang=en")
    assert page.status_code == 404
    assert "This page does not exist." in page.text
    assert "Demo Bank" in page.text


async def test_the_access_log_leaves_out_authorization_codes(
    public_services: FastAPI,
    browser: Browser,
    citizens: dict[int, Citizen],
    clock: FakeClock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.INFO, logger="portals.access"):
        await log_in(browser, f"{PUBLIC_SERVICES}/services", citizens[1], clock)
    lines = [record.getMessage() for record in caplog.records if record.name == "portals.access"]
    assert any('"GET /auth/callback" 303' in line for line in lines)
    assert not any("code=" in line or "state=" in line for line in lines)
