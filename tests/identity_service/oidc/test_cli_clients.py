"""``natid clients add|list``: scriptable JSON output, one-line errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import ed25519
from typer.testing import CliRunner

from identity_service.cli.clients import app
from identity_service.config import IdentitySettings
from identity_service.jwk import public_jwk_members

runner = CliRunner()


@pytest.fixture
def environment(settings: IdentitySettings, monkeypatch: pytest.MonkeyPatch) -> IdentitySettings:
    """The CLI reads NATID_*: point it at this test's databases and server secret."""
    monkeypatch.setenv("NATID_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("NATID_IDENTITY_DB_URL", settings.identity_database_url())
    monkeypatch.setenv("NATID_SECRET_KEY", settings.secret_key or "")
    return settings


def test_add_prints_id_and_secret_as_json(environment: IdentitySettings) -> None:
    result = runner.invoke(
        app,
        [
            "add",
            "--name",
            "Cổng thuế",
            "--redirect-uri",
            "https://thue.example.vn/cb",
            "--redirect-uri",
            "https://thue.example.vn/cb2",
            "--scopes",
            "openid profile address",
            "--auth-method",
            "client_secret_post",
            "--min-level",
            "2",
            "--id-token-alg",
            "ES256",
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    created = json.loads(result.output)
    assert set(created) == {"client_id", "client_secret"}
    assert created["client_secret"]
    listed = json.loads(runner.invoke(app, ["list", "--json"]).output)
    (client,) = [entry for entry in listed if entry["client_id"] == created["client_id"]]
    assert client["redirect_uris"] == ["https://thue.example.vn/cb", "https://thue.example.vn/cb2"]
    assert client["scopes"] == ["openid", "profile", "address"]
    assert client["token_endpoint_auth_method"] == "client_secret_post"
    assert client["min_level"] == 2 and client["id_token_signed_response_alg"] == "ES256"
    assert created["client_secret"] not in json.dumps(listed)


def test_private_key_jwt_client_from_a_jwks_file(
    environment: IdentitySettings, tmp_path: Path
) -> None:
    key = ed25519.Ed25519PrivateKey.generate()
    jwks_file = tmp_path / "jwks.json"
    jwks_file.write_text(json.dumps({"keys": [public_jwk_members(key.public_key())]}))
    result = runner.invoke(
        app,
        [
            "add",
            "--name",
            "Bank back-end",
            "--redirect-uri",
            "https://bank.example.vn/cb",
            "--auth-method",
            "private_key_jwt",
            "--jwks-file",
            str(jwks_file),
            "--grant-types",
            "authorization_code",
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["client_secret"] is None


def test_human_output_warns_that_the_secret_is_shown_once(environment: IdentitySettings) -> None:
    result = runner.invoke(
        app, ["add", "--name", "Portal", "--redirect-uri", "http://127.0.0.1:9000/cb"]
    )
    assert result.exit_code == 0, result.output
    assert "client_secret:" in result.output and "not shown again" in result.output
    table = runner.invoke(app, ["list"])
    assert table.exit_code == 0 and "Portal" in table.output


@pytest.mark.parametrize(
    ("arguments", "complaint"),
    [
        (["--redirect-uri", "http://evil.example.com/cb"], "https"),
        (["--redirect-uri", "https://ok.example.vn/cb", "--scopes", "profile"], "openid"),
        (
            ["--redirect-uri", "https://ok.example.vn/cb", "--auth-method", "private_key_jwt"],
            "JWKS",
        ),
        (["--redirect-uri", "https://ok.example.vn/cb", "--jwks-file", "/no/such/file"], "JWKS"),
    ],
)
def test_bad_registrations_fail_with_one_line(
    environment: IdentitySettings, arguments: list[str], complaint: str
) -> None:
    result = runner.invoke(app, ["add", "--name", "Bad", *arguments, "--json"])
    assert result.exit_code == 1
    assert complaint in result.output
    assert "Traceback" not in result.output


def test_add_registers_the_high_assurance_switches(
    environment: IdentitySettings, tmp_path: Path
) -> None:
    jwks_file = tmp_path / "jwks.json"
    key = public_jwk_members(ed25519.Ed25519PrivateKey.generate().public_key())
    jwks_file.write_text(json.dumps({"keys": [key]}))
    common = ["add", "--name", "Ngân hàng", "--redirect-uri", "https://nh.example.vn/cb"]
    fapi2 = runner.invoke(
        app,
        [
            *common,
            *("--auth-method", "private_key_jwt", "--jwks-file", str(jwks_file)),
            *("--id-token-alg", "EdDSA", "--fapi2", "--json"),
        ],
    )
    assert fapi2.exit_code == 0, fapi2.output
    separate = runner.invoke(
        app, [*common, "--require-par", "--require-dpop", "--require-signed-request-object"]
    )
    assert separate.exit_code == 0, separate.output
    clients = json.loads(runner.invoke(app, ["list", "--json"]).output)
    by_fapi2 = {entry["fapi2"]: entry for entry in clients if entry["name"] == "Ngân hàng"}
    assert by_fapi2[True]["require_pushed_authorization_requests"] is True
    assert by_fapi2[True]["dpop_bound_access_tokens"] is True
    assert by_fapi2[False]["require_signed_request_object"] is True
    assert by_fapi2[False]["dpop_bound_access_tokens"] is True


def test_add_refuses_a_fapi2_client_with_a_secret(environment: IdentitySettings) -> None:
    result = runner.invoke(
        app, ["add", "--name", "X", "--redirect-uri", "https://x.example.vn/cb", "--fapi2"]
    )
    assert result.exit_code == 1
    assert result.output.strip().endswith("a fapi2 client authenticates with private_key_jwt")
