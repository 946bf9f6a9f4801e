"""The criminal-record certificate application, from the e-ID login to the status page."""

from __future__ import annotations

import re

import httpx
import pytest
from fastapi import FastAPI

from tests.portals.support import PUBLIC_SERVICES, Browser, Citizen, FakeClock, Network, log_in

pytestmark = pytest.mark.anyio
APPLY = f"{PUBLIC_SERVICES}/services/criminal-record/apply"
REFERENCE = re.compile(r"LLTP-\d{8}-[0-9A-F]{6}")


async def level2_form(browser: Browser, citizen: Citizen, clock: FakeClock) -> httpx.Response:
    """The application form after logging in and stepping up to level 2."""
    await log_in(browser, APPLY, citizen, clock)
    return await log_in(
        browser,
        f"{PUBLIC_SERVICES}/auth/login?level=2&next=/services/criminal-record/apply",
        citizen,
        clock,
    )


async def test_the_form_is_filled_from_the_e_id_claims(
    public_services: FastAPI, browser: Browser, citizens: dict[int, Citizen], clock: FakeClock
) -> None:
    citizen = citizens[2]
    page = await level2_form(browser, citizen, clock)

    assert citizen.full_name in page.text
    assert citizen.personal_id_number in page.text
    assert "Nơi thường trú" in page.text  # the address claim arrived and is shown
    assert re.search(r"\d{2}/\d{2}/\d{4}", page.text)  # birth date, Vietnamese style


async def test_a_complete_application_is_stored_and_listed_with_its_status(
    public_services: FastAPI, browser: Browser, citizens: dict[int, Citizen], clock: FakeClock
) -> None:
    citizen = citizens[2]
    form = await level2_form(browser, citizen, clock)

    page = await browser.submit(
        form,
        "/services/criminal-record/apply",
        certificate_type="2",
        purpose="Bổ sung hồ sơ xin việc",
        copies="2",
        father_name="Nguyễn Văn Bình",
        mother_name="Trần Thị Hoa",
        delivery_method="post",
        delivery_address="12 Phố Huế, Hai Bà Trưng, Hà Nội",
        # An attempt to apply under someone else's identity: the portal ignores it.
        national_id="079092999004",
    )

    assert page.status_code == 200
    assert page.url.path.startswith("/applications/LLTP-")
    reference = REFERENCE.search(str(page.url)).group(0)  # type: ignore[union-attr]
    assert "Đã nộp hồ sơ thành công" in page.text
    assert "Đã tiếp nhận" in page.text
    assert citizen.personal_id_number in page.text
    assert "079092999004" not in page.text
    assert "Bổ sung hồ sơ xin việc" in page.text
    listing = await browser.get(f"{PUBLIC_SERVICES}/applications")
    assert reference in listing.text
    english = await browser.get(f"{PUBLIC_SERVICES}/applications/{reference}?lang=en")
    assert "Received" in english.text and "Certificate no. 2" in english.text


async def test_invalid_answers_come_back_with_the_fields_marked(
    public_services: FastAPI, browser: Browser, citizens: dict[int, Citizen], clock: FakeClock
) -> None:
    form = await level2_form(browser, citizens[2], clock)
    page = await browser.submit(
        form,
        "/services/criminal-record/apply",
        certificate_type="2",
        purpose="x",
        copies="40",
        delivery_method="post",
        delivery_address="",
        email="not-an-address",
    )

    assert page.status_code == 400
    for message in (
        "Ghi mục đích sử dụng",
        "Số lượng từ 1 đến 10",
        "Bắt buộc với Phiếu số 2",
        "Ghi địa chỉ nhận",
        "Thư điện tử không hợp lệ",
    ):
        assert message in page.text
    assert 'value="not-an-address"' in page.text  # what the citizen typed is kept
    listing = await browser.get(f"{PUBLIC_SERVICES}/applications")
    assert "LLTP-" not in listing.text


async def test_applications_are_private_to_their_citizen(
    public_services: FastAPI,
    network: Network,
    browser: Browser,
    citizens: dict[int, Citizen],
    clock: FakeClock,
) -> None:
    form = await level2_form(browser, citizens[2], clock)
    page = await browser.submit(
        form, "/services/criminal-record/apply", purpose="Du học", copies="1"
    )
    reference = REFERENCE.search(str(page.url)).group(0)  # type: ignore[union-attr]

    other = Browser(network)
    try:
        await log_in(other, f"{PUBLIC_SERVICES}/applications", citizens[1], clock)
        peek = await other.get(f"{PUBLIC_SERVICES}/applications/{reference}")
        listing = await other.get(f"{PUBLIC_SERVICES}/applications")
    finally:
        await other.aclose()
    assert peek.status_code == 404
    assert reference not in listing.text


async def test_a_forged_form_post_without_the_csrf_token_is_refused(
    public_services: FastAPI, browser: Browser, citizens: dict[int, Citizen], clock: FakeClock
) -> None:
    form = await level2_form(browser, citizens[2], clock)
    page = await browser.submit(
        form, "/services/criminal-record/apply", csrf_token="forged", purpose="Du học"
    )
    assert page.status_code == 403


async def test_the_catalogue_lists_services_and_only_one_is_online(
    public_services: FastAPI, browser: Browser, citizens: dict[int, Citizen], clock: FakeClock
) -> None:
    page = await log_in(browser, f"{PUBLIC_SERVICES}/services", citizens[1], clock)
    assert page.text.count('class="card"') >= 4
    assert page.text.count("/services/criminal-record/apply") == 1
    detail = await browser.get(f"{PUBLIC_SERVICES}/services/ordinary-passport?lang=en")
    assert "Ordinary passport" in detail.text and "8 working days" in detail.text
    missing = await browser.get(f"{PUBLIC_SERVICES}/services/no-such-service")
    assert missing.status_code == 404
