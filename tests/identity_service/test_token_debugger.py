"""The token debugger (``/debugger``) with real tokens: what it finds and how the page behaves.

Tokens come from the running IdP itself (a citizen's login through the pages, the e-KYC
service, logout tokens) and from attackers' recipes (an edited payload, another key under
natid's kid, ``alg: none``, an ``HS256`` key-confusion token, key-URL headers).
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import logging
import os
import re
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from identity_service.accounts.models import DemoCredential
from identity_service.api.deps import IdentityServices
from identity_service.api.routes.debugger import duration_words
from identity_service.i18n import MESSAGES
from identity_service.jwk import public_jwk_members
from identity_service.kyc import KycQuery
from identity_service.oidc.backchannel import LogoutTokens
from identity_service.oidc.registration import ClientRegistration
from identity_service.token_debugger import TokenDebugger, TokenReport
from identity_service.token_findings import JWT_KINDS, TokenKind, Verdict
from identity_service.tokens import TokenService
from tests.identity_service.idp_harness import (
    RunningIdp,
    register_kyc_client,
    start_idp,
)
from tests.identity_service.oidc.environment import (
    demo_accounts,
    make_identity_template,
    seed_test_population,
)
from tests.identity_service.oidc.high_assurance import DpopKey
from tests.identity_service.oidc.support import (
    ISSUER,
    PUBLIC_SERVICES,
    PUBLIC_SERVICES_REDIRECT,
    PUBLIC_SERVICES_SECRET,
    Browser,
    FakeClock,
    Portal,
    log_in,
)

PACKAGE = Path(__file__).resolve().parents[2] / "identity_service"
CHECK_SOURCES = tuple(PACKAGE.glob("token_*.py"))
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(autouse=True)
def _environment(clean_natid_environ: None) -> None:
    """Settings never read the developer's NATID_* variables."""


@pytest.fixture(scope="module")
def prepared(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, Path]:
    directory = tmp_path_factory.mktemp("debugger")
    return seed_test_population(directory), make_identity_template(directory)


@pytest.fixture(scope="module")
def idp(
    tmp_path_factory: pytest.TempPathFactory, prepared: tuple[str, Path]
) -> Iterator[RunningIdp]:
    """One IdP for the module: the debugger only reads keys and registrations."""
    population_url, template = prepared
    with pytest.MonkeyPatch.context() as patch:
        for name in list(os.environ):
            if name.startswith("NATID_") and not name.startswith("NATID_TEST_"):
                patch.delenv(name)
        directory = tmp_path_factory.mktemp("debugger-idp")
        running = start_idp(directory, population_url, template, FakeClock(time.time()))
        yield running
        running.close()


@pytest.fixture
def services(idp: RunningIdp) -> IdentityServices:
    return idp.services


@pytest.fixture
def debugger(services: IdentityServices) -> TokenDebugger:
    return TokenDebugger(
        issuer=services.urls.issuer,
        jwks=services.keys.jwks,
        find_client=services.clients.get,
        assertion_audiences=(services.urls.token_endpoint, services.urls.issuer),
    )


@pytest.fixture
async def http(idp: RunningIdp) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=idp.app)
    async with httpx.AsyncClient(transport=transport, base_url=ISSUER) as client:
        yield client


@pytest.fixture
def demo(services: IdentityServices) -> dict[int, DemoCredential]:
    return demo_accounts(services)


@pytest.fixture
async def tokens(idp: RunningIdp, demo: dict[int, DemoCredential]) -> dict[str, Any]:
    """A real login of the level-1 demo citizen at the public-services portal."""
    async with (
        Browser(idp.app) as browser,
        Portal(
            idp.app, PUBLIC_SERVICES, PUBLIC_SERVICES_SECRET, PUBLIC_SERVICES_REDIRECT
        ) as portal,
    ):
        attempt = portal.start()
        citizen = demo[1]
        callback = await log_in(browser, attempt, citizen.personal_id_number, citizen.password)
        return await portal.exchange(attempt, callback)


def codes(report: TokenReport, verdict: Verdict | None = None) -> set[str]:
    return {f.code for f in report.findings if verdict is None or f.verdict is verdict}


def b64(data: dict[str, Any]) -> str:
    raw = json.dumps(data).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


# -- the service -----------------------------------------------------------------------------


@pytest.mark.anyio
async def test_a_fresh_id_token_is_accepted_with_kid_level_and_portal(
    debugger: TokenDebugger, services: IdentityServices, tokens: dict[str, Any]
) -> None:
    report = debugger.inspect(tokens["id_token"], expected_audience=PUBLIC_SERVICES)
    assert report.kind is TokenKind.ID_TOKEN
    assert report.accepted, report.findings
    (signature,) = report.topic("signature")
    kid = jwt.get_unverified_header(tokens["id_token"])["kid"]
    assert signature.code == "signature.valid"
    assert signature.values["kid"] == kid and signature.values["alg"] == "RS256"
    (level,) = report.topic("level")
    assert level.values["level"] == 1 and level.values["amr"] == "pwd"
    portal_name = services.clients.get(PUBLIC_SERVICES).name
    assert any(f.values.get("name") == portal_name for f in report.topic("audience"))
    assert {"audience.expected", "issuer.natid", "expiry.valid_for"} <= codes(report)
    (expiry,) = [f for f in report.findings if f.code == "expiry.valid_for"]
    assert 0 < expiry.values["seconds"] <= services.settings.id_token_ttl
    assert report.claims is not None and report.claims["sub"] in report.claims_json


@pytest.mark.anyio
async def test_the_access_token_is_for_natid_and_names_its_portal(
    debugger: TokenDebugger, tokens: dict[str, Any]
) -> None:
    report = debugger.inspect("Bearer " + tokens["access_token"])
    assert report.kind is TokenKind.ACCESS_TOKEN and report.accepted, report.findings
    assert {"format.bearer_prefix", "audience.resource", "audience.access_client"} <= codes(report)
    assert "revocation.not_checked" in codes(report, Verdict.INFO)


def test_an_expired_token_says_how_long_ago(
    debugger: TokenDebugger, services: IdentityServices
) -> None:
    issued_an_hour_ago = TokenService(
        services.keys, services.urls.issuer, clock=lambda: time.time() - 3600
    )
    token = issued_an_hour_ago.id_token(
        client_id=PUBLIC_SERVICES, subject="s", alg="RS256", ttl=600, auth_time=time.time() - 3600
    )
    report = debugger.inspect(token)
    assert not report.accepted
    (expired,) = [f for f in report.findings if f.code == "expiry.expired"]
    assert 3000 - 5 <= expired.values["seconds"] <= 3000 + 5
    assert "signature.valid" in codes(report)  # expired, not forged


@pytest.mark.anyio
async def test_an_edited_payload_fails_the_signature(
    debugger: TokenDebugger, tokens: dict[str, Any]
) -> None:
    header, _claims, signature = tokens["id_token"].split(".")
    edited = jwt.decode(tokens["id_token"], options={"verify_signature": False})
    edited["acr"] = "urn:natid:acr:level2"
    report = debugger.inspect(f"{header}.{b64(edited)}.{signature}")
    assert "signature.invalid" in codes(report, Verdict.PROBLEM)
    assert not report.accepted


@pytest.mark.anyio
async def test_a_foreign_key_under_natids_kid_or_its_own_kid_is_caught(
    debugger: TokenDebugger, tokens: dict[str, Any]
) -> None:
    header = jwt.get_unverified_header(tokens["id_token"])
    claims = jwt.decode(tokens["id_token"], options={"verify_signature": False})
    attacker = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    under_natids_kid = jwt.encode(claims, attacker, "RS256", headers={"kid": header["kid"]})
    under_own_kid = jwt.encode(claims, attacker, "RS256", headers={"kid": "attacker-key"})
    assert "signature.invalid" in codes(debugger.inspect(under_natids_kid))
    unknown = debugger.inspect(under_own_kid)
    assert "signature.unknown_kid" in codes(unknown, Verdict.PROBLEM)


@pytest.mark.anyio
async def test_alg_none_and_hs256_key_confusion_are_refused_with_warnings(
    debugger: TokenDebugger, services: IdentityServices, tokens: dict[str, Any]
) -> None:
    claims = jwt.decode(tokens["id_token"], options={"verify_signature": False})
    unsigned = f"{b64({'alg': 'none', 'typ': 'JWT'})}.{b64(claims)}."
    report = debugger.inspect(unsigned)
    assert "signature.alg_none" in codes(report, Verdict.PROBLEM)
    assert "header.alg_none" in codes(report, Verdict.WARNING)
    assert not report.accepted
    # The classic confusion: the public RSA key (as published) used as an HMAC secret.
    (rsa_jwk,) = [key for key in services.keys.jwks()["keys"] if key["alg"] == "RS256"]
    secret = json.dumps(rsa_jwk).encode()
    header = {"alg": "HS256", "kid": rsa_jwk["kid"]}
    forged = (
        f"{b64(header)}.{b64(claims)}.{base64.urlsafe_b64encode(secret[:32]).decode().rstrip('=')}"
    )
    confused = debugger.inspect(forged)
    assert "signature.symmetric" in codes(confused, Verdict.PROBLEM)
    assert "header.symmetric" in codes(confused, Verdict.WARNING)


def test_key_url_headers_warn_even_on_a_valid_token(
    debugger: TokenDebugger, services: IdentityServices
) -> None:
    key = services.keys.signing_key("ES256")
    now = int(time.time())
    claims = {
        "iss": services.urls.issuer,
        "aud": PUBLIC_SERVICES,
        "sub": "s",
        "azp": PUBLIC_SERVICES,
        "iat": now,
        "exp": now + 60,
        "acr": "urn:natid:acr:level9",
    }
    headers = {"kid": key.kid, "jku": "https://evil.example/jwks", "x5c": ["AAAA"]}
    report = debugger.inspect(jwt.encode(claims, key.private_key, "ES256", headers=headers))
    assert {"header.key_url", "header.embedded_key", "level.unknown_acr"} <= codes(
        report, Verdict.WARNING
    )
    assert "signature.not_registered" in codes(report, Verdict.WARNING)  # the portal uses RS256
    assert "signature.valid" in codes(report)


@pytest.mark.parametrize(
    ("pasted", "kind", "code"),
    [
        ("", TokenKind.UNREADABLE, "format.empty"),
        ("   \n ", TokenKind.UNREADABLE, "format.empty"),
        ("hello world, not a token", TokenKind.UNREADABLE, "format.not_jwt"),
        ("a.b.c", TokenKind.UNREADABLE, "format.bad_header"),
        (f"{b64({'alg': 'ES256'})}.bm90IGpzb24.c2ln", TokenKind.UNREADABLE, "format.bad_claims"),
        (
            f"{b64({'alg': 'ES256'})}.{b64({'a': 1})}.!!!",
            TokenKind.OTHER_JWT,
            "format.bad_signature",
        ),
        ("eyJhbGciOiJSU0EtT0FFUCJ9.a.b.c.d", TokenKind.ENCRYPTED, "format.encrypted"),
        ("QmFzZTY0VXJsUmFuZG9tUmVmcmVzaFRva2Vu_-x", TokenKind.OPAQUE, "format.opaque"),
        ("x" * 20_000, TokenKind.UNREADABLE, "format.too_long"),
        (
            f"{b64({'alg': 'ES256'})}.{b64({'exp': 1e400})}.c2ln",
            TokenKind.OTHER_JWT,
            "expiry.not_number",
        ),
    ],
)
def test_garbage_is_described_never_raised(
    debugger: TokenDebugger, pasted: str, kind: TokenKind, code: str
) -> None:
    report = debugger.inspect(pasted)
    assert report.kind is kind
    assert code in codes(report)
    assert not report.accepted


def test_a_kyc_answer_has_no_expiry_by_design(
    debugger: TokenDebugger, services: IdentityServices, demo: dict[int, DemoCredential]
) -> None:
    client_id = "kyc-test-bank"
    register_kyc_client(services, client_id)
    record = services.population.get(demo[1].personal_id_number)
    assert record is not None
    answer, _locked_for, _entry = services.kyc.evaluate(
        client_id,
        KycQuery(record.personal_id_number, record.full_name, record.birth_date, record.gender),
    )
    report = debugger.inspect(answer.result_jws, expected_audience=client_id)
    assert report.kind is TokenKind.KYC_ANSWER and report.accepted, report.findings
    assert {"expiry.none_kyc", "level.kyc", "audience.expected"} <= codes(report)


def test_a_logout_token_is_recognised_and_its_rules_checked(
    debugger: TokenDebugger, services: IdentityServices
) -> None:
    client = services.clients.get(PUBLIC_SERVICES)
    assert client is not None
    token = LogoutTokens(services.keys, services.urls.issuer).logout_token(client, "sub-1", "sid-1")
    report = debugger.inspect(token)
    assert report.kind is TokenKind.LOGOUT_TOKEN and report.accepted, report.findings
    header, claims = (
        jwt.get_unverified_header(token),
        jwt.decode(token, options={"verify_signature": False}),
    )
    claims["nonce"] = "n"
    key = services.keys.signing_key(header["alg"])
    with_nonce = jwt.encode(claims, key.private_key, header["alg"], headers=header)
    assert "logout.nonce" in codes(debugger.inspect(with_nonce), Verdict.PROBLEM)


def test_a_client_assertion_is_checked_against_the_clients_own_keys(
    debugger: TokenDebugger, services: IdentityServices
) -> None:
    private = ec.generate_private_key(ec.SECP256R1())
    jwk = {**public_jwk_members(private.public_key()), "kid": "bank-1", "alg": "ES256"}
    services.clients.register(
        ClientRegistration(
            name="Bank back-end",
            redirect_uris=(),
            scopes=("kyc.verify",),
            grant_types=("client_credentials",),
            token_endpoint_auth_method="private_key_jwt",
            jwks={"keys": [jwk]},
            client_id="bank-backend",
        )
    )
    now = int(time.time())
    claims = {
        "iss": "bank-backend",
        "sub": "bank-backend",
        "aud": services.urls.token_endpoint,
        "jti": "j1",
        "iat": now,
        "exp": now + 60,
    }
    good = debugger.inspect(jwt.encode(claims, private, "ES256", headers={"kid": "bank-1"}))
    assert good.kind is TokenKind.CLIENT_ASSERTION and good.accepted, good.findings
    assert {"issuer.client", "audience.endpoint"} <= codes(good, Verdict.OK)
    wrong_audience = {**claims, "aud": "https://elsewhere.example/token"}
    other = ec.generate_private_key(ec.SECP256R1())
    bad = debugger.inspect(jwt.encode(wrong_audience, other, "ES256", headers={"kid": "bank-1"}))
    assert {"audience.wrong_endpoint", "signature.invalid"} <= codes(bad, Verdict.PROBLEM)


def test_issuer_and_audience_mismatches_are_named(
    debugger: TokenDebugger, services: IdentityServices
) -> None:
    token = services.tokens.id_token(
        client_id=PUBLIC_SERVICES,
        subject="s",
        alg="RS256",
        ttl=600,
        auth_time=time.time(),
        acr="urn:natid:acr:level1",
    )
    report = debugger.inspect(token, expected_audience="my-other-portal")
    assert "audience.not_expected" in codes(report, Verdict.PROBLEM)
    slash = TokenDebugger(
        issuer=services.urls.issuer + "/",
        jwks=services.keys.jwks,
        find_client=services.clients.get,
    ).inspect(token)
    assert "issuer.trailing_slash" in codes(slash, Verdict.PROBLEM)


def test_every_finding_code_has_both_languages() -> None:
    source = "".join(path.read_text() for path in CHECK_SOURCES)
    topics = "format|header|signature|expiry|issuer|audience|level|logout|revocation"
    found = set(re.findall(rf'"((?:{topics})\.[a-z_]+)"', source))
    found |= {f"type.{kind.value}" for kind in JWT_KINDS}
    assert len(found) > 40
    for code in found:
        assert set(MESSAGES.get(f"debugger.finding.{code}", {})) == {"vi", "en"}, code


def test_durations_read_as_words() -> None:
    assert duration_words(3725, "en") == "1 h 2 min"
    assert duration_words(59, "vi") == "59 giây"
    assert duration_words(0, "en") == "0 s"


# -- the page --------------------------------------------------------------------------------


async def open_form(http: httpx.AsyncClient, lang: str | None = None) -> tuple[str, httpx.Response]:
    page = await http.get("/debugger", params={"lang": lang} if lang else None)
    assert page.status_code == 200
    match = _CSRF.search(page.text)
    assert match
    return match.group(1), page


@pytest.mark.anyio
async def test_the_page_is_vietnamese_by_default_no_store_and_without_script(
    http: httpx.AsyncClient,
) -> None:
    _csrf, page = await open_form(http)
    assert '<html lang="vi">' in page.text and "Kiểm tra token" in page.text
    assert page.headers["cache-control"] == "no-store"
    assert "<script" not in page.text.lower()
    cookie = page.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie and "path=/debugger" in cookie
    _csrf, english = await open_form(http, "en")
    assert '<html lang="en">' in english.text and "Token debugger" in english.text


@pytest.mark.anyio
async def test_posting_a_token_shows_the_report_and_logs_nothing_of_it(
    http: httpx.AsyncClient, tokens: dict[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    csrf, _page = await open_form(http, "en")
    token = tokens["id_token"]
    caplog.set_level(logging.DEBUG)
    answer = await http.post(
        "/debugger",
        data={"csrf_token": csrf, "token": token, "lang": "en", "audience": PUBLIC_SERVICES},
    )
    assert answer.status_code == 200
    assert answer.headers["cache-control"] == "no-store"
    assert 'data-accepted="yes"' in answer.text
    kid = jwt.get_unverified_header(token)["kid"]
    assert f"Valid signature: key kid “{kid}”" in answer.text
    assert "urn:natid:acr:level1 = level 1" in answer.text
    assert all(token not in record.getMessage() for record in caplog.records)
    assert token[:40] not in caplog.text


@pytest.mark.anyio
async def test_claims_are_escaped_on_the_page(http: httpx.AsyncClient) -> None:
    csrf, _page = await open_form(http, "en")
    hostile = f"{b64({'alg': 'none'})}.{b64({'name': '<script>alert(1)</script>'})}."
    answer = await http.post("/debugger", data={"csrf_token": csrf, "token": hostile, "lang": "en"})
    assert "<script>alert" not in answer.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in answer.text
    assert 'data-accepted="no"' in answer.text and 'data-code="signature.alg_none"' in answer.text


@pytest.mark.anyio
async def test_a_post_without_the_forms_csrf_token_is_refused(
    http: httpx.AsyncClient, idp: RunningIdp
) -> None:
    csrf, _page = await open_form(http)
    forged = await http.post("/debugger", data={"csrf_token": "0" * 64, "token": "a.b.c"})
    assert forged.status_code == 403
    transport = httpx.ASGITransport(app=idp.app)
    async with httpx.AsyncClient(transport=transport, base_url=ISSUER) as stranger:
        cross_site = await stranger.post("/debugger", data={"csrf_token": csrf, "token": "a.b.c"})
    assert cross_site.status_code == 403  # the token is bound to the other browser's cookie


def test_utc_times_in_findings_are_readable(debugger: TokenDebugger) -> None:
    moment = dt.datetime(2030, 1, 2, 3, 4, 5, tzinfo=dt.UTC).timestamp()
    token = f"{b64({'alg': 'ES256'})}.{b64({'exp': moment})}.c2ln"
    (valid,) = [f for f in debugger.inspect(token).findings if f.code == "expiry.valid_for"]
    assert valid.values["at"] == "2030-01-02 03:04:05 UTC"


# -- DPoP ---------------------------------------------------------------------------------------


@pytest.fixture
def dpop_debugger(services: IdentityServices) -> TokenDebugger:
    return TokenDebugger(
        issuer=services.urls.issuer,
        jwks=services.keys.jwks,
        find_client=services.clients.get,
        dpop_endpoints=(services.urls.token_endpoint, services.urls.userinfo_endpoint),
    )


def test_a_fresh_dpop_proof_is_checked_against_its_own_key(
    dpop_debugger: TokenDebugger, services: IdentityServices
) -> None:
    key = DpopKey()
    proof = key.proof(
        "GET", f"{ISSUER}/userinfo", nonce="n", access_token="at", iat=time.time() - 5
    )
    report = dpop_debugger.inspect(proof)
    assert report.kind is TokenKind.DPOP_PROOF
    assert report.accepted, report.findings
    assert {"signature.valid", "dpop.htm", "dpop.htu", "dpop.fresh", "dpop.ath"} <= codes(report)
    (thumbprint,) = [f for f in report.findings if f.code == "dpop.jkt"]
    assert thumbprint.values["jkt"] == key.jkt
    assert "header.embedded_key" not in codes(report)  # a proof's jwk is what it is for
    assert not {"issuer.missing", "audience.missing", "expiry.missing"} & codes(report)


def test_a_dpop_proof_for_elsewhere_or_too_old_is_a_problem(
    dpop_debugger: TokenDebugger,
) -> None:
    key = DpopKey()
    other = dpop_debugger.inspect(key.proof("POST", "https://evil.example/token", iat=time.time()))
    assert "dpop.htu_other" in codes(other, Verdict.PROBLEM)
    assert "dpop.no_nonce" in codes(other, Verdict.WARNING)
    stale = dpop_debugger.inspect(key.proof("POST", f"{ISSUER}/token", iat=time.time() - 600))
    assert "dpop.stale" in codes(stale, Verdict.PROBLEM) and not stale.accepted
    forged = key.proof("POST", f"{ISSUER}/token", iat=time.time(), header={"jwk": DpopKey().jwk})
    assert "signature.invalid" in codes(dpop_debugger.inspect(forged), Verdict.PROBLEM)
    leaked = key.proof(
        "POST", f"{ISSUER}/token", iat=time.time(), header={"jwk": {**key.jwk, "d": "AAAA"}}
    )
    assert "signature.private_jwk" in codes(dpop_debugger.inspect(leaked), Verdict.PROBLEM)


def test_a_bound_access_token_shows_its_key(
    debugger: TokenDebugger, services: IdentityServices
) -> None:
    token = services.tokens.access_token(
        client_id=PUBLIC_SERVICES, subject="s", scope="openid", ttl=60, confirmation_jkt="j" * 43
    )
    (bound,) = [f for f in debugger.inspect(token).findings if f.code == "dpop.bound"]
    assert bound.values["jkt"] == "j" * 43
