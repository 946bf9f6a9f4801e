"""KeyStore: thumbprint kids, JWKS contents, encryption at rest, rotation, ``natid keys``."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from sqlalchemy import Engine, text
from typer.testing import CliRunner

from identity_service.cli.keys import app as keys_app
from identity_service.config import IdentitySettings
from identity_service.db import create_identity_engine, create_identity_schema
from identity_service.keys import (
    DEVELOPMENT_KEY_PASSPHRASE,
    SUPPORTED_ALGORITHMS,
    KeyStore,
    KeyStoreError,
    jwk_thumbprint,
    key_passphrase,
)

PASSPHRASE = b"correct horse battery staple"
START = 1_800_000_000.0
PRIVATE_JWK_MEMBERS = {"d", "p", "q", "dp", "dq", "qi", "oth", "k"}

# RFC 7638 §3.1: the example RSA key and its published thumbprint.
RFC7638_EXAMPLE_KEY = {
    "kty": "RSA",
    "n": (
        "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_B"
        "JECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_F"
        "DW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI"
        "4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw"
    ),
    "e": "AQAB",
    "alg": "RS256",
    "kid": "2011-04-29",
}
RFC7638_EXAMPLE_THUMBPRINT = "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"


class FakeClock:
    def __init__(self, now: float = START) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    engine = create_identity_engine(f"sqlite:///{tmp_path / 'identity.db'}")
    create_identity_schema(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def store(engine: Engine, clock: FakeClock) -> KeyStore:
    key_store = KeyStore(engine, PASSPHRASE, clock=clock)
    key_store.ensure_keys()
    return key_store


def _kids(store: KeyStore) -> set[str]:
    return {key["kid"] for key in store.jwks()["keys"]}


def _stored_rows(engine: Engine) -> list[dict[str, object]]:
    with engine.connect() as connection:
        result = connection.execute(text("SELECT kid, alg, private_pem, status FROM signing_key"))
        return [dict(row._mapping) for row in result]


def test_thumbprint_matches_rfc7638_example() -> None:
    assert jwk_thumbprint(RFC7638_EXAMPLE_KEY) == RFC7638_EXAMPLE_THUMBPRINT


def test_thumbprint_ignores_optional_members() -> None:
    without_optional = {name: RFC7638_EXAMPLE_KEY[name] for name in ("kty", "n", "e")}
    with_use = {**RFC7638_EXAMPLE_KEY, "use": "sig"}

    assert jwk_thumbprint(without_optional) == jwk_thumbprint(with_use)


def test_jwks_has_one_public_key_per_algorithm(store: KeyStore) -> None:
    keys = store.jwks()["keys"]

    assert sorted(key["alg"] for key in keys) == sorted(SUPPORTED_ALGORITHMS)
    for key in keys:
        assert key["use"] == "sig"
        assert not PRIVATE_JWK_MEMBERS & key.keys()
        assert key["kid"] == jwk_thumbprint(key)
        assert jwt.PyJWK(key).key_id == key["kid"]
    expected_types = {"ES256": ("EC", "P-256"), "EdDSA": ("OKP", "Ed25519"), "RS256": ("RSA", None)}
    for key in keys:
        kty, crv = expected_types[key["alg"]]
        assert key["kty"] == kty
        assert key.get("crv") == crv


def test_signing_keys_match_their_published_public_keys(store: KeyStore) -> None:
    for alg in SUPPORTED_ALGORITHMS:
        signing = store.signing_key(alg)
        token = jwt.encode({"probe": alg}, signing.private_key, algorithm=alg)
        public = jwt.PyJWKSet.from_dict(store.jwks())[signing.kid]

        assert jwt.decode(token, public, algorithms=[alg]) == {"probe": alg}
        assert store.public_key(signing.kid) is not None


def test_ensure_keys_is_idempotent(store: KeyStore, engine: Engine) -> None:
    before = _kids(store)
    store.ensure_keys()

    assert _kids(store) == before
    assert len(_stored_rows(engine)) == len(SUPPORTED_ALGORITHMS)


def test_private_keys_are_stored_encrypted(store: KeyStore, engine: Engine) -> None:
    for row in _stored_rows(engine):
        pem = str(row["private_pem"]).encode("ascii")
        assert pem.startswith(b"-----BEGIN ENCRYPTED PRIVATE KEY-----")
        with pytest.raises(TypeError):
            serialization.load_pem_private_key(pem, password=None)
        private_key = serialization.load_pem_private_key(pem, password=PASSPHRASE)
        signing = store.signing_key(str(row["alg"]))
        assert private_key.public_key() == signing.private_key.public_key()


def test_wrong_passphrase_is_a_clear_key_store_error(store: KeyStore, engine: Engine) -> None:
    with pytest.raises(KeyStoreError, match="wrong key passphrase"):
        KeyStore(engine, b"not the passphrase").ensure_keys()


def test_new_store_on_the_same_database_reuses_the_keys(store: KeyStore, engine: Engine) -> None:
    reopened = KeyStore(engine, PASSPHRASE)
    reopened.ensure_keys()

    assert _kids(reopened) == _kids(store)
    for alg in SUPPORTED_ALGORITHMS:
        assert reopened.signing_key(alg).kid == store.signing_key(alg).kid
    assert len(_stored_rows(engine)) == len(SUPPORTED_ALGORITHMS)


def test_empty_passphrase_is_refused(engine: Engine) -> None:
    with pytest.raises(KeyStoreError):
        KeyStore(engine, b"")


def test_development_passphrase_warns_loudly_without_revealing_it(
    engine: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="identity_service.keys"):
        KeyStore(engine, DEVELOPMENT_KEY_PASSPHRASE)

    warnings = [record for record in caplog.records if record.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert "NATID_KEY_PASSPHRASE" in warnings[0].getMessage()
    assert DEVELOPMENT_KEY_PASSPHRASE.decode() not in caplog.text


def test_configured_passphrase_does_not_warn(
    engine: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="identity_service.keys"):
        KeyStore(engine, PASSPHRASE)

    assert caplog.records == []


def test_passphrase_from_settings(tmp_path: Path, clean_natid_environ: None) -> None:
    configured = IdentitySettings(data_dir=tmp_path, key_passphrase="from settings")

    assert key_passphrase(configured) == b"from settings"
    assert key_passphrase(IdentitySettings(data_dir=tmp_path)) == DEVELOPMENT_KEY_PASSPHRASE


def test_unsupported_algorithm_is_refused(store: KeyStore) -> None:
    with pytest.raises(KeyStoreError, match="unsupported"):
        store.signing_key("HS256")
    with pytest.raises(KeyStoreError, match="unsupported"):
        store.rotate("HS256", retain_seconds=60)


def test_rotation_keeps_the_old_key_published_until_its_retire_time(
    store: KeyStore, clock: FakeClock
) -> None:
    old = store.signing_key("ES256").kid
    others = {alg: store.signing_key(alg).kid for alg in ("EdDSA", "RS256")}

    (new,) = store.rotate("ES256", retain_seconds=600)

    assert new != old
    assert store.signing_key("ES256").kid == new
    assert {old, new} <= _kids(store)
    assert {alg: store.signing_key(alg).kid for alg in others} == others

    clock.now = START + 599
    assert old in _kids(store)
    assert store.public_key(old) is not None
    assert store.retire_expired() == []

    clock.now = START + 600
    assert old not in _kids(store)
    assert store.public_key(old) is None
    assert store.retire_expired() == [old]
    statuses = {key.kid: key.status for key in store.list_keys()}
    assert statuses[old] == "retired"
    assert statuses[new] == "active"


def test_retired_keys_lose_their_private_key(
    store: KeyStore, clock: FakeClock, engine: Engine
) -> None:
    old = store.signing_key("EdDSA").kid
    store.rotate("EdDSA", retain_seconds=10)
    clock.now = START + 10
    store.retire_expired()

    rows = {row["kid"]: row for row in _stored_rows(engine)}
    assert rows[old]["status"] == "retired"
    assert rows[old]["private_pem"] is None


def test_rotating_every_algorithm_returns_one_new_kid_each(store: KeyStore) -> None:
    before = {alg: store.signing_key(alg).kid for alg in SUPPORTED_ALGORITHMS}

    new_kids = store.rotate(retain_seconds=60)

    assert len(new_kids) == len(SUPPORTED_ALGORITHMS)
    assert {store.signing_key(alg).kid for alg in SUPPORTED_ALGORITHMS} == set(new_kids)
    assert _kids(store) == set(new_kids) | set(before.values())


def test_a_second_rotation_keeps_the_first_retire_time(store: KeyStore, clock: FakeClock) -> None:
    first = store.signing_key("ES256").kid
    (second,) = store.rotate("ES256", retain_seconds=100)
    clock.now = START + 50
    (third,) = store.rotate("ES256", retain_seconds=100)

    clock.now = START + 100
    assert _kids(store) >= {second, third}
    assert first not in _kids(store)
    clock.now = START + 150
    assert second not in _kids(store)


def test_rotation_by_another_process_is_picked_up(engine: Engine, clock: FakeClock) -> None:
    server = KeyStore(engine, PASSPHRASE, clock=clock, refresh_seconds=5)
    server.ensure_keys()
    old = server.signing_key("ES256").kid
    command_line = KeyStore(engine, PASSPHRASE, clock=clock)

    (new,) = command_line.rotate("ES256", retain_seconds=600)

    # A token signed with the new key verifies at once; signing switches at the next refresh.
    assert server.public_key(new) is not None
    clock.now = START + 5
    assert server.signing_key("ES256").kid == new
    assert {old, new} <= _kids(server)


def test_cached_private_keys_survive_a_refresh(store: KeyStore, clock: FakeClock) -> None:
    before = store.signing_key("RS256").private_key
    clock.now = START + 3600

    assert store.signing_key("RS256").private_key is before


# -- natid keys -----------------------------------------------------------------------------


@pytest.fixture
def cli_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, clean_natid_environ: None
) -> Path:
    monkeypatch.setenv("NATID_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("NATID_KEY_PASSPHRASE", PASSPHRASE.decode())
    monkeypatch.setenv("NATID_ID_TOKEN_TTL", "300")
    monkeypatch.setenv("NATID_ACCESS_TOKEN_TTL", "900")
    return tmp_path / "data"


def test_cli_jwks_rotate_and_list(cli_environment: Path) -> None:
    runner = CliRunner()

    first = runner.invoke(keys_app, ["jwks"])
    assert first.exit_code == 0, first.output
    first_kids = {key["kid"] for key in json.loads(first.stdout)["keys"]}
    assert len(first_kids) == len(SUPPORTED_ALGORITHMS)

    rotated = runner.invoke(keys_app, ["rotate", "--alg", "EdDSA"])
    assert rotated.exit_code == 0, rotated.output
    (new_kid,) = rotated.stdout.split()

    listed = runner.invoke(keys_app, ["list", "--json"])
    assert listed.exit_code == 0, listed.output
    rows = {row["kid"]: row for row in json.loads(listed.stdout)}
    assert rows[new_kid]["status"] == "active"
    (retiring,) = [row for row in rows.values() if row["status"] == "retiring"]
    assert retiring["alg"] == "EdDSA"
    # Default retention is the longest token lifetime (900 s here).
    retire_at = datetime.fromisoformat(retiring["retire_at"])
    created = datetime.fromisoformat(rows[new_kid]["created_at"])
    assert abs((retire_at - created).total_seconds() - 900) < 5

    table = runner.invoke(keys_app, ["list"])
    assert table.exit_code == 0
    assert "retiring" in table.stdout

    after = runner.invoke(keys_app, ["jwks"])
    assert {key["kid"] for key in json.loads(after.stdout)["keys"]} == first_kids | {new_kid}


def test_cli_wrong_passphrase_is_one_line_and_non_zero(
    cli_environment: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    runner = CliRunner()
    assert runner.invoke(keys_app, ["jwks"]).exit_code == 0
    monkeypatch.setenv("NATID_KEY_PASSPHRASE", "wrong")

    result = runner.invoke(keys_app, ["rotate", "--retain-seconds", "60"])

    assert result.exit_code == 1
    assert result.stderr.strip().count("\n") == 0
    assert "wrong key passphrase" in result.stderr
    assert "Traceback" not in result.output


# -- PostgreSQL -----------------------------------------------------------------------------


@pytest.mark.postgres
def test_key_store_on_postgresql(postgres_engine: Engine, clock: FakeClock) -> None:
    store = KeyStore(postgres_engine, PASSPHRASE, clock=clock)
    store.ensure_keys()
    old = store.signing_key("ES256").kid

    (new,) = store.rotate("ES256", retain_seconds=60)
    reopened = KeyStore(postgres_engine, PASSPHRASE, clock=clock)

    assert reopened.signing_key("ES256").kid == new
    assert _kids(reopened) == _kids(store)
    assert {old, new} <= _kids(store)
    retire_at = {key.kid: key.retire_at for key in store.list_keys()}[old]
    assert retire_at is not None
    assert retire_at.timestamp() == pytest.approx(START + 60)
    clock.now = START + 60
    assert store.retire_expired() == [old]
    assert old not in _kids(reopened)
