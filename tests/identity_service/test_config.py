"""IdentitySettings: derived database URLs, token lifetimes and the server secret."""

from __future__ import annotations

import stat
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from identity_service.config import IdentitySettings

pytestmark = pytest.mark.usefixtures("clean_natid_environ")


def test_database_urls_default_to_files_in_the_data_directory(tmp_path: Path) -> None:
    settings = IdentitySettings(data_dir=tmp_path)

    assert settings.identity_database_url() == f"sqlite:///{tmp_path.as_posix()}/identity.db"
    assert settings.population_database_url() == f"sqlite:///{tmp_path.as_posix()}/population.db"


def test_configured_database_urls_win(tmp_path: Path) -> None:
    settings = IdentitySettings(
        data_dir=tmp_path,
        identity_db_url="postgresql://identity@db/identity",
        population_db_url="postgresql://population@db/population",
    )

    assert settings.identity_database_url() == "postgresql://identity@db/identity"
    assert settings.population_database_url() == "postgresql://population@db/population"


def test_settings_come_from_natid_environment_variables(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NATID_ISSUER", "https://id.example.test")
    monkeypatch.setenv("NATID_ID_TOKEN_TTL", "900")
    monkeypatch.setenv("NATID_UNRELATED_SETTING", "ignored")

    settings = IdentitySettings(data_dir=tmp_path)

    assert settings.issuer == "https://id.example.test"
    assert settings.id_token_ttl == 900


def test_longest_token_ttl_is_the_longer_of_id_and_access_token(tmp_path: Path) -> None:
    assert (
        IdentitySettings(
            data_dir=tmp_path, id_token_ttl=300, access_token_ttl=1200
        ).longest_token_ttl()
        == 1200
    )
    assert (
        IdentitySettings(
            data_dir=tmp_path, id_token_ttl=1800, access_token_ttl=600
        ).longest_token_ttl()
        == 1800
    )


def test_configured_secret_key_is_used_and_nothing_is_written(tmp_path: Path) -> None:
    settings = IdentitySettings(data_dir=tmp_path, secret_key="configured secret")

    assert settings.server_secret() == b"configured secret"
    assert not (tmp_path / "server_secret").exists()


def test_server_secret_is_generated_once_private_and_kept(tmp_path: Path) -> None:
    data_dir = tmp_path / "not-yet-created"
    first = IdentitySettings(data_dir=data_dir).server_secret()
    second = IdentitySettings(data_dir=data_dir).server_secret()

    assert len(first) >= 32
    assert first == second
    mode = stat.S_IMODE((data_dir / "server_secret").stat().st_mode)
    assert mode == 0o600


def test_concurrent_first_use_agrees_on_one_secret(tmp_path: Path) -> None:
    settings = IdentitySettings(data_dir=tmp_path)

    with ThreadPoolExecutor(max_workers=8) as pool:
        secrets = list(pool.map(lambda _: settings.server_secret(), range(32)))

    assert len(set(secrets)) == 1
    assert sorted(path.name for path in tmp_path.iterdir()) == ["server_secret"]
