"""A Redis that refuses writes (full, or a read-only replica) is unavailable, not a bug.

Under ``maxmemory-policy noeviction`` a full Redis answers writes with OOM; a primary
demoted to replica during a failover answers READONLY. Both must reach the HTTP layer as
``StateStoreUnavailableError`` (503 with Retry-After), like an unreachable Redis.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from identity_service.state import RedisStateStore, StateStoreUnavailableError
from tests.scale.services import PrivateRedis, free_port


@pytest.fixture
def private_redis(tmp_path: Path, redis_server_binary: None) -> Iterator[PrivateRedis]:
    server = PrivateRedis(tmp_path)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def admin(private_redis: PrivateRedis) -> Iterator[redis.Redis]:
    client = redis.Redis(port=private_redis.port)
    yield client
    client.close()


@pytest.fixture
def store(private_redis: PrivateRedis) -> Iterator[RedisStateStore]:
    created = RedisStateStore.from_url(private_redis.url, prefix="refusals:")
    yield created
    created.close()


def test_a_full_redis_is_unavailable(admin: redis.Redis, store: RedisStateStore) -> None:
    store.put("before", {"kept": True}, ttl=60)
    admin.set("ballast", b"x" * 4_000_000)
    admin.config_set("maxmemory-policy", "noeviction")
    admin.config_set("maxmemory", "1mb")

    with pytest.raises(StateStoreUnavailableError):
        store.put("code:new", {"client_id": "portal"}, ttl=60)
    with pytest.raises(StateStoreUnavailableError):
        store.incr("fail:pwd:acct:x", ttl=60)
    assert store.get("before") == {"kept": True}  # reads still work

    admin.config_set("maxmemory", "0")
    store.put("code:new", {"client_id": "portal"}, ttl=60)  # and writes once there is room


def test_a_read_only_replica_is_unavailable(admin: redis.Redis, store: RedisStateStore) -> None:
    admin.execute_command("REPLICAOF", "127.0.0.1", str(free_port()))
    try:
        with pytest.raises(StateStoreUnavailableError):
            store.put("session:abc", {"sub": "x"}, ttl=60)
        with pytest.raises(StateStoreUnavailableError):
            store.take("code:abc")  # GETDEL writes
    finally:
        admin.execute_command("REPLICAOF", "NO", "ONE")
    store.put("session:abc", {"sub": "x"}, ttl=60)
