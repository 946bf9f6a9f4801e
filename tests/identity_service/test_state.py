"""The state store contract, run against the memory store and (when configured) Redis."""

from __future__ import annotations

import os
import threading
import time
import tracemalloc
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest
import redis

from identity_service.state import (
    MemoryStateStore,
    RedisStateStore,
    StateStore,
    StateStoreUnavailableError,
    create_state_store,
)


class FakeClock:
    def __init__(self, start: float = 1000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@dataclass
class StoreUnderTest:
    store: StateStore
    advance: Callable[[float], None]  # let time pass (fake clock, or a real sleep for Redis)


def _redis_url() -> str | None:
    return os.environ.get("NATID_TEST_REDIS_URL")


@pytest.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.redis)])
def subject(request: pytest.FixtureRequest) -> Iterator[StoreUnderTest]:
    if request.param == "memory":
        clock = FakeClock()
        yield StoreUnderTest(MemoryStateStore(clock=clock), clock.advance)
        return
    url = _redis_url()
    if not url:
        pytest.skip("NATID_TEST_REDIS_URL is not set")
    prefix = f"natid_test:{uuid.uuid4().hex}:"
    store = RedisStateStore.from_url(url, prefix=prefix)
    try:
        yield StoreUnderTest(store, time.sleep)
    finally:
        client = redis.Redis.from_url(url)
        for key in client.scan_iter(match=f"{prefix}*"):
            client.delete(key)
        client.close()
        store.close()


def test_put_get_round_trips_json(subject: StoreUnderTest) -> None:
    value = {"client_id": "portal", "scopes": ["openid", "profile"], "level": 2, "ok": True}
    subject.store.put("code:abc", value, ttl=60)
    assert subject.store.get("code:abc") == value
    assert subject.store.get("code:missing") is None


def test_returned_values_are_copies(subject: StoreUnderTest) -> None:
    original = {"items": [1]}
    subject.store.put("k", original, ttl=60)
    original["items"].append(2)
    fetched = subject.store.get("k")
    fetched["items"].append(3)
    assert subject.store.get("k") == {"items": [1]}


def test_take_returns_once(subject: StoreUnderTest) -> None:
    subject.store.put("code:once", {"n": 1}, ttl=60)
    assert subject.store.take("code:once") == {"n": 1}
    assert subject.store.take("code:once") is None
    assert subject.store.get("code:once") is None


def test_take_is_atomic_under_concurrency(subject: StoreUnderTest) -> None:
    subject.store.put("code:race", {"n": 1}, ttl=60)
    winners: list[object] = []
    barrier = threading.Barrier(8)

    def redeem() -> None:
        barrier.wait()
        result = subject.store.take("code:race")
        if result is not None:
            winners.append(result)

    threads = [threading.Thread(target=redeem) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert winners == [{"n": 1}]


def test_delete(subject: StoreUnderTest) -> None:
    subject.store.put("k", {"a": 1}, ttl=60)
    subject.store.delete("k")
    subject.store.delete("never-there")
    assert subject.store.get("k") is None


def test_several_keys_are_deleted_at_once(subject: StoreUnderTest) -> None:
    for key in ("a", "b", "kept"):
        subject.store.put(key, {"key": key}, ttl=60)
    subject.store.delete("a", "never-there", "b")
    subject.store.delete()  # nothing to delete: no error
    assert [subject.store.get(key) for key in ("a", "b", "kept")] == [None, None, {"key": "kept"}]


def test_put_replaces(subject: StoreUnderTest) -> None:
    subject.store.put("k", {"a": 1}, ttl=60)
    subject.store.put("k", {"a": 2}, ttl=60)
    assert subject.store.get("k") == {"a": 2}


def test_incr_counts_and_keeps_first_ttl(subject: StoreUnderTest) -> None:
    assert subject.store.incr("fail", ttl=100) == 1
    assert subject.store.incr("fail", ttl=5000) == 2
    remaining = subject.store.ttl("fail")
    assert remaining is not None and 90 <= remaining <= 100


def test_incr_is_atomic_under_concurrency(subject: StoreUnderTest) -> None:
    def bump() -> None:
        for _ in range(50):
            subject.store.incr("counter", ttl=60)

    threads = [threading.Thread(target=bump) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert subject.store.get("counter") == 200


def test_ttl_reports_remaining_seconds(subject: StoreUnderTest) -> None:
    subject.store.put("k", {"a": 1}, ttl=30)
    remaining = subject.store.ttl("k")
    assert remaining is not None and 28 <= remaining <= 30
    assert subject.store.ttl("missing") is None


def test_entries_expire(subject: StoreUnderTest) -> None:
    subject.store.put("short", {"a": 1}, ttl=1)
    subject.store.incr("short-counter", ttl=1)
    subject.store.put("long", {"a": 2}, ttl=60)
    subject.advance(1.2)
    assert subject.store.get("short") is None
    assert subject.store.take("short") is None
    assert subject.store.ttl("short") is None
    assert subject.store.incr("short-counter", ttl=1) == 1  # a fresh counter
    assert subject.store.get("long") == {"a": 2}


@pytest.mark.parametrize("bad_ttl", [0, -5, 1.5])
def test_rejects_non_positive_or_fractional_ttl(subject: StoreUnderTest, bad_ttl: object) -> None:
    with pytest.raises(ValueError, match="ttl"):
        subject.store.put("k", {"a": 1}, ttl=bad_ttl)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="ttl"):
        subject.store.incr("k", ttl=bad_ttl)  # type: ignore[arg-type]


def test_memory_store_sweep_drops_expired_entries() -> None:
    clock = FakeClock()
    store = MemoryStateStore(clock=clock)
    for index in range(100):
        store.put(f"old:{index}", {"i": index}, ttl=10)
    store.put("fresh", {"i": -1}, ttl=1000)
    clock.advance(11)
    assert store.sweep(limit=30) == 30  # bounded work per sweep
    assert store.sweep(limit=1000) == 70
    assert len(store) == 1


def test_memory_store_sweeps_without_reads_of_the_expired_keys() -> None:
    clock = FakeClock()
    store = MemoryStateStore(clock=clock)
    for index in range(200):
        store.put(f"old:{index}", {"i": index}, ttl=5)
    clock.advance(6)
    for _ in range(600):  # unrelated traffic triggers the periodic sweep
        store.get("other")
    assert len(store) == 0


def test_memory_store_is_bounded_and_evicts_soonest_expiring() -> None:
    clock = FakeClock()
    store = MemoryStateStore(max_entries=3, clock=clock)
    store.put("a", {"v": 1}, ttl=100)
    store.put("b", {"v": 2}, ttl=10)
    store.put("c", {"v": 3}, ttl=100)
    store.put("d", {"v": 4}, ttl=100)
    assert len(store) == 3
    assert store.get("b") is None
    assert [store.get(k) for k in ("a", "c", "d")] == [{"v": 1}, {"v": 3}, {"v": 4}]


def test_redis_down_raises_unavailable() -> None:
    # Port 1 on loopback: nothing listens, the connection is refused at once.
    store = RedisStateStore.from_url("redis://127.0.0.1:1/0", timeout_seconds=0.5)
    with pytest.raises(StateStoreUnavailableError):
        store.put("k", {"a": 1}, ttl=5)
    with pytest.raises(StateStoreUnavailableError):
        store.incr("k", ttl=5)
    with pytest.raises(StateStoreUnavailableError):
        store.take("k")
    store.close()


def test_create_state_store_chooses_by_url() -> None:
    assert isinstance(create_state_store(None), MemoryStateStore)
    store = create_state_store("redis://127.0.0.1:1/0", prefix="p:")
    assert isinstance(store, RedisStateStore)
    assert store.prefix == "p:"
    store.close()


def test_the_memory_store_keeps_an_sso_session_in_under_a_kilobyte() -> None:
    # SSO sessions live for hours in the embedded store, so their size is the process's
    # growth under load: kept as JSON text, not as the parsed dict (about 1.7 KB).
    session = {
        "personal_id_number": "001203004567",
        "level": 1,
        "auth_time": 1_796_234_567,
        "amr": ["pwd"],
        "acr": "urn:natid:acr:level1",
        "clients": ["demo-public-services", "demo-bank"],
        "browser": "b" * 43,
    }
    store = MemoryStateStore()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for number in range(2_000):
            store.put(f"natid:sso:{number:022d}", session, 28_800)
        per_session = (tracemalloc.get_traced_memory()[0] - before) / 2_000
    finally:
        tracemalloc.stop()
    assert per_session < 1_024
    assert store.get("natid:sso:0000000000000000000007") == session
