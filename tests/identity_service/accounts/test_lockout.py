"""Lockout and rate limits with real attack inputs (rules: identity_service.accounts.lockout)."""

from __future__ import annotations

import contextlib

import pytest

from identity_service.accounts import (
    AccountLockedError,
    AccountService,
    LoginFailedError,
    RateLimitedError,
)
from identity_service.config import IdentitySettings

from .conftest import GOOD_PASSWORD, Citizen, FakeClock

ATTACKER = "203.0.113.66"
CITIZEN_HOME = "198.51.100.10"


def _fail(service: AccountService, number: str, ip: str, times: int = 1) -> None:
    for _ in range(times):
        with pytest.raises(LoginFailedError):
            service.authenticate(number, "wrong guess 1234", ip)


def _locked(service: AccountService, number: str, ip: str, password: str = GOOD_PASSWORD) -> int:
    with pytest.raises(AccountLockedError) as caught:
        service.authenticate(number, password, ip)
    assert caught.value.retry_after is not None
    return caught.value.retry_after


def test_fifth_wrong_password_locks_with_retry_after(
    service: AccountService, registered: Citizen, settings: IdentitySettings
) -> None:
    number = registered.personal_id_number
    _fail(service, number, ATTACKER, settings.lockout_threshold - 1)
    with pytest.raises(AccountLockedError) as fifth:
        service.authenticate(number, "wrong guess 1234", ATTACKER)
    assert fifth.value.retry_after == settings.lockout_base_seconds
    # While locked even the right password is refused, from anywhere new.
    assert 0 < _locked(service, number, "192.0.2.1") <= settings.lockout_base_seconds


def test_lock_is_not_checked_against_the_password(
    service: AccountService, registered: Citizen, hasher
) -> None:
    number = registered.personal_id_number
    _fail(service, number, ATTACKER, 4)
    with pytest.raises(AccountLockedError):
        service.authenticate(number, "wrong guess 1234", ATTACKER)
    before = hasher.verifications
    _locked(service, number, ATTACKER)
    assert hasher.verifications == before  # refused before any argon2 work


def test_lock_expires_and_doubles_on_the_next_lock(
    service: AccountService, registered: Citizen, clock: FakeClock, settings: IdentitySettings
) -> None:
    number = registered.personal_id_number
    base = settings.lockout_base_seconds
    # Five different IPs (a distributed guesser): the account-wide lock.
    for index in range(5):
        try:
            service.authenticate(number, "wrong guess 1234", f"192.0.2.{index + 1}")
        except AccountLockedError:
            assert index == 4
        except LoginFailedError:
            assert index < 4
    assert _locked(service, number, "192.0.2.200") == base
    clock.advance(base + 1)
    for index in range(4):
        _fail(service, number, f"192.0.2.{index + 11}")
    with pytest.raises(AccountLockedError) as second:
        service.authenticate(number, "wrong guess 1234", "192.0.2.15")
    assert second.value.retry_after == 2 * base
    clock.advance(2 * base + 1)
    for index in range(4):
        _fail(service, number, f"192.0.2.{index + 21}")
    with pytest.raises(AccountLockedError) as third:
        service.authenticate(number, "wrong guess 1234", "192.0.2.25")
    assert third.value.retry_after == 4 * base


def test_lock_growth_stops_at_the_maximum(
    service: AccountService, registered: Citizen, clock: FakeClock, settings: IdentitySettings
) -> None:
    number = registered.personal_id_number
    seen = []
    for round_number in range(10):
        for index in range(5):
            try:
                service.authenticate(number, "guess!guess", f"10.{round_number}.0.{index}")
            except AccountLockedError as error:
                seen.append(error.retry_after)
            except LoginFailedError:
                pass
        clock.advance(seen[-1] + 1)
    assert seen[:3] == [60, 120, 240]
    assert max(seen) == settings.lockout_max_seconds


def test_success_resets_the_consecutive_counter(
    service: AccountService, registered: Citizen
) -> None:
    number = registered.personal_id_number
    _fail(service, number, CITIZEN_HOME, 4)
    service.authenticate(number, GOOD_PASSWORD, CITIZEN_HOME)
    _fail(service, number, CITIZEN_HOME, 4)  # four more are still not five in a row
    assert service.authenticate(number, GOOD_PASSWORD, CITIZEN_HOME).level == 1


def test_per_ip_rate_limit_across_accounts(
    service: AccountService, registered: Citizen, clock: FakeClock, settings: IdentitySettings
) -> None:
    limit = settings.ip_attempts_per_minute
    # A sprayer trying one password on many ID numbers never trips an account lock...
    for index in range(limit):
        _fail(service, f"001190{index:06d}", ATTACKER)
    # ...but the IP is rate limited, whatever it tries next, with the right Retry-After.
    with pytest.raises(RateLimitedError) as caught:
        service.authenticate(registered.personal_id_number, GOOD_PASSWORD, ATTACKER)
    assert 0 < caught.value.retry_after <= 60
    # Other IPs are not affected, and the limit lifts in the next minute.
    assert service.authenticate(registered.personal_id_number, GOOD_PASSWORD, CITIZEN_HOME)
    clock.advance(caught.value.retry_after)
    assert service.authenticate(registered.personal_id_number, GOOD_PASSWORD, ATTACKER)


def test_ipv6_neighbours_share_one_budget(
    service: AccountService, settings: IdentitySettings
) -> None:
    for index in range(settings.ip_attempts_per_minute):
        _fail(service, f"001190{index:06d}", f"2001:db8:1:2::{index + 1:x}")
    with pytest.raises(RateLimitedError):
        service.authenticate("001190123999", "whatever!!", "2001:db8:1:2:ffff::1")


def test_stranger_from_one_ip_cannot_keep_a_citizen_locked(
    service: AccountService, registered: Citizen, clock: FakeClock, settings: IdentitySettings
) -> None:
    """Rule 4a: one IP locks the account for others at most once, for one base lock."""
    number = registered.personal_id_number
    base = settings.lockout_base_seconds
    started = clock()
    citizen_locked_out_for = 0.0
    attacker_locks: list[int] = []
    locked_before = False
    # Two hours of a patient attacker who retries the moment each lock ends, staying under
    # the per-IP rate limit; every five minutes the citizen tries from a new network.
    next_citizen_try = started + 30  # the first try falls inside the one lock it may cause
    citizen_logins = 0
    while clock() - started < 2 * 3600:
        try:
            service.authenticate(number, "guess!guess", ATTACKER)
        except AccountLockedError as error:
            if not locked_before:  # the attempt that started a new lock
                attacker_locks.append(error.retry_after)
            locked_before = True
            clock.advance(min(error.retry_after, 10))
        except (LoginFailedError, RateLimitedError):
            locked_before = False
            clock.advance(3)
        if clock() >= next_citizen_try:
            citizen_ip = f"100.64.{int(clock()) % 250}.{int(clock()) % 200 + 1}"
            try:
                service.authenticate(number, GOOD_PASSWORD, citizen_ip)
                citizen_logins += 1
            except AccountLockedError as error:
                citizen_locked_out_for += error.retry_after
            next_citizen_try += 300
    assert 0 < citizen_locked_out_for <= base
    assert citizen_logins == 2 * 3600 // 300 - 1  # every later try got in
    # The attacker, meanwhile, is locked out of this account with growing delays.
    assert attacker_locks[:4] == [base, 2 * base, 4 * base, 8 * base]
    assert max(attacker_locks) == settings.lockout_max_seconds


def test_known_ip_is_exempt_from_a_many_ip_lock(
    service: AccountService, registered: Citizen
) -> None:
    """Rule 4b: the citizen's usual IP still gets in while a botnet locks the account."""
    number = registered.personal_id_number
    service.authenticate(number, GOOD_PASSWORD, CITIZEN_HOME)
    for index in range(5):
        with contextlib.suppress(LoginFailedError, AccountLockedError):
            service.authenticate(number, "guess!guess", f"192.0.2.{index + 1}")
    _locked(service, number, "192.0.2.99")
    assert service.authenticate(number, GOOD_PASSWORD, CITIZEN_HOME).level == 1
    _locked(service, number, "192.0.2.99")  # a success does not lift a lock others earned


def test_unknown_id_numbers_lock_exactly_like_real_ones(
    service: AccountService, registered: Citizen
) -> None:
    outcomes = {}
    for number in (registered.personal_id_number, "001190999111"):
        results = []
        for _ in range(6):
            try:
                service.authenticate(number, "guess!guess", ATTACKER)
            except AccountLockedError as error:
                results.append(("locked", error.retry_after))
            except LoginFailedError as error:
                results.append(("failed", str(error)))
        outcomes[number] = results
    assert outcomes[registered.personal_id_number] == outcomes["001190999111"]
