"""``/register``: level-1 self-service registration through the web form."""

from __future__ import annotations

import datetime as dt
import unicodedata

import httpx
import pytest
import sqlalchemy as sa

from identity_service.api.deps import IdentityServices
from population_db import db
from population_db.registry import CitizenRecord
from tests.identity_service.oidc.support import Browser, csrf_token_of

pytestmark = pytest.mark.anyio

PASSWORD = "một cụm từ dài để đăng ký 2026"


def _registrable(services: IdentityServices) -> CitizenRecord:
    """A generated living adult with a phone and no account yet."""
    citizen = db.CITIZEN_TABLE
    query = (
        sa.select(citizen.c.personal_id_number)
        .where(citizen.c.phone.is_not(None), citizen.c.date_of_death.is_(None))
        .where(citizen.c.birth_date < dt.date(1990, 1, 1))
        .where(citizen.c.household_id >= 1_000_000)
        .order_by(citizen.c.personal_id_number)
    )
    with services.population.engine.connect() as connection:
        for number in connection.execute(query).scalars():
            if services.accounts.get(number) is None:
                record = services.population.get(number)
                assert record is not None
                return record
    raise AssertionError("no registrable citizen in the test population")


def _fields(record: CitizenRecord, **overrides: str) -> dict[str, str]:
    fields = {
        "personal_id_number": record.personal_id_number,
        "full_name": record.full_name,
        "birth_date": record.birth_date.isoformat(),
        "phone": record.phone or "",
        "password": PASSWORD,
        "password_confirm": PASSWORD,
    }
    return {**fields, **overrides}


async def _submit(browser: Browser, **fields: str) -> httpx.Response:
    form = await browser.open("/register")
    assert form.status_code == 200
    return await browser.post("/register", {"csrf_token": csrf_token_of(form), **fields})


async def test_a_citizen_registers_and_can_log_in(
    browser: Browser, services: IdentityServices
) -> None:
    record = _registrable(services)
    # typed in decomposed Unicode and upper case: still the same name
    typed_name = unicodedata.normalize("NFD", record.full_name.upper())
    done = await _submit(browser, **_fields(record, full_name=typed_name))
    assert done.status_code == 200, done.text
    assert "Đăng ký thành công" in done.text
    account = services.accounts.get(record.personal_id_number)
    assert account is not None and account.level == 1
    login = services.accounts.authenticate(record.personal_id_number, PASSWORD, "203.0.113.9")
    assert login.level == 1


@pytest.mark.parametrize(
    "change",
    [
        {"full_name": "Nguyễn Văn Không Có"},
        {"birth_date": "1901-01-01"},
        {"phone": "0900000000"},
        {"personal_id_number": "001090999999"},  # valid shape, nobody
        {"personal_id_number": "' OR 1=1 --"},
    ],
)
async def test_details_that_do_not_match_are_refused_without_saying_which(
    browser: Browser, services: IdentityServices, change: dict[str, str]
) -> None:
    record = _registrable(services)
    refused = await _submit(browser, **_fields(record, **change))
    assert refused.status_code == 400
    assert services.accounts.get(record.personal_id_number) is None
    assert PASSWORD not in refused.text  # passwords are never echoed back


async def test_only_someone_with_every_detail_learns_an_account_exists(
    browser: Browser, services: IdentityServices, demo: dict
) -> None:
    holder = services.population.get(demo[1].personal_id_number)
    assert holder is not None
    existing = await _submit(browser, **_fields(holder))
    assert existing.status_code == 400
    assert "đã có tài khoản" in existing.text
    # a wrong name for the same holder reads like any mismatch
    guessed = await _submit(browser, **_fields(holder, full_name="Nguyễn Văn Không Có"))
    assert guessed.status_code == 400
    assert "đã có tài khoản" not in guessed.text
    assert "không khớp" in guessed.text
    # the existing account is untouched: its own password still works
    services.accounts.authenticate(holder.personal_id_number, demo[1].password, "203.0.113.7")


async def test_weak_and_mistyped_passwords_are_refused(
    browser: Browser, services: IdentityServices
) -> None:
    record = _registrable(services)
    weak = await _submit(
        browser, **_fields(record, password="12345678", password_confirm="12345678")
    )
    assert weak.status_code == 400
    own_number = record.personal_id_number
    mine = await _submit(
        browser, **_fields(record, password=own_number, password_confirm=own_number)
    )
    assert mine.status_code == 400
    typo = await _submit(browser, **_fields(record, password_confirm=PASSWORD + "x"))
    assert typo.status_code == 400
    assert services.accounts.get(record.personal_id_number) is None


async def test_a_post_without_the_form_token_is_refused(
    browser: Browser, services: IdentityServices
) -> None:
    record = _registrable(services)
    await browser.open("/register")
    forged = await browser.post("/register", {"csrf_token": "0" * 64, **_fields(record)})
    assert forged.status_code == 403
    assert services.accounts.get(record.personal_id_number) is None


async def test_the_page_is_vietnamese_with_english_available(browser: Browser) -> None:
    vietnamese = await browser.open("/register")
    assert "Đăng ký tài khoản định danh điện tử mức độ 1" in vietnamese.text
    assert vietnamese.headers["x-frame-options"] == "DENY"
    english = await browser.open("/register?lang=en")
    assert "Register a level-1 e-ID account" in english.text
