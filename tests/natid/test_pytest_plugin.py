"""The ``natid`` pytest plugin, as an integrator's suite uses it and from natid's own suite.

``pytester`` runs the guide's example (its ``pytest.ini`` and ``test_portal.py``, next to
the guide's minimal portal as ``app.py``) in a fresh pytest process, where the plugin is
loaded from its ``pytest11`` entry point exactly as in an integrator's project. The other
tests use the ``natid_idp`` fixture directly: the plugin is installed here too.
"""

from __future__ import annotations

import dataclasses

import httpx
import pytest

from natid.embedded_idp import EmbeddedIdp
from natid.pytest_plugin import AuthorizationError, CitizenLoginError, TokenSet
from tests.docs import guide

pytest_plugins = ["pytester"]

EXAMPLE_PORTAL = guide.REPO_ROOT / "examples" / "minimal_rp" / "app.py"


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


# -- as an integrator runs it ------------------------------------------------------------------


@pytest.mark.slow
def test_the_guides_example_portal_test_passes(pytester: pytest.Pytester) -> None:
    for name in guide.labels("pytester"):
        (pytester.path / name).write_text(guide.block("pytester", name), encoding="utf-8")
    (pytester.path / "app.py").write_text(EXAMPLE_PORTAL.read_text(), encoding="utf-8")
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=3)


def test_the_plugin_costs_nothing_when_unused(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import sys

        def test_nothing_of_natid_was_imported():
            assert "natid.pytest_plugin" in sys.modules  # loaded from its entry point
            assert "natid.embedded_idp" not in sys.modules
            assert "identity_service" not in sys.modules
        """
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)


@pytest.mark.slow
def test_ini_options_and_a_fixture_override_shape_the_test_portal(
    pytester: pytest.Pytester,
) -> None:
    pytester.makeini(
        """
        [pytest]
        natid_redirect_uris =
            https://portal.example.vn/cb
            https://portal.example.vn/cb2
        natid_scopes = openid phone
        natid_min_level = 2
        natid_citizens = 200
        """
    )
    pytester.makeconftest(
        """
        import dataclasses
        import pytest

        @pytest.fixture(scope="session")
        def natid_idp_options(natid_idp_options):
            return dataclasses.replace(natid_idp_options, client_name="Cổng thử nghiệm")
        """
    )
    pytester.makepyfile(
        """
        def test_portal(natid_idp):
            portal = natid_idp.portal
            assert portal.redirect_uris == (
                "https://portal.example.vn/cb", "https://portal.example.vn/cb2"
            )
            assert portal.scopes == ("openid", "phone")
            registered = natid_idp.services.clients.get(portal.client_id)
            assert registered.min_level == 2 and registered.name == "Cổng thử nghiệm"
            citizen = natid_idp.citizen(level=2)
            tokens = natid_idp.login(
                citizen.personal_id_number, citizen.password, totp_secret=citizen.totp_secret
            )
            assert tokens.level == 2  # the registration's minimum, without acr_values
            assert set(tokens.userinfo) == {"sub", "phone_number", "phone_number_verified"}
        """
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)


# -- the fixture itself ------------------------------------------------------------------------


def test_login_returns_verified_tokens_and_the_released_claims(natid_idp: EmbeddedIdp) -> None:
    citizen = natid_idp.citizen(level=1)
    tokens = natid_idp.login(citizen.personal_id_number, citizen.password)
    assert isinstance(tokens, TokenSet)
    assert tokens.level == 1 and tokens.claims["amr"] == ["pwd"]
    assert tokens.claims["aud"] == natid_idp.portal.client_id
    assert tokens.userinfo["sub"] == tokens.subject
    assert tokens.userinfo["national_id"] == citizen.personal_id_number
    again = natid_idp.login(citizen.personal_id_number, citizen.password)
    assert again.subject == tokens.subject  # pairwise, and stable


def test_sso_then_step_up_through_one_browser(natid_idp: EmbeddedIdp) -> None:
    citizen = natid_idp.new_citizen(level=2)
    number = citizen.personal_id_number
    with natid_idp.browser() as browser:
        first = natid_idp.login(number, citizen.password, browser=browser)
        assert first.level == 1
        # The session answers: a wrong password is never even asked for.
        sso = natid_idp.login(number, "not-the-password", browser=browser)
        assert sso.claims["sid"] == first.claims["sid"]
        stepped = natid_idp.login(
            number,
            "not-the-password",
            totp_secret=citizen.totp_secret,
            acr_values="urn:natid:acr:level2",
            browser=browser,
        )
        assert stepped.level == 2 and stepped.claims["amr"] == ["pwd", "otp", "mfa"]


def test_natids_refusals_reach_the_test_as_errors(natid_idp: EmbeddedIdp) -> None:
    citizen = natid_idp.new_citizen(level=1)
    with pytest.raises(CitizenLoginError, match="password or code is not correct"):
        natid_idp.login(citizen.personal_id_number, "wrong-password-1")
    with pytest.raises(AuthorizationError) as no_session:
        natid_idp.login(citizen.personal_id_number, citizen.password, prompt="none")
    assert no_session.value.error == "login_required"
    with pytest.raises(AuthorizationError) as level_one:
        natid_idp.login(
            citizen.personal_id_number, citizen.password, acr_values="urn:natid:acr:level2"
        )
    assert level_one.value.error == "access_denied"


def test_new_citizens_are_distinct_real_registrations(natid_idp: EmbeddedIdp) -> None:
    first, second = natid_idp.new_citizen(), natid_idp.new_citizen(level=2)
    assert first.personal_id_number != second.personal_id_number
    for citizen in (first, second):
        record = natid_idp.services.population.get(citizen.personal_id_number)
        assert record is not None and record.full_name == citizen.full_name
    assert second.totp_secret is not None and len(second.totp_code()) == 6
    demo_numbers = {demo.personal_id_number for demo in natid_idp.citizens}
    assert first.personal_id_number not in demo_numbers


def test_extra_clients_private_key_jwt_and_machine_tokens(natid_idp: EmbeddedIdp) -> None:
    portal = natid_idp.client(
        name="Bank",
        redirect_uris=["https://bank.example.vn/cb"],
        scopes=["openid", "profile", "offline_access", "kyc.verify"],
        auth_method="private_key_jwt",
        id_token_alg="EdDSA",
    )
    citizen = natid_idp.new_citizen()
    tokens = natid_idp.login(citizen.personal_id_number, citizen.password, client=portal)
    assert tokens.refresh_token is not None and "offline_access" in tokens.scope
    other = natid_idp.login(citizen.personal_id_number, citizen.password)
    assert other.subject != tokens.subject  # another sector, another sub
    record = natid_idp.services.population.get(citizen.personal_id_number)
    assert record is not None
    answer = natid_idp.http.post(
        "/api/v1/kyc/verify",
        json={
            "personal_id_number": record.personal_id_number,
            "full_name": record.full_name,
            "birth_date": record.birth_date.isoformat(),
            "gender": record.gender,
        },
        headers={"Authorization": f"Bearer {natid_idp.machine_token(portal)}"},
    )
    assert answer.status_code == 200, answer.text


@pytest.mark.anyio
async def test_the_in_process_transport_reaches_the_same_natid(natid_idp: EmbeddedIdp) -> None:
    transport = natid_idp.transport()
    async with httpx.AsyncClient(transport=transport, base_url=natid_idp.issuer) as client:
        document = (await client.get("/.well-known/openid-configuration")).json()
    assert document["issuer"] == natid_idp.issuer
    assert dataclasses.is_dataclass(natid_idp.portal)
