"""Short-lived shared state: one-time codes, login sessions, lockout and rate-limit counters.

Owns the ``StateStore`` port and its two implementations:

* ``MemoryStateStore`` — one process only (development, tests). Thread-safe; entries expire
  lazily when read and through a periodic sweep that examines a bounded number of
  entries per call, so no request pays for sweeping the whole store. The store holds at
  most ``max_entries``; when full, the entry closest to expiry is evicted first. A dict
  is kept as its JSON text, as Redis keeps it: a third of the memory of the parsed
  object (SSO sessions live for hours), and every read gets a fresh copy from one parse.
* ``RedisStateStore`` — any number of processes and hosts. Keys carry a prefix, values
  are JSON, ``take`` is one atomic ``GETDEL`` and ``incr`` one Lua script that sets the
  expiry on the first increment. A Redis that cannot be reached raises
  ``StateStoreUnavailableError`` (the HTTP layer answers 503 with ``Retry-After``).

Values are JSON-compatible: ``put`` stores dicts, ``incr`` integers. Every entry has a TTL
in whole seconds; nothing lives forever.
"""

from __future__ import annotations

import heapq
import json
import math
import threading
import time
from collections.abc import Callable
from typing import Any, Protocol

import redis
import redis.exceptions
from redis.backoff import NoBackoff
from redis.retry import Retry

DEFAULT_PREFIX = "natid:"
# A Redis that does not answer within this long counts as down (503), never a hang.
DEFAULT_TIMEOUT_SECONDS = 1.0
DEFAULT_MAX_ENTRIES = 200_000
SWEEP_EVERY_OPERATIONS = 256
SWEEP_BATCH = 512

# INCR then EXPIRE on the first increment, in one round trip and atomically. A key left
# without expiry (ttl -1, e.g. by an older writer) also gets one, so counters never leak.
_INCR_WITH_TTL = """
local value = redis.call('INCR', KEYS[1])
if value == 1 or redis.call('TTL', KEYS[1]) == -1 then
    redis.call('EXPIRE', KEYS[1], ARGV[1])
end
return value
"""


# Redis errors that mean "not now" rather than a bug: unreachable or too slow (including
# loading its data after a restart), a replica promoted while we still write to the old
# primary (read-only), out of memory under ``maxmemory-policy noeviction``.
_UNAVAILABLE = (
    redis.exceptions.ConnectionError,
    redis.exceptions.TimeoutError,
    redis.exceptions.ReadOnlyError,
    redis.exceptions.OutOfMemoryError,
    redis.exceptions.TryAgainError,
)


class StateStoreUnavailableError(Exception):
    """The shared state store cannot be reached (e.g. Redis is down)."""


class StateStore(Protocol):
    def put(self, key: str, value: dict[str, Any], ttl: int) -> None:
        """Store ``value`` under ``key`` for ``ttl`` seconds, replacing any old value."""

    def get(self, key: str) -> Any | None:
        """The value under ``key``, or None if missing or expired."""

    def take(self, key: str) -> Any | None:
        """Atomically return and delete the value (one-time codes): one caller wins."""

    def delete(self, *keys: str) -> None:
        """Remove each of ``keys`` that is present (in one round trip to a shared store)."""

    def incr(self, key: str, ttl: int) -> int:
        """Atomically add one; a new counter starts at 1 and expires after ``ttl`` seconds."""

    def ttl(self, key: str) -> int | None:
        """Whole seconds (rounded up) until ``key`` expires, or None if it is missing."""

    def close(self) -> None:
        """Release connections (the memory store forgets everything)."""


def _check_ttl(ttl: int) -> int:
    if not isinstance(ttl, int) or isinstance(ttl, bool) or ttl <= 0:
        raise ValueError(f"ttl must be a positive whole number of seconds, not {ttl!r}")
    return ttl


_ENCODER = json.JSONEncoder(separators=(",", ":"))  # as RedisStateStore writes


def _decoded(stored: Any) -> Any:
    """What was put (a fresh copy), from its JSON text; a counter is kept as it is."""
    return json.loads(stored) if isinstance(stored, str) else stored


class MemoryStateStore:
    """A ``StateStore`` in this process's memory (see the module docstring)."""

    def __init__(
        self,
        *,
        max_entries: int = DEFAULT_MAX_ENTRIES,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if max_entries < 1:
            raise ValueError("max_entries must be at least 1")
        self._max_entries = max_entries
        self._clock = clock
        self._lock = threading.Lock()
        self._entries: dict[str, tuple[Any, float]] = {}
        # (expires_at, key) for the sweep and eviction; an item is stale when the key
        # was replaced or deleted since, and is skipped then.
        self._expiry_heap: list[tuple[float, str]] = []
        self._operations = 0

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)

    def put(self, key: str, value: dict[str, Any], ttl: int) -> None:
        expires_at = self._clock() + _check_ttl(ttl)
        stored = _ENCODER.encode(value)  # the same copy semantics as Redis
        with self._lock:
            self._tick()
            self._store(key, stored, expires_at)

    def get(self, key: str) -> Any | None:
        with self._lock:
            self._tick()
            entry = self._live_entry(key)
        return None if entry is None else _decoded(entry[0])

    def take(self, key: str) -> Any | None:
        with self._lock:
            self._tick()
            entry = self._live_entry(key)
            if entry is None:
                return None
            del self._entries[key]
        return _decoded(entry[0])

    def delete(self, *keys: str) -> None:
        with self._lock:
            for key in keys:
                self._entries.pop(key, None)

    def incr(self, key: str, ttl: int) -> int:
        ttl = _check_ttl(ttl)
        with self._lock:
            self._tick()
            entry = self._live_entry(key)
            if entry is None:
                self._store(key, 1, self._clock() + ttl)
                return 1
            value, expires_at = entry
            if not isinstance(value, int):
                raise TypeError(f"the value under {key!r} is not a counter")
            self._entries[key] = (value + 1, expires_at)
            return value + 1

    def ttl(self, key: str) -> int | None:
        with self._lock:
            entry = self._live_entry(key)
            if entry is None:
                return None
            return max(1, math.ceil(entry[1] - self._clock()))

    def close(self) -> None:
        with self._lock:
            self._entries.clear()
            self._expiry_heap.clear()

    def sweep(self, limit: int = SWEEP_BATCH) -> int:
        """Drop up to ``limit`` expired entries; the number dropped."""
        with self._lock:
            return self._sweep(limit)

    # --- internals (caller holds the lock) --------------------------------------------
    def _live_entry(self, key: str) -> tuple[Any, float] | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        if entry[1] <= self._clock():
            del self._entries[key]
            return None
        return entry

    def _store(self, key: str, value: Any, expires_at: float) -> None:
        if key not in self._entries and len(self._entries) >= self._max_entries:
            self._sweep(SWEEP_BATCH)
            while len(self._entries) >= self._max_entries:
                self._evict_soonest()
        self._entries[key] = (value, expires_at)
        heapq.heappush(self._expiry_heap, (expires_at, key))
        if len(self._expiry_heap) > 2 * len(self._entries) + SWEEP_BATCH:
            self._rebuild_heap()

    def _tick(self) -> None:
        self._operations += 1
        if self._operations % SWEEP_EVERY_OPERATIONS == 0:
            self._sweep(SWEEP_BATCH)

    def _sweep(self, limit: int) -> int:
        now = self._clock()
        dropped = 0
        examined = 0
        while self._expiry_heap and examined < limit and self._expiry_heap[0][0] <= now:
            expires_at, key = heapq.heappop(self._expiry_heap)
            examined += 1
            entry = self._entries.get(key)
            if entry is not None and entry[1] == expires_at:
                del self._entries[key]
                dropped += 1
        return dropped

    def _evict_soonest(self) -> None:
        while self._expiry_heap:
            expires_at, key = heapq.heappop(self._expiry_heap)
            entry = self._entries.get(key)
            if entry is not None and entry[1] == expires_at:
                del self._entries[key]
                return
        # The heap lost track (cannot happen while every store pushes); stay bounded.
        self._entries.pop(next(iter(self._entries)))

    def _rebuild_heap(self) -> None:
        self._expiry_heap = [(expires_at, key) for key, (_, expires_at) in self._entries.items()]
        heapq.heapify(self._expiry_heap)


class RedisStateStore:
    """A ``StateStore`` in Redis (see the module docstring)."""

    def __init__(
        self,
        client: redis.Redis,
        *,
        prefix: str = DEFAULT_PREFIX,
    ) -> None:
        self._client = client
        self._prefix = prefix
        self._incr_script = client.register_script(_INCR_WITH_TTL)

    @classmethod
    def from_url(
        cls,
        url: str,
        *,
        prefix: str = DEFAULT_PREFIX,
        timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS,
    ) -> RedisStateStore:
        client = redis.Redis.from_url(
            url,
            socket_timeout=timeout_seconds,
            socket_connect_timeout=timeout_seconds,
            health_check_interval=30,
            # One immediate retry of a broken connection: enough to replace one that a
            # Redis restart broke, without the client's default backoff (ten retries,
            # seconds in all) holding a request while Redis is down; that request must
            # get its 503 now. A timeout is not retried: a hung Redis would otherwise
            # cost each call two timeouts, and a new connection's handshake two more.
            retry=Retry(NoBackoff(), 1, supported_errors=(redis.exceptions.ConnectionError,)),
        )
        return cls(client, prefix=prefix)

    @property
    def prefix(self) -> str:
        return self._prefix

    def put(self, key: str, value: dict[str, Any], ttl: int) -> None:
        payload = json.dumps(value, separators=(",", ":"))
        self._call(self._client.set, self._key(key), payload, ex=_check_ttl(ttl))

    def get(self, key: str) -> Any | None:
        return _decode(self._call(self._client.get, self._key(key)))

    def take(self, key: str) -> Any | None:
        return _decode(self._call(self._client.getdel, self._key(key)))

    def delete(self, *keys: str) -> None:
        if keys:
            self._call(self._client.delete, *(self._key(key) for key in keys))

    def incr(self, key: str, ttl: int) -> int:
        result = self._call(self._incr_script, keys=[self._key(key)], args=[_check_ttl(ttl)])
        return int(result)

    def ttl(self, key: str) -> int | None:
        remaining = int(self._call(self._client.ttl, self._key(key)))
        # -2: no such key; -1: no expiry (never written by this store).
        return remaining if remaining >= 0 else None

    def ping(self) -> None:
        self._call(self._client.ping)

    def close(self) -> None:
        self._client.close()

    def _key(self, key: str) -> str:
        return self._prefix + key

    @staticmethod
    def _call(operation: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        try:
            return operation(*args, **kwargs)
        except _UNAVAILABLE as error:
            raise StateStoreUnavailableError(
                f"the state store (Redis) is unavailable: {error.__class__.__name__}"
            ) from error


def _decode(raw: bytes | str | None) -> Any | None:
    return None if raw is None else json.loads(raw)


def create_state_store(redis_url: str | None, prefix: str = DEFAULT_PREFIX) -> StateStore:
    """Redis when a URL is configured, else an in-process memory store."""
    if redis_url:
        return RedisStateStore.from_url(redis_url, prefix=prefix)
    return MemoryStateStore()
