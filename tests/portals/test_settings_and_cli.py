"""Portal settings (defaults = the demo registrations, environment prefixes) and the CLI."""

from __future__ import annotations

import socket
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest
from pydantic import SecretStr
from typer.testing import CliRunner

from portals.bank.keys import load_frontend_key, public_jwks
from portals.bank.settings import BankSettings
from portals.cli import PortalName, app, build_portal
from portals.clinic.settings import ClinicSettings
from portals.common.settings import PortalSettings
from portals.public_services.settings import PublicServicesSettings

REPO_ROOT = Path(__file__).resolve().parents[2]
SETTINGS_CLASSES = (PublicServicesSettings, BankSettings, ClinicSettings)


def registrations() -> dict[str, dict[str, object]]:
    with (REPO_ROOT / "seeds" / "clients.toml").open("rb") as handle:
        return {client["client_id"]: client for client in tomllib.load(handle)["client"]}


@pytest.mark.parametrize("settings_class", SETTINGS_CLASSES)
def test_demo_defaults_match_the_registrations_at_the_idp(
    settings_class: type[PortalSettings],
) -> None:
    settings = settings_class()
    registration = registrations()[settings.client_id]
    assert settings.redirect_uri in registration["redirect_uris"]
    assert settings.post_logout_redirect_uri in registration["post_logout_redirect_uris"]
    assert registration["backchannel_logout_uri"] == (
        f"{settings.base_url}/auth/backchannel-logout"
    )
    assert settings.token_endpoint_auth_method == registration["token_endpoint_auth_method"]
    if settings.token_endpoint_auth_method == "private_key_jwt":
        assert settings.client_secret is None
        assert registration["jwks"]
    else:
        assert isinstance(settings.client_secret, SecretStr)
        assert settings.client_secret.get_secret_value() == registration["client_secret"]
    fapi2 = bool(registration.get("fapi2"))
    assert settings.pushed_authorization_requests == fapi2
    assert settings.dpop == fapi2
    assert set(settings.scopes.split()) <= set(registration["scopes"])  # type: ignore[arg-type]


def test_the_banks_demo_key_is_the_one_registered_for_it() -> None:
    (registered,) = registrations()["demo-bank"]["jwks"]["keys"]  # type: ignore[index]
    (published,) = public_jwks(load_frontend_key(None))["keys"]
    assert published == registered


def test_the_back_ends_defaults_match_their_registrations() -> None:
    bank, clinic = BankSettings(), ClinicSettings()
    bank_backend = registrations()[bank.kyc_client_id]
    assert bank_backend["token_endpoint_auth_method"] == "private_key_jwt"
    assert bank.kyc_private_key_file is None  # the DEMO key, whose public half is registered
    assert bank_backend["dpop_bound_access_tokens"] is bank.kyc_dpop is True
    clinic_backend = registrations()[clinic.kyc_client_id]
    assert clinic_backend["token_endpoint_auth_method"] == clinic.kyc_token_endpoint_auth_method
    assert clinic_backend["client_secret"] == clinic.kyc_client_secret.get_secret_value()
    for backend in (bank_backend, clinic_backend):
        assert backend["grant_types"] == ["client_credentials"]
        assert backend["scopes"] == ["kyc.verify"]


def test_each_portal_reads_only_its_own_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NATID_PORTAL_BANK_CLIENT_SECRET", "bank-only-secret")
    monkeypatch.setenv("NATID_PORTAL_BANK_ISSUER", "https://id.example.test")
    bank, clinic = BankSettings(), ClinicSettings()
    assert bank.client_secret is not None
    assert bank.client_secret.get_secret_value() == "bank-only-secret"
    assert bank.issuer == "https://id.example.test"
    assert clinic.client_secret is not None
    assert clinic.client_secret.get_secret_value() != "bank-only-secret"
    assert clinic.issuer == "http://127.0.0.1:8000"


def test_secrets_stay_out_of_reprs() -> None:
    assert "demo-secret" not in repr(BankSettings())
    clinic = repr(ClinicSettings())
    assert "demo-secret" not in clinic and "demo-front-desk" not in clinic


def test_a_generated_session_secret_is_kept_private_and_stable(tmp_path: Path) -> None:
    settings = ClinicSettings(data_dir=tmp_path)
    first = settings.session_key_for("clinic")
    assert first == ClinicSettings(data_dir=tmp_path).session_key_for("clinic")
    kept = tmp_path / "portal_clinic_session_secret"
    assert kept.stat().st_mode & 0o777 == 0o600
    assert ClinicSettings(data_dir=tmp_path).session_key_for("bank") != first


def test_build_portal_applies_overrides(tmp_path: Path) -> None:
    built = build_portal(
        PortalName.bank, port=9102, issuer="http://127.0.0.1:18000", data_dir=tmp_path
    )
    try:
        settings = built.state.portal.settings
        assert settings.base_url == "http://127.0.0.1:9102"
        assert settings.issuer == "http://127.0.0.1:18000"
        assert (tmp_path / "portal_bank.db").exists()
    finally:
        built.state.portal.engine.dispose()


@pytest.fixture
def taken_port() -> Iterator[int]:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        yield listener.getsockname()[1]


def test_serve_reports_a_taken_port_before_starting(taken_port: int, tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app, ["serve", "clinic", "--port", str(taken_port), "--data-dir", str(tmp_path)]
    )
    assert result.exit_code == 1
    assert f"port {taken_port} on 127.0.0.1 is already in use" in result.output


def test_serve_rejects_an_unknown_portal() -> None:
    result = CliRunner().invoke(app, ["serve", "casino"])
    assert result.exit_code == 2
