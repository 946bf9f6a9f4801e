"""``docs/integrating.md`` cannot rot: its tables come from the code, its commands run.

The scope, level and lifetime tables are compared with ``oidc/claims.py``,
``oidc/levels.py`` and the settings' defaults; the option table with ``natid clients add``;
the error tables with the provider's error classes; the minimal portal with its file.
The guide's ``natid clients add`` commands are run against a real natid, and what they
register is used: a citizen logs in at the portal, the machine clients get tokens (one
with the guide's ``private_key_jwt`` key and assertion code) and ask the e-KYC question
the guide shows.
"""

from __future__ import annotations

import json
import os
import re
import runpy
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
import typer
from typer.testing import CliRunner

from identity_service.api.routes.kyc import KycVerifyRequest
from identity_service.config import IdentitySettings
from identity_service.oidc import errors
from identity_service.oidc.backchannel import LOGOUT_TOKEN_TTL
from identity_service.oidc.claims import SCOPE_CLAIMS
from identity_service.oidc.levels import ACR_VALUES, acr_for_level, amr_for_level
from identity_service.oidc.metadata import DISCOVERY_PATH
from natid.cli import build_app
from natid.embedded_idp import EmbeddedIdp, IdpOptions
from natid.oidc_flow import PortalClient
from tests.docs import guide

runner = CliRunner()


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("NATID_") and not name.startswith("NATID_TEST_"):
            monkeypatch.delenv(name)


# -- tables against the code ------------------------------------------------------------------


def test_the_scope_table_is_the_providers_mapping() -> None:
    documented = {}
    for scope_cell, claims_cell in guide.table("scope-claims"):
        (scope,) = guide.code_names(scope_cell)
        documented[scope] = tuple(guide.code_names(claims_cell))
    expected = {scope: tuple(claim for claim in claims) for scope, claims in SCOPE_CLAIMS.items()}
    assert documented == expected
    assert list(documented) == list(SCOPE_CLAIMS)  # same order as the consent page


def test_the_acr_table_is_the_providers_levels() -> None:
    rows = guide.table("acr-values")
    assert [guide.code_names(row[0])[0] for row in rows] == list(ACR_VALUES)
    for acr_cell, level_cell, _how, amr_cell in rows:
        level = int(level_cell)
        assert guide.code_names(acr_cell) == [acr_for_level(level)]
        assert json.loads(guide.code_names(amr_cell)[0]) == amr_for_level(level)


def test_the_lifetime_table_is_the_settings_defaults() -> None:
    rows = guide.table("lifetimes")
    assert len(rows) == 5
    for _what, lifetime, setting_cell in rows:
        (variable,) = guide.code_names(setting_cell)
        field = variable.removeprefix("NATID_").lower()
        default = IdentitySettings.model_fields[field].default
        assert int(re.match(r"(\d+) s", lifetime).group(1)) == default, variable  # type: ignore[union-attr]
    stated = re.search(r"Logout tokens live (\d+) s", guide.text())
    assert stated is not None and int(stated.group(1)) == LOGOUT_TOKEN_TTL


def test_the_option_table_lists_every_option_of_clients_add() -> None:
    command: Any = typer.main.get_command(build_app())
    add = command.commands["clients"].commands["add"]
    options = {name for parameter in add.params for name in parameter.opts}
    section = guide.text().split("## 2. Discovery")[0]
    documented = set(re.findall(r"^\| `(--[a-z0-9-]+)`", section, re.MULTILINE))
    assert documented == options - {"--json", "--help"}


def test_every_error_code_in_the_tables_is_one_natid_sends() -> None:
    section = guide.text().split("## 11.")[1].split("## 12.")[0]
    codes = {
        name
        for row in re.findall(r"^\| (.+)$", section, re.MULTILINE)
        for name in guide.code_names(row.split("|")[0])
    } - {"error"}
    sent = {
        cls.error
        for cls in vars(errors).values()
        if isinstance(cls, type) and issubclass(cls, errors.OAuthError) and cls.error
    }
    assert codes - sent <= {"temporarily_unavailable"}  # the 503 answer of app.py
    assert {"access_denied", "login_required", "interaction_required", "invalid_grant"} <= codes


def test_the_discovery_url_is_the_default_issuers() -> None:
    url = IdentitySettings.model_fields["issuer"].default + DISCOVERY_PATH
    assert f"\n{url}\n" in guide.text()


def test_the_guide_shows_the_minimal_portal_file_as_it_is() -> None:
    example = guide.REPO_ROOT / "examples" / "minimal_rp" / "app.py"
    assert guide.block("example", "examples/minimal_rp/app.py") == example.read_text()


# -- the commands against a running natid ----------------------------------------------------


@pytest.fixture(scope="module")
def idp(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedIdp]:
    running = EmbeddedIdp.start(tmp_path_factory.mktemp("guide-natid"), IdpOptions(citizens=300))
    yield running
    running.close()


def natid_command(idp: EmbeddedIdp, label: str, cwd: Path) -> dict[str, Any]:
    """Run the guide's command with the environment of ``idp``; its JSON output."""
    settings = idp.services.settings
    environment = {
        "NATID_DATA_DIR": str(settings.data_dir),
        "NATID_IDENTITY_DB_URL": settings.identity_database_url(),
        "NATID_POPULATION_DB_URL": settings.population_database_url(),
        "NATID_SECRET_KEY": settings.secret_key or "",
        "NATID_KEY_PASSPHRASE": settings.key_passphrase or "",
    }
    previous = Path.cwd()
    os.chdir(cwd)  # the guide's commands name files relative to where they are run
    try:
        result = runner.invoke(build_app(), guide.command_arguments(label), env=environment)
    finally:
        os.chdir(previous)
    assert result.exit_code == 0, result.output
    printed = json.loads(result.stdout.strip().splitlines()[-1])
    shown = json.loads(guide.block("guide-output", label))
    assert printed.keys() == shown.keys()
    assert {key: type(value) for key, value in printed.items()} == {
        key: type(value) for key, value in shown.items()
    }
    return printed


def test_the_portal_command_registers_a_portal_a_citizen_can_use(
    idp: EmbeddedIdp, tmp_path: Path
) -> None:
    created = natid_command(idp, "portal", tmp_path)
    portal = PortalClient(
        client_id=created["client_id"],
        client_secret=created["client_secret"],
        redirect_uris=("https://portal.example.vn/auth/callback",),
        scopes=("openid", "profile", "address"),
        auth_method="client_secret_basic",
    )
    citizen = idp.new_citizen()
    tokens = idp.login(citizen.personal_id_number, citizen.password, client=portal)
    assert tokens.userinfo["name"] == citizen.full_name
    assert tokens.userinfo["address"]["country"] == "VN"
    assert "national_id" not in tokens.userinfo  # not a scope this portal registered


def kyc_question(otp: str) -> dict[str, Any]:
    """The guide's e-KYC request body, with a real code in place of the example one."""
    command = guide.block("guide-kyc-request")
    found = re.search(r"-d '(\{.*?\})'", command, re.DOTALL)
    assert found is not None, command
    body = json.loads(found.group(1))
    KycVerifyRequest.model_validate_json(json.dumps(body))  # the API's fields, as documented
    return {**body, "otp": otp}


def test_the_machine_command_gets_a_token_and_asks_the_guides_kyc_question(
    idp: EmbeddedIdp, tmp_path: Path
) -> None:
    created = natid_command(idp, "machine", tmp_path)
    token = idp.http.post(
        "/token",
        data={"grant_type": "client_credentials", "scope": "kyc.verify"},
        auth=(created["client_id"], created["client_secret"]),
    )
    assert token.status_code == 200, token.text
    body = kyc_question(idp.citizen(level=2).totp_code())
    answer = idp.http.post(
        "/api/v1/kyc/verify",
        json=body,
        headers={"Authorization": f"Bearer {token.json()['access_token']}"},
    )
    assert answer.status_code == 200, answer.text
    claims = verified_kyc_answer(idp, answer.json()["result_jws"], created["client_id"])
    assert claims["result"] == "match" and claims["level"] == 2
    documented = json.loads(
        guide.text()
        .split("whose\nclaims are:")[1]
        .split("```json")[1]
        .split("```")[0]
        .replace('"<your client id>"', '"x"')
    )
    assert claims.keys() == documented.keys()
    # The guide's recipe for query_sha256, run on the same question, gives the answer's.
    recipe: dict[str, Any] = {}
    exec(guide.block("guide-kyc-query-digest"), recipe)  # the guide's own code
    assert recipe["sent"] == {name: value for name, value in body.items() if name != "otp"}
    assert claims["query_sha256"] == recipe["query_sha256"]


def verified_kyc_answer(idp: EmbeddedIdp, result_jws: str, client_id: str) -> dict[str, Any]:
    header = jwt.get_unverified_header(result_jws)
    assert header["typ"] == "kyc-result+jwt"
    key = jwt.PyJWKSet.from_dict(idp.jwks())[header["kid"]]
    return jwt.decode(
        result_jws, key.key, algorithms=["ES256"], audience=client_id, issuer=idp.issuer
    )


def test_the_private_key_jwt_recipe_works_as_written(idp: EmbeddedIdp, tmp_path: Path) -> None:
    (tmp_path / "make_portal_key.py").write_text(guide.block("guide-python", "make_portal_key.py"))
    previous = Path.cwd()
    os.chdir(tmp_path)
    try:
        runpy.run_path("make_portal_key.py")
    finally:
        os.chdir(previous)
    created = natid_command(idp, "private_key_jwt", tmp_path)
    assertion_code = tmp_path / "client_assertion.py"
    assertion_code.write_text(guide.block("guide-python", "client_assertion.py"))
    client_assertion = runpy.run_path(str(assertion_code))["client_assertion"]
    token_endpoint = f"{idp.issuer}/token"
    assertion = client_assertion(
        created["client_id"], token_endpoint, (tmp_path / "portal-key.pem").read_bytes()
    )
    request = {
        "grant_type": "client_credentials",
        "scope": "kyc.verify",
        "client_id": created["client_id"],
        "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
        "client_assertion": assertion,
    }
    answer = httpx.post(token_endpoint, data=request)
    assert answer.status_code == 200, answer.text
    assert answer.json()["scope"] == "kyc.verify"
    replayed = httpx.post(token_endpoint, data=request)  # "a jti is accepted once"
    assert replayed.status_code == 401 and replayed.json()["error"] == "invalid_client"
