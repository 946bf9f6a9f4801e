"""Account enumeration through the login page: neither the answer nor its timing tells
whether an ID number has an e-ID account.

The answer to a wrong password is compared with the answer for every other kind of
"no": an ID number with no account, one not in the population at all, a malformed one,
a suspended account, a deceased citizen's account — status, headers and body (with the
interaction's own id and CSRF token masked), and, once locked, the lock's answer too.
Timing: the medians of interleaved attempts at accounts that exist and at numbers that
have none must agree, with cheap argon2 and with the real OWASP parameters; a missing
dummy verify would make the second comparison fail by a factor of two or more.
"""

from __future__ import annotations

import datetime as dt
import statistics
import time
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa
from fastapi import FastAPI

from identity_service.accounts.errors import RegistrationError
from identity_service.accounts.models import AccountStatus, DemoCredential
from identity_service.api.deps import IdentityServices
from identity_service.config import IdentitySettings
from identity_service.state import MemoryStateStore
from population_db.identifiers import PersonalIdNumber
from population_db.models import Citizen
from tests.identity_service.oidc.environment import close_app, make_app
from tests.identity_service.oidc.support import (
    Browser,
    FakeClock,
    csrf_token_of,
    form_actions,
    raw_request,
)

pytestmark = pytest.mark.anyio

WRONG_PASSWORD = "Not-the-password-2025"
NOT_IN_POPULATION = "001090123456"
DECEASED = "036041999005"  # Phạm Văn Thọ (seeds/demo_citizens.csv)
SAMPLES = 30
# OWASP's argon2id recommendation (19 MiB, 2 passes, 1 lane): the service's defaults.
OWASP_ARGON2 = {"argon2_memory_kib": 19456, "argon2_time_cost": 2, "argon2_parallelism": 1}


def masked(page: httpx.Response) -> str:
    """The page with this interaction's id and CSRF token blanked out."""
    text = page.text
    action = form_actions(page)[0]
    interaction_id = action.split("/")[2]
    return text.replace(interaction_id, "<id>").replace(csrf_token_of(page), "<csrf>")


def comparable_headers(response: httpx.Response) -> dict[str, str]:
    return {name: value for name, value in response.headers.items() if name != "x-request-id"}


async def failed_login(
    app: FastAPI, personal_id_number: str, password: str = WRONG_PASSWORD
) -> httpx.Response:
    """One login attempt from a fresh browser (its own interaction)."""
    async with Browser(app) as browser:
        page = await browser.open(raw_request(prompt="login").url)
        return await browser.submit(
            page, "login", personal_id_number=personal_id_number, password=password
        )


async def test_every_kind_of_no_gets_the_same_answer(
    app: FastAPI, services: IdentityServices, demo: dict[int, DemoCredential], clock: FakeClock
) -> None:
    suspended = demo[2].personal_id_number
    services.accounts.set_status(suspended, AccountStatus.SUSPENDED)
    services.accounts.create_account(DECEASED, demo[1].password)
    no_account = "036083999002"  # Trần Văn Hùng: in the population, never registered
    assert services.population.get(no_account) is not None
    assert services.accounts.get(no_account) is None
    reference = await failed_login(app, demo[1].personal_id_number)
    assert reference.status_code == 400
    others = {
        "no account": await failed_login(app, no_account),
        "not in the population": await failed_login(app, NOT_IN_POPULATION),
        "malformed": await failed_login(app, "12345"),
        # The right passwords, yet the same "no": the account may not log in.
        "suspended": await failed_login(app, suspended, demo[2].password),
        "deceased": await failed_login(app, DECEASED, demo[1].password),
    }
    for label, answer in others.items():
        assert answer.status_code == reference.status_code, label
        assert comparable_headers(answer) == comparable_headers(reference), label
        assert masked(answer) == masked(reference), label


async def test_a_lock_looks_the_same_for_accounts_that_do_not_exist(
    app: FastAPI, demo: dict[int, DemoCredential]
) -> None:
    answers: dict[str, httpx.Response] = {}
    for label, number in (("account", demo[1].personal_id_number), ("none", NOT_IN_POPULATION)):
        async with Browser(app) as browser:
            page = await browser.open(raw_request(prompt="login").url)
            for _ in range(6):
                answer = await browser.submit(
                    page, "login", personal_id_number=number, password=WRONG_PASSWORD
                )
            answers[label] = answer
    account, none = answers["account"], answers["none"]
    assert account.status_code == none.status_code == 429
    assert account.headers["retry-after"] == none.headers["retry-after"]
    assert comparable_headers(account) == comparable_headers(none)
    assert masked(account) == masked(none)


def living_citizens(services: IdentityServices, count: int) -> list[str]:
    query = (
        sa.select(Citizen.personal_id_number)
        .where(Citizen.date_of_death.is_(None))
        .order_by(Citizen.personal_id_number)
    )
    with services.population.engine.connect() as connection:
        numbers = [row[0] for row in connection.execute(query)]
    candidates = [number for number in numbers if services.accounts.get(number) is None]
    assert len(candidates) >= count, "the test population is too small"
    return candidates[:count]


def numbers_without_account(services: IdentityServices, count: int) -> list[str]:
    """Well-formed ID numbers that nobody in the test population has."""
    numbers = []
    for random_part in range(123_457, 999_999, 7919):
        number = PersonalIdNumber.build(1, 1990, "female", random_part).value
        if services.population.get(number) is None:
            numbers.append(number)
        if len(numbers) == count:
            return numbers
    raise AssertionError("no free ID numbers")


async def median_login_times(
    app: FastAPI, services: IdentityServices, clock: FakeClock
) -> tuple[float, float]:
    """Median seconds of failed logins at existing accounts and at numbers without one."""
    with_account = living_citizens(services, SAMPLES)
    without_account = numbers_without_account(services, SAMPLES)
    for number in with_account:
        services.accounts.create_account(number, "The-real-password-2025")
    timings: dict[bool, list[float]] = {True: [], False: []}
    async with Browser(app) as browser:
        page = await browser.open(raw_request(prompt="login").url)
        action, token = form_actions(page)[0], csrf_token_of(page)
        # Warm up (first requests pay for imports, caches and the template).
        for _ in range(3):
            await browser.http.post(action, data={"csrf_token": token, "password": "x"})
        for known, unknown in zip(with_account, without_account, strict=True):
            for exists, number in ((True, known), (False, unknown)):
                clock.advance(3)  # below the per-IP rate limit; each number is tried once
                data = {"csrf_token": token, "personal_id_number": number, "password": "Wrong-1"}
                started = time.perf_counter()
                answer = await browser.http.post(action, data=data)
                timings[exists].append(time.perf_counter() - started)
                assert answer.status_code == 400
    return statistics.median(timings[True]), statistics.median(timings[False])


async def test_login_timing_does_not_tell_accounts_apart(
    app: FastAPI, services: IdentityServices, clock: FakeClock
) -> None:
    existing, missing = await median_login_times(app, services, clock)
    assert 0.67 < existing / missing < 1.5, (existing, missing)


@pytest.mark.slow
async def test_login_timing_does_not_tell_accounts_apart_with_owasp_argon2(
    settings: IdentitySettings, tmp_path: Path, clock: FakeClock
) -> None:
    real_cost = settings.model_copy(update=OWASP_ARGON2)
    app = make_app(real_cost, MemoryStateStore(clock=clock), clock)
    try:
        existing, missing = await median_login_times(app, app.state.services, clock)
    finally:
        close_app(app)
    # One argon2 verify at these parameters costs well over the rest of the request, so
    # skipping it for unknown numbers would put this ratio near 2 or beyond.
    assert existing > 0.005, "argon2 did not run at the OWASP cost"
    assert 0.75 < existing / missing < 1.33, (existing, missing)


def test_registration_answers_reveal_nothing_to_someone_without_the_details(
    services: IdentityServices, demo: dict[int, DemoCredential]
) -> None:
    """Registration (officer CLI and service API; not exposed over HTTP yet): whoever
    lacks a citizen's exact details hears "mismatch" — whether the number exists, has an
    account already, or belongs to a deceased citizen."""
    hung = services.population.get("036083999002")  # no account
    lan = services.population.get(demo[2].personal_id_number)  # has an account
    tho = services.population.get(DECEASED)
    assert hung is not None and lan is not None and tho is not None
    password = "Một mật khẩu dài 2025!"

    def answer(number: str, full_name: str, birth_date: dt.date | str, phone: str) -> str:
        try:
            services.accounts.register(number, full_name, birth_date, phone, password)
        except RegistrationError as error:
            return error.code
        raise AssertionError("registered")

    wrong_name = "Nguyễn Văn A"
    answers = {
        answer(NOT_IN_POPULATION, wrong_name, "1990-01-01", "0900000000"),
        answer(hung.personal_id_number, wrong_name, hung.birth_date, hung.phone or ""),
        answer(lan.personal_id_number, wrong_name, lan.birth_date, lan.phone or ""),
        answer(tho.personal_id_number, wrong_name, tho.birth_date, tho.phone or "0900000000"),
        answer(lan.personal_id_number, lan.full_name, lan.birth_date, "0900000000"),
    }
    assert answers == {"mismatch"}
    # Only with every detail right does the answer say more.
    assert answer(lan.personal_id_number, lan.full_name, lan.birth_date, lan.phone or "") == (
        "already_registered"
    )
