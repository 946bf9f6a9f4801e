"""Brute force and lockout abuse, through HTTP from several client addresses.

The rules are written out in ``identity_service.accounts.lockout``. What they must
guarantee, checked here: an attacker at one address who keeps failing on a citizen's
account locks themselves out for longer and longer, but can lock the account for anyone
else at most once a day and for one base period; the citizen is never locked out at an
address they logged in from before; rotating addresses inside one IPv6 /64 or sending
``X-Forwarded-For`` buys nothing.
"""

from __future__ import annotations

import httpx
import pytest
from fastapi import FastAPI

from identity_service.accounts.models import DemoCredential
from identity_service.config import IdentitySettings
from tests.identity_service.oidc.support import FakeClock, csrf_token_of, form_actions, raw_request
from tests.security.adversary import BrowserAt

pytestmark = pytest.mark.anyio

WRONG = "Wrong-password-2025"
ATTACKER = "203.0.113.66"
HOME = "198.51.100.7"


class Visitor:
    """A browser at one address; each attempt starts from a fresh login page."""

    def __init__(self, app: FastAPI, ip: str) -> None:
        self.browser = BrowserAt(app, ip)

    async def attempt(self, personal_id_number: str, password: str) -> httpx.Response:
        page = await self.browser.open(raw_request(prompt="login").url)
        return await self.browser.submit(
            page, "login", personal_id_number=personal_id_number, password=password
        )

    async def close(self) -> None:
        await self.browser.http.aclose()


def logged_in(answer: httpx.Response) -> bool:
    return answer.status_code == 303 or "/consent" in " ".join(form_actions(answer))


def locked(answer: httpx.Response) -> int:
    """The Retry-After of a refusal before any password check (0 if it was not one)."""
    if answer.status_code != 429:
        return 0
    return int(answer.headers["retry-after"])


@pytest.fixture
def citizen(demo: dict[int, DemoCredential]) -> DemoCredential:
    return demo[1]


async def fail_until_locked(visitor: Visitor, citizen: DemoCredential, threshold: int) -> int:
    for _ in range(threshold - 1):
        assert (await visitor.attempt(citizen.personal_id_number, WRONG)).status_code == 400
    return locked(await visitor.attempt(citizen.personal_id_number, WRONG))


async def test_one_address_can_lock_others_out_once_and_briefly(
    app: FastAPI, citizen: DemoCredential, settings: IdentitySettings, clock: FakeClock
) -> None:
    threshold, base = settings.lockout_threshold, settings.lockout_base_seconds
    attacker = Visitor(app, ATTACKER)
    first_lock = await fail_until_locked(attacker, citizen, threshold)
    assert first_lock == base
    # The account-wide lock reaches a stranger's address, for that one base period.
    traveller = Visitor(app, "192.0.2.10")
    assert 0 < locked(await traveller.attempt(citizen.personal_id_number, citizen.password)) <= base
    clock.advance(base + 1)
    # The attacker goes on all day: its own pair lock grows, the account lock never returns.
    pair_locks = []
    for round_number in range(4):
        pair_locks.append(await fail_until_locked(attacker, citizen, threshold))
        # Right after the attacker's new lock, somebody elsewhere logs in unhindered.
        bystander = Visitor(app, f"192.0.2.{20 + round_number}")
        assert logged_in(await bystander.attempt(citizen.personal_id_number, citizen.password))
        await bystander.close()
        clock.advance(pair_locks[-1] + 1)
    assert pair_locks == sorted(pair_locks) and pair_locks[-1] > pair_locks[0] > base
    await attacker.close()
    await traveller.close()


async def test_the_citizens_usual_address_is_never_locked_out(
    app: FastAPI, citizen: DemoCredential, settings: IdentitySettings, clock: FakeClock
) -> None:
    home = Visitor(app, HOME)
    assert logged_in(await home.attempt(citizen.personal_id_number, citizen.password))
    # Many attackers, each at its own address: the account-wide lock is on ...
    for n in range(3):
        attacker = Visitor(app, f"203.0.113.{n + 1}")
        for _ in range(settings.lockout_threshold):
            await attacker.attempt(citizen.personal_id_number, WRONG)
        await attacker.close()
    stranger = Visitor(app, "192.0.2.99")
    assert locked(await stranger.attempt(citizen.personal_id_number, citizen.password)) > 0
    # ... yet at home the citizen logs straight in.
    assert logged_in(await home.attempt(citizen.personal_id_number, citizen.password))
    for visitor in (home, stranger):
        await visitor.close()


async def test_rotating_addresses_in_one_ipv6_64_counts_as_one_address(
    app: FastAPI, citizen: DemoCredential, settings: IdentitySettings, clock: FakeClock
) -> None:
    threshold, base = settings.lockout_threshold, settings.lockout_base_seconds
    addresses = (f"2001:db8:1:2::{n:x}" for n in range(1, 1000))

    async def guess_from_a_new_address() -> httpx.Response:
        visitor = Visitor(app, next(addresses))
        try:
            return await visitor.attempt(citizen.personal_id_number, WRONG)
        finally:
            await visitor.close()

    first = [await guess_from_a_new_address() for _ in range(threshold)]
    assert [answer.status_code for answer in first] == [400] * (threshold - 1) + [429]
    # Another fresh address of the same /64 is refused before any password check.
    assert locked(await guess_from_a_new_address()) > 0
    clock.advance(base + 1)
    # A second day-long round of fresh addresses: had each address counted on its own,
    # these failures would lock the whole account again; as one /64 they lock only it.
    second = [await guess_from_a_new_address() for _ in range(threshold)]
    assert locked(second[-1]) > base
    bystander = Visitor(app, "192.0.2.50")
    assert logged_in(await bystander.attempt(citizen.personal_id_number, citizen.password))
    await bystander.close()


async def test_the_per_address_rate_limit_cannot_be_dodged_with_forwarded_headers(
    app: FastAPI, settings: IdentitySettings, citizen: DemoCredential
) -> None:
    attacker = Visitor(app, ATTACKER)
    page = await attacker.browser.open(raw_request(prompt="login").url)
    limit = settings.ip_attempts_per_minute
    answers = []
    for n in range(limit + 1):
        # Each guess names another account and claims another origin.
        spoofed = {
            "X-Forwarded-For": f"10.0.{n // 250}.{n % 250}",
            "X-Real-IP": f"10.1.0.{n % 250}",
        }
        data = {
            "csrf_token": csrf_token_of(page),
            "personal_id_number": f"0790929{n:05d}",
            "password": WRONG,
        }
        answers.append(
            await attacker.browser.http.post(form_actions(page)[0], data=data, headers=spoofed)
        )
    assert [answer.status_code for answer in answers[:limit]] == [400] * limit
    assert answers[-1].status_code == 429 and int(answers[-1].headers["retry-after"]) > 0
    # Somebody else, elsewhere, is not affected by the attacker's limit.
    home = Visitor(app, HOME)
    assert logged_in(await home.attempt(citizen.personal_id_number, citizen.password))
    for visitor in (attacker, home):
        await visitor.close()
