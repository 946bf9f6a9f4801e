"""Lockout and rate limits for login attempts (DOMAIN.md §4: 5 wrong attempts, then a
temporary lock), kept apart per factor: ``kind`` is ``"pwd"`` or ``"otp"`` (and ``"reg"``
for registration, which is only rate limited: it is an oracle for "do these details
match", so one IP may not try it faster than logins).

Counters live in the shared state store, so every service process sees the same ones.
Accounts are keyed by an HMAC of the ID number (no raw ID numbers in Redis); an IPv6
client counts as its /64, the block one subscriber usually holds.

The rules
---------
1. **Rate limit per client IP.** At most ``ip_attempts_per_minute`` attempts per fixed
   minute window, whatever account they name → ``RateLimitedError(retry_after)`` (HTTP
   429). A refused attempt is not verified, so it never counts against an account.
2. **Lock per (account, IP).** ``lockout_threshold`` consecutive failures for one account
   from one IP lock that pair for ``base`` seconds, doubling with each further lock of
   the pair (``base``, 2·base, 4·base, ... up to ``max``).
3. **Lock per account.** ``lockout_threshold`` consecutive failures for an account, from
   any IPs, lock the account for everybody with the same growing delays — *except*:
4. **Why a stranger cannot lock a citizen out forever.**
   a. *Each IP contributes at most ``lockout_threshold`` failures per account per day to
      the account-wide count.* One IP alone can therefore lock the account for others
      at most once a day, for one lock step (``base`` seconds on a fresh series, never
      more than ``max``); after that its failures only lock its own (account, IP) pair,
      with growing delays. Only an attack from many IPs can keep an account-wide lock
      going — the credential-guessing case the lock exists for.
   b. *IPs the citizen logged in from (within 30 days) are exempt from the account-wide
      lock*; only their own pair lock applies. So even under a many-IP attack the
      citizen still gets in from home or from their phone's usual network.
   Locked attempts are refused before any password check and do not extend a lock.
5. **Success resets.** A successful attempt clears the account's and the pair's
   consecutive counters and the pair's lock series, and marks the IP as known for the
   account (for both steps: a level-2 password success also exempts that IP from the
   account-wide OTP lock, but never from its own pair lock on the OTP step). An
   account-wide lock still running stays (it was earned by others); once it has run out,
   its series is reset too.
A lock is recorded as an absolute ``until`` time from the service clock (the store TTL
only cleans up), so the rules hold identically with Redis and with the memory store.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import math
import time
from collections.abc import Callable
from dataclasses import dataclass

from identity_service.accounts.errors import AccountLockedError, RateLimitedError
from identity_service.config import IdentitySettings
from identity_service.state import StateStore

SERIES_WINDOW_SECONDS = 24 * 3600  # failures, lock series and IP contributions are forgotten
KNOWN_IP_SECONDS = 30 * 24 * 3600
RATE_WINDOW_SECONDS = 60
KINDS = ("pwd", "otp", "reg")


@dataclass(frozen=True, slots=True)
class LockoutPolicy:
    threshold: int = 5
    base_seconds: int = 60
    max_seconds: int = 3600
    ip_attempts_per_minute: int = 30

    @classmethod
    def from_settings(cls, settings: IdentitySettings) -> LockoutPolicy:
        return cls(
            threshold=settings.lockout_threshold,
            base_seconds=settings.lockout_base_seconds,
            max_seconds=settings.lockout_max_seconds,
            ip_attempts_per_minute=settings.ip_attempts_per_minute,
        )

    def lock_seconds(self, lock_number: int) -> int:
        """Length of the n-th lock in a series (1-based): base, 2·base, ... up to max."""
        return min(self.base_seconds * 2 ** min(lock_number - 1, 32), self.max_seconds)


def client_key(client_ip: str) -> str:
    """The unit an IP is counted as: an IPv4 address, or an IPv6 /64."""
    try:
        address = ipaddress.ip_address(client_ip.strip())
    except ValueError:
        return "other:" + hashlib.sha256(client_ip.encode()).hexdigest()[:16]
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.IPv6Network((address, 64), strict=False))
    return str(address)


class LoginThrottle:
    """Applies the rules of the module docstring to one kind of login step."""

    def __init__(
        self,
        state: StateStore,
        policy: LockoutPolicy,
        *,
        key_secret: bytes,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._state = state
        self._policy = policy
        self._key_secret = key_secret
        self._clock = clock

    def account_key(self, personal_id_number: str) -> str:
        digest = hmac.new(self._key_secret, personal_id_number.encode(), hashlib.sha256)
        return digest.hexdigest()[:32]

    def before_attempt(self, kind: str, personal_id_number: str, client_ip: str) -> None:
        """Raise ``RateLimitedError`` or ``AccountLockedError`` if the attempt may not run."""
        self.check_rate(kind, client_ip)
        now = self._clock()
        ip = client_key(client_ip)
        account = self.account_key(personal_id_number)
        self._raise_if_locked(f"lock:{kind}:pair:{account}:{ip}", now)
        if not self._is_known(account, ip):
            self._raise_if_locked(f"lock:{kind}:acct:{account}", now)

    def check_rate(self, kind: str, client_ip: str) -> None:
        """Count one attempt of ``kind`` from ``client_ip``; ``RateLimitedError`` past the
        per-minute limit (rule 1). Registration uses this alone (kind ``"reg"``)."""
        _check_kind(kind)
        now = self._clock()
        window = int(now // RATE_WINDOW_SECONDS)
        key = f"rl:{kind}:{client_key(client_ip)}:{window}"
        attempts = self._state.incr(key, ttl=2 * RATE_WINDOW_SECONDS)
        if attempts > self._policy.ip_attempts_per_minute:
            raise RateLimitedError(_seconds_until((window + 1) * RATE_WINDOW_SECONDS, now))

    def record_failure(self, kind: str, personal_id_number: str, client_ip: str) -> int | None:
        """Count a failure; the seconds to wait if it just locked this client out."""
        _check_kind(kind)
        now = self._clock()
        ip = client_key(client_ip)
        account = self.account_key(personal_id_number)
        retry_after: int | None = None
        pair_failures = self._state.incr(f"fail:{kind}:pair:{account}:{ip}", SERIES_WINDOW_SECONDS)
        if pair_failures >= self._policy.threshold:
            self._state.delete(f"fail:{kind}:pair:{account}:{ip}")
            retry_after = self._start_lock(f"lock:{kind}:pair:{account}:{ip}", now)
        contributed = self._state.incr(f"contrib:{kind}:{account}:{ip}", SERIES_WINDOW_SECONDS)
        if contributed <= self._policy.threshold:
            failures = self._state.incr(f"fail:{kind}:acct:{account}", SERIES_WINDOW_SECONDS)
            if failures >= self._policy.threshold:
                self._state.delete(f"fail:{kind}:acct:{account}")
                account_lock = self._start_lock(f"lock:{kind}:acct:{account}", now)
                if not self._is_known(account, ip):
                    retry_after = max(retry_after or 0, account_lock)
        return retry_after

    def record_success(self, kind: str, personal_id_number: str, client_ip: str) -> None:
        _check_kind(kind)
        now = self._clock()
        ip = client_key(client_ip)
        account = self.account_key(personal_id_number)
        # One round trip to a shared store, not four: every successful login passes here.
        self._state.delete(
            f"fail:{kind}:acct:{account}",
            f"fail:{kind}:pair:{account}:{ip}",
            f"lock:{kind}:pair:{account}:{ip}",
            f"contrib:{kind}:{account}:{ip}",
        )
        account_lock = self._state.get(f"lock:{kind}:acct:{account}")
        if account_lock is not None and float(account_lock["until"]) <= now:
            self._state.delete(f"lock:{kind}:acct:{account}")
        self._state.put(f"known:{account}:{ip}", {"since": now}, ttl=KNOWN_IP_SECONDS)

    def _is_known(self, account: str, ip: str) -> bool:
        return self._state.get(f"known:{account}:{ip}") is not None

    def _raise_if_locked(self, key: str, now: float) -> None:
        lock = self._state.get(key)
        if lock is not None and float(lock["until"]) > now:
            raise AccountLockedError(_seconds_until(float(lock["until"]), now))

    def _start_lock(self, key: str, now: float) -> int:
        previous = self._state.get(key)
        lock_number = int(previous["locks"]) + 1 if previous is not None else 1
        seconds = self._policy.lock_seconds(lock_number)
        self._state.put(
            key, {"until": now + seconds, "locks": lock_number}, ttl=seconds + SERIES_WINDOW_SECONDS
        )
        return seconds


def _seconds_until(moment: float, now: float) -> int:
    return max(1, math.ceil(moment - now))


def _check_kind(kind: str) -> None:
    if kind not in KINDS:
        raise ValueError(f"unknown login step kind {kind!r}")
