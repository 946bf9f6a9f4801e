"""The bank's online account opening (level 2) and the clinic's patient pages (level 1)."""

from __future__ import annotations

import re

import pytest
from fastapi import FastAPI

from tests.portals.support import BANK, CLINIC, Browser, Citizen, FakeClock, log_in

pytestmark = pytest.mark.anyio


async def test_the_bank_shows_the_verified_identity_and_records_the_application(
    bank: FastAPI, browser: Browser, citizens: dict[int, Citizen], clock: FakeClock
) -> None:
    citizen = citizens[2]
    page = await log_in(browser, f"{BANK}/open-account", citizen, clock)
    assert "Mức 2" in page.text
    assert citizen.full_name in page.text and citizen.personal_id_number in page.text
    assert "urn:natid:acr:level2" in page.text

    refused = await browser.submit(page, "/open-account", account_type="payment_vnd")
    assert refused.status_code == 400
    assert "Bạn cần đồng ý với điều khoản." in refused.text

    sent = await browser.submit(page, "/open-account", account_type="savings_vnd", terms="accepted")

    assert sent.status_code == 200
    reference = re.search(r"TK-\d{8}-[0-9A-F]{8}", str(sent.url))
    assert reference is not None
    assert "Ngân hàng đã nhận yêu cầu mở tài khoản" in sent.text
    assert "Tài khoản tiết kiệm trực tuyến (VND)" in sent.text
    home = await browser.get(f"{BANK}/")
    assert reference.group(0) in home.text


async def test_the_clinic_books_self_check_ins_with_queue_numbers(
    clinic: FastAPI, browser: Browser, citizens: dict[int, Citizen], clock: FakeClock
) -> None:
    citizen = citizens[1]
    page = await log_in(browser, f"{CLINIC}/visits", citizen, clock)
    assert str(page.url) == f"{CLINIC}/visits"
    assert "Bạn chưa có lượt khám nào" in page.text

    first = await browser.submit(
        page,
        "/visits/check-in",
        department="ent",
        reason="Đau họng ba ngày",
        health_insurance="yes",
    )
    second = await browser.submit(
        first, "/visits/check-in", department="ent", reason="Tái khám tai"
    )

    assert "Đã đăng ký khám: Tai mũi họng, số thứ tự 2." in second.text
    assert second.text.count('class="queue-number"') == 2
    assert "Đau họng ba ngày" in second.text
    invalid = await browser.submit(second, "/visits/check-in", department="surgery", reason="")
    assert invalid.status_code == 400
    assert "Chọn chuyên khoa." in invalid.text
