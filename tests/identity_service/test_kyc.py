"""The e-KYC verify API: signed answers, no record data, no oracle, tokens, limits, audit."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import time
import unicodedata
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
import sqlalchemy as sa
from cryptography.hazmat.primitives.asymmetric import ec

from identity_service.accounts.models import DemoCredential
from identity_service.api.deps import IdentityServices
from identity_service.kyc_access import VIETNAM_UTC_OFFSET_SECONDS
from population_db import db as population_db
from population_db.registry import CitizenRecord
from tests.identity_service.idp_harness import (
    KYC_CLIENT,
    RunningIdp,
    copy_population,
    jwks_keys,
    kyc_token,
    metric,
    metric_samples,
    register_kyc_client,
    start_idp,
    unknown_number,
)
from tests.identity_service.oidc.environment import (
    demo_accounts,
    make_identity_template,
    seed_test_population,
)
from tests.identity_service.oidc.high_assurance import KYC_URL, TOKEN_URL, DpopKey, fresh_proof
from tests.identity_service.oidc.lifecycle_support import (
    BANK_BACKEND,
    CLINIC_BACKEND,
    CLINIC_BACKEND_SECRET,
    bank_backend_form,
)
from tests.identity_service.oidc.support import ISSUER, FakeClock, basic_auth, totp_code

pytestmark = pytest.mark.anyio

VERIFY = "/api/v1/kyc/verify"
CLAIM_NAMES = {"iss", "aud", "iat", "jti", "result", "matched", "level", "query_sha256"}


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(autouse=True)
def _environment(clean_natid_environ: None) -> None:
    """Settings never read the developer's NATID_* variables."""


@pytest.fixture(scope="module")
def prepared(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, Path]:
    directory = tmp_path_factory.mktemp("kyc")
    return seed_test_population(directory), make_identity_template(directory)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(time.time())


@pytest.fixture
def idp(tmp_path: Path, prepared: tuple[str, Path], clock: FakeClock) -> Iterator[RunningIdp]:
    population_url, template = prepared
    running = start_idp(tmp_path, population_url, template, clock)
    register_kyc_client(running.services)
    yield running
    running.close()


@pytest.fixture
def services(idp: RunningIdp) -> IdentityServices:
    return idp.services


@pytest.fixture
async def http(idp: RunningIdp) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=idp.app)
    async with httpx.AsyncClient(transport=transport, base_url=ISSUER) as client:
        yield client


@pytest.fixture
def demo(services: IdentityServices) -> dict[int, DemoCredential]:
    return demo_accounts(services)


@pytest.fixture
def citizen(services: IdentityServices, demo: dict[int, DemoCredential]) -> CitizenRecord:
    record = services.population.get(demo[1].personal_id_number)
    assert record is not None and not record.is_deceased
    return record


def query_for(record: CitizenRecord, **changes: Any) -> dict[str, Any]:
    body = {
        "personal_id_number": record.personal_id_number,
        "full_name": record.full_name,
        "birth_date": record.birth_date.isoformat(),
        "gender": record.gender,
    }
    return {**body, **changes}


async def call(
    http: httpx.AsyncClient, services: IdentityServices, body: Any, token: str | None = None
) -> httpx.Response:
    token = token if token is not None else kyc_token(services)
    return await http.post(VERIFY, json=body, headers={"Authorization": f"Bearer {token}"})


async def verified_claims(http: httpx.AsyncClient, response: httpx.Response) -> dict[str, Any]:
    """The answer's claims after checking its header and its signature against the JWKS."""
    assert response.status_code == 200, response.text
    header = jwt.get_unverified_header(response.json()["result_jws"])
    assert header["typ"] == "kyc-result+jwt"
    assert header["alg"] == "ES256"
    claims = await verified_claims_for(http, response, KYC_CLIENT)
    assert {"iss", "aud", "iat", "jti"} <= set(claims)
    return claims


# --- answers -----------------------------------------------------------------------------


async def test_a_match_is_a_jws_verifiable_with_the_jwks(
    http: httpx.AsyncClient, services: IdentityServices, citizen: CitizenRecord, clock: FakeClock
) -> None:
    response = await call(http, services, query_for(citizen))
    assert set(response.json()) == {"result_jws", "transaction_id"}
    assert response.headers["cache-control"] == "no-store"
    claims = await verified_claims(http, response)
    assert set(claims) == CLAIM_NAMES
    assert claims["result"] == "match"
    assert claims["matched"] == {"full_name": True, "birth_date": True, "gender": True}
    assert claims["level"] == 1
    assert claims["jti"] == response.json()["transaction_id"]
    assert claims["iat"] == int(clock())


def _sha256_of_sent(body: dict[str, Any]) -> str:
    # As a relying party recomputes it from the request it sent (docs/integrating.md).
    sent = {
        name: body[name] for name in ("personal_id_number", "full_name", "birth_date", "gender")
    }
    text = json.dumps(sent, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    digest = hashlib.sha256(text.encode("utf-8")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


async def test_the_answer_is_bound_to_the_query_it_answers(
    http: httpx.AsyncClient, services: IdentityServices, citizen: CitizenRecord
) -> None:
    exact = query_for(citizen)
    decomposed = query_for(citizen, full_name=unicodedata.normalize("NFD", citizen.full_name))
    wrong_day = query_for(
        citizen, birth_date=(citizen.birth_date + dt.timedelta(days=1)).isoformat()
    )
    with_code = {**exact, "otp": "123456"}
    digests = []
    for body in (exact, decomposed, wrong_day, with_code):
        claims = await verified_claims(http, await call(http, services, body))
        assert claims["query_sha256"] == _sha256_of_sent(body)
        digests.append(claims["query_sha256"])
    # The same attributes, however they compare, give another digest when sent otherwise;
    # the one-time code is not part of it.
    assert len(set(digests[:3])) == 3
    assert digests[3] == digests[0]


async def test_names_compare_without_case_or_unicode_form_differences(
    http: httpx.AsyncClient, services: IdentityServices, citizen: CitizenRecord
) -> None:
    import unicodedata

    typed = unicodedata.normalize("NFD", citizen.full_name.upper())
    claims = await verified_claims(
        http, await call(http, services, query_for(citizen, full_name=f"  {typed} "))
    )
    assert claims["result"] == "match"


async def test_each_attribute_is_flagged_on_its_own(
    http: httpx.AsyncClient, services: IdentityServices, citizen: CitizenRecord
) -> None:
    wrong_day = citizen.birth_date + dt.timedelta(days=1)
    claims = await verified_claims(
        http, await call(http, services, query_for(citizen, birth_date=wrong_day.isoformat()))
    )
    assert claims["result"] == "no_match"
    assert claims["matched"] == {"full_name": True, "birth_date": False, "gender": True}


async def test_the_answer_carries_nothing_from_the_record(
    http: httpx.AsyncClient, services: IdentityServices, citizen: CitizenRecord
) -> None:
    # The relying party sends a wrong name: the record's own name must not come back.
    response = await call(http, services, query_for(citizen, full_name="Trần Văn Sai"))
    claims = await verified_claims(http, response)
    assert claims["matched"]["full_name"] is False
    answer_text = response.text + json.dumps(claims, ensure_ascii=False)
    for value in (
        citizen.full_name,
        citizen.given_name,
        citizen.permanent_address,
        citizen.phone,
        citizen.personal_id_number,
    ):
        if value:
            assert value not in answer_text


async def test_an_unknown_number_looks_exactly_like_a_mismatch(
    http: httpx.AsyncClient, services: IdentityServices, citizen: CitizenRecord
) -> None:
    stranger = unknown_number(services, citizen.birth_date.year, citizen.gender)
    # Everything wrong for a real citizen vs. a number nobody has.
    wrong = {"full_name": "Không Ai Cả", "birth_date": "1901-02-03", "gender": "female"}
    known = await call(http, services, query_for(citizen, **wrong))
    unknown = await call(http, services, query_for(citizen, personal_id_number=stranger, **wrong))
    # Even with every attribute right for a real person, an unknown number flags nothing.
    unknown_but_plausible = await call(
        http, services, query_for(citizen, personal_id_number=stranger)
    )
    shapes = []
    for response in (known, unknown, unknown_but_plausible):
        claims = await verified_claims(http, response)
        header = jwt.get_unverified_header(response.json()["result_jws"])
        shapes.append(
            (
                response.status_code,
                sorted(response.json()),
                sorted(response.headers.keys() - {"content-length", "x-request-id"}),
                header,
                sorted(claims),
                claims["result"],
                claims["matched"],
                claims["level"],
            )
        )
    assert shapes[0] == shapes[1] == shapes[2]
    assert shapes[0][5] == "no_match"
    assert set(shapes[0][6].values()) == {False}


async def test_a_deceased_citizen_answers_like_an_unknown_number(
    tmp_path: Path, prepared: tuple[str, Path], clock: FakeClock
) -> None:
    population_url, template = prepared
    private_population = copy_population(population_url, tmp_path)
    idp = start_idp(tmp_path, private_population, template, clock)
    try:
        services = idp.services
        register_kyc_client(services)
        record = services.population.get(demo_accounts(services)[1].personal_id_number)
        assert record is not None
        engine = services.population.engine
        with engine.begin() as connection:
            table = population_db.CITIZEN_TABLE
            connection.execute(
                sa.update(table)
                .where(table.c.personal_id_number == record.personal_id_number)
                .values(date_of_death=dt.date(2024, 3, 1))
            )
        transport = httpx.ASGITransport(app=idp.app)
        async with httpx.AsyncClient(transport=transport, base_url=ISSUER) as http:
            claims = await verified_claims(http, await call(http, services, query_for(record)))
    finally:
        idp.close()
    assert claims["result"] == "no_match"
    assert claims["matched"] == {"full_name": False, "birth_date": False, "gender": False}


# --- the citizen's one-time code ---------------------------------------------------------


async def test_a_valid_one_time_code_makes_a_match_level_two(
    http: httpx.AsyncClient,
    services: IdentityServices,
    demo: dict[int, DemoCredential],
    clock: FakeClock,
) -> None:
    level2 = demo[2]
    assert level2.totp_secret is not None
    record = services.population.get(level2.personal_id_number)
    assert record is not None
    code = totp_code(level2.totp_secret, clock)
    claims = await verified_claims(http, await call(http, services, query_for(record, otp=code)))
    assert (claims["result"], claims["level"]) == ("match", 2)
    # The same code again is a replay: the answer drops to level 1.
    replayed = await verified_claims(http, await call(http, services, query_for(record, otp=code)))
    assert (replayed["result"], replayed["level"]) == ("match", 1)
    # A valid code does not lift a mismatch to level 2.
    clock.advance(30)
    fresh = totp_code(level2.totp_secret, clock)
    mismatch = await verified_claims(
        http, await call(http, services, query_for(record, full_name="Sai Tên", otp=fresh))
    )
    assert (mismatch["result"], mismatch["level"]) == ("no_match", 1)


async def test_wrong_codes_lock_out_known_and_unknown_numbers_alike(
    http: httpx.AsyncClient,
    services: IdentityServices,
    demo: dict[int, DemoCredential],
) -> None:
    record = services.population.get(demo[2].personal_id_number)
    assert record is not None
    stranger = unknown_number(services, record.birth_date.year, record.gender)
    threshold = services.settings.lockout_threshold
    statuses: dict[str, list[int]] = {}
    for number in (record.personal_id_number, stranger):
        statuses[number] = []
        for _ in range(threshold + 1):
            response = await call(
                http, services, query_for(record, personal_id_number=number, otp="000000")
            )
            statuses[number].append(response.status_code)
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["type"] == "urn:natid:problem:otp-locked"
        assert int(response.headers["retry-after"]) > 0
    assert statuses[record.personal_id_number] == statuses[stranger]
    # The threshold-th wrong code starts the lock (as at login); later ones are refused.
    assert statuses[stranger] == [200] * (threshold - 1) + [429, 429]


# --- who may call ------------------------------------------------------------------------


async def test_no_token_gets_a_bare_bearer_challenge(
    http: httpx.AsyncClient, citizen: CitizenRecord
) -> None:
    response = await http.post(VERIFY, json=query_for(citizen))
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == 'Bearer realm="natid"'
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["status"] == 401


def _forged_tokens(services: IdentityServices) -> dict[str, str]:
    genuine = kyc_token(services)
    header, payload, signature = genuine.split(".")
    claims = jwt.decode(genuine, options={"verify_signature": False})
    kid = jwt.get_unverified_header(genuine)["kid"]
    stranger_key = ec.generate_private_key(ec.SECP256R1())
    unsigned = jwt.encode(claims, None, algorithm="none", headers={"typ": "at+jwt", "kid": kid})
    return {
        "other key, our kid": jwt.encode(
            claims, stranger_key, algorithm="ES256", headers={"kid": kid, "typ": "at+jwt"}
        ),
        "alg none": unsigned,
        "truncated signature": f"{header}.{payload}.{signature[:-8]}",
        "payload swapped": f"{header}.{_b64(json.dumps({**claims, 'client_id': 'x'}))}.{signature}",
        "garbage": "not-a-jwt",
    }


def _b64(text: str) -> str:
    import base64

    return base64.urlsafe_b64encode(text.encode()).rstrip(b"=").decode()


async def test_forged_and_malformed_tokens_are_refused(
    http: httpx.AsyncClient, services: IdentityServices, citizen: CitizenRecord
) -> None:
    for name, token in _forged_tokens(services).items():
        response = await call(http, services, query_for(citizen), token=token)
        assert response.status_code == 401, name
        assert 'error="invalid_token"' in response.headers["www-authenticate"], name


async def test_an_expired_token_is_refused_even_after_a_successful_call(
    http: httpx.AsyncClient, services: IdentityServices, citizen: CitizenRecord, clock: FakeClock
) -> None:
    token = kyc_token(services, ttl=60)
    assert (await call(http, services, query_for(citizen), token=token)).status_code == 200
    clock.advance(61)
    response = await call(http, services, query_for(citizen), token=token)
    assert response.status_code == 401


async def test_a_revoked_token_is_refused_at_once(
    http: httpx.AsyncClient, services: IdentityServices, citizen: CitizenRecord
) -> None:
    token = kyc_token(services)
    assert (await call(http, services, query_for(citizen), token=token)).status_code == 200
    services.access_tokens.revoke(
        jwt.decode(token, options={"verify_signature": False})["jti"], 600
    )
    response = await call(http, services, query_for(citizen), token=token)
    assert response.status_code == 401
    assert "revoked" in response.json()["detail"]


async def test_tokens_without_the_kyc_scope_are_forbidden(
    http: httpx.AsyncClient, services: IdentityServices, citizen: CitizenRecord
) -> None:
    cases = {
        # A portal's token for a citizen's login, with citizen scopes.
        "citizen scopes": kyc_token(
            services, "public-services-portal", scope="openid profile", subject="pairwise-sub"
        ),
        # Even carrying kyc.verify, a token about a citizen is not the bank's own token.
        "citizen subject": kyc_token(services, subject="some-citizen-subject"),
        # A client that is not registered for kyc.verify.
        "unregistered client": kyc_token(services, "demo-clinic"),
    }
    for name, token in cases.items():
        response = await call(http, services, query_for(citizen), token=token)
        assert response.status_code == 403, name
        challenge = response.headers["www-authenticate"]
        assert 'error="insufficient_scope"' in challenge and 'scope="kyc.verify"' in challenge


async def test_an_id_token_is_not_an_access_token(
    http: httpx.AsyncClient, services: IdentityServices, citizen: CitizenRecord
) -> None:
    id_token = services.tokens.id_token(
        client_id=KYC_CLIENT, subject=KYC_CLIENT, alg="ES256", ttl=600, auth_time=time.time()
    )
    response = await call(http, services, query_for(citizen), token=id_token)
    assert response.status_code == 401


# --- bad input ---------------------------------------------------------------------------


async def test_bad_input_gets_problem_details_without_echoing_it(
    http: httpx.AsyncClient, services: IdentityServices, citizen: CitizenRecord
) -> None:
    headers = {"Authorization": f"Bearer {kyc_token(services)}"}
    good = query_for(citizen)
    cases: list[tuple[str, dict[str, Any], int, str]] = [
        ("missing fields", {"content": json.dumps({"full_name": "A"})}, 422, "invalid-request"),
        ("extra field", {"json": {**good, "address": "x"}}, 422, "invalid-request"),
        ("short number", {"json": {**good, "personal_id_number": "00109001234"}}, 422, ""),
        ("unknown province", {"json": {**good, "personal_id_number": "999090012345"}}, 422, ""),
        ("number as int", {"json": {**good, "personal_id_number": 1090012345}}, 422, ""),
        ("bad date", {"json": {**good, "birth_date": "1990-13-01"}}, 422, ""),
        ("date as timestamp", {"json": {**good, "birth_date": 631152000}}, 422, ""),
        ("bad gender", {"json": {**good, "gender": "M"}}, 422, ""),
        ("blank name", {"json": {**good, "full_name": "   "}}, 422, ""),
        ("short otp", {"json": {**good, "otp": "12345"}}, 422, ""),
        ("not an object", {"json": [good]}, 422, ""),
        ("broken json", {"content": '{"personal_id_number": '}, 400, "malformed-json"),
        ("form body", {"data": good}, 415, "unsupported-media-type"),
        ("huge body", {"json": {**good, "full_name": "A" * 5000}}, 413, "too-large"),
    ]
    for name, request, status, slug in cases:
        request_headers = dict(headers)
        if "content" in request:
            request_headers["Content-Type"] = "application/json"
        response = await http.post(VERIFY, headers=request_headers, **request)
        assert response.status_code == status, name
        assert response.headers["content-type"] == "application/problem+json", name
        problem = response.json()
        assert {"type", "title", "status", "detail"} <= set(problem), name
        assert problem["status"] == status, name
        if slug:
            assert problem["type"] == f"urn:natid:problem:{slug}", name
        assert citizen.personal_id_number not in response.text, name
        assert "Traceback" not in response.text


# --- limits ------------------------------------------------------------------------------


async def test_the_burst_limit_answers_429_with_retry_after(
    tmp_path: Path, prepared: tuple[str, Path], clock: FakeClock
) -> None:
    population_url, template = prepared
    clock.now = float(int(clock.now)) + 0.25  # a quarter into a wall-clock second
    idp = start_idp(tmp_path, population_url, template, clock, kyc_requests_per_second=3)
    try:
        services = idp.services
        register_kyc_client(services)
        register_kyc_client(services, "other-bank")
        record = services.population.get(demo_accounts(services)[1].personal_id_number)
        assert record is not None
        transport = httpx.ASGITransport(app=idp.app)
        async with httpx.AsyncClient(transport=transport, base_url=ISSUER) as http:
            statuses = [
                (await call(http, services, query_for(record))).status_code for _ in range(3)
            ]
            limited = await call(http, services, query_for(record))
            # Another relying party has its own budget.
            other = await call(http, services, query_for(record), kyc_token(services, "other-bank"))
            clock.advance(1)
            after = await call(http, services, query_for(record))
    finally:
        idp.close()
    assert statuses == [200, 200, 200]
    assert limited.status_code == 429
    assert limited.headers["retry-after"] == "1"
    assert limited.json()["type"] == "urn:natid:problem:rate-limited"
    assert other.status_code == 200
    assert after.status_code == 200


async def test_the_daily_quota_runs_until_midnight_in_vietnam(
    tmp_path: Path, prepared: tuple[str, Path], clock: FakeClock
) -> None:
    population_url, template = prepared
    idp = start_idp(tmp_path, population_url, template, clock, kyc_daily_quota=2)
    try:
        services = idp.services
        register_kyc_client(services)
        record = services.population.get(demo_accounts(services)[1].personal_id_number)
        assert record is not None
        transport = httpx.ASGITransport(app=idp.app)
        async with httpx.AsyncClient(transport=transport, base_url=ISSUER) as http:
            first = [(await call(http, services, query_for(record))).status_code for _ in range(2)]
            clock.advance(5)
            refused = await call(http, services, query_for(record))
            vietnam_now = dt.datetime.fromtimestamp(
                clock() + VIETNAM_UTC_OFFSET_SECONDS, dt.UTC
            ).replace(tzinfo=None)
            midnight = dt.datetime.combine(vietnam_now.date() + dt.timedelta(days=1), dt.time())
            clock.advance((midnight - vietnam_now).total_seconds() + 1)
            next_day = await call(http, services, query_for(record))
    finally:
        idp.close()
    assert first == [200, 200]
    assert refused.status_code == 429
    assert refused.json()["type"] == "urn:natid:problem:quota-exceeded"
    expected = (midnight - vietnam_now).total_seconds()
    assert abs(int(refused.headers["retry-after"]) - expected) <= 1
    assert next_day.status_code == 200


# --- audit -------------------------------------------------------------------------------


async def test_every_answer_is_audited_before_it_is_given(
    http: httpx.AsyncClient, services: IdentityServices, citizen: CitizenRecord
) -> None:
    match = await call(http, services, query_for(citizen))
    mismatch = await call(http, services, query_for(citizen, gender="female"))
    entries = [entry for entry in services.audit.tail(10) if entry.event == "kyc.verify"]
    by_transaction = {entry.details["transaction_id"]: entry for entry in entries}
    for response, result in ((match, "match"), (mismatch, "no_match")):
        entry = by_transaction[response.json()["transaction_id"]]
        assert entry.client_id == KYC_CLIENT
        assert entry.actor == services.audit.subject_ref(citizen.personal_id_number)
        assert entry.details["result"] == result
        assert entry.level == 1
        assert entry.details["second_factor"] == "absent"
    assert by_transaction[mismatch.json()["transaction_id"]].details["matched"]["gender"] is False
    stored = json.dumps([entry.details for entry in entries], ensure_ascii=False)
    assert citizen.personal_id_number not in stored
    assert citizen.full_name not in stored
    assert services.audit.verify().ok


async def test_no_answer_is_given_when_the_audit_log_is_unavailable(
    http: httpx.AsyncClient, services: IdentityServices, citizen: CitizenRecord
) -> None:
    with services.identity_engine.begin() as connection:
        connection.exec_driver_sql("DROP TABLE audit_entry")
    before = await metric_samples(http)
    response = await call(http, services, query_for(citizen))
    after = await metric_samples(http)
    assert response.status_code == 503
    # Counted as what the caller got, an error; not as the match it never saw.
    calls = "natid_kyc_calls_total"
    assert metric(after, calls, result="error") - metric(before, calls, result="error") == 1
    assert metric(after, calls, result="match") == metric(before, calls, result="match")
    assert response.headers["retry-after"]
    assert "result_jws" not in response.text
    # Answered in the API's own shape, though the commit is waited for outside the route.
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["status"] == 503


# --- end to end with the real token endpoint ---------------------------------------------


async def test_bank_backends_get_tokens_by_client_credentials_and_can_revoke_them(
    http: httpx.AsyncClient, services: IdentityServices, citizen: CitizenRecord, clock: FakeClock
) -> None:
    # The bank's back-end is registered for DPoP: its token is bound to its key.
    key = DpopKey()
    issued = await http.post(
        "/token",
        data=bank_backend_form(clock, grant_type="client_credentials", scope="kyc.verify"),
        headers=fresh_proof(services, clock, key, "POST", TOKEN_URL),
    )
    assert issued.status_code == 200, issued.text
    token = issued.json()["access_token"]

    async def call_with_proof() -> httpx.Response:
        proof = fresh_proof(services, clock, key, "POST", KYC_URL, access_token=token)
        return await http.post(
            VERIFY, json=query_for(citizen), headers={"Authorization": f"DPoP {token}", **proof}
        )

    claims = await verified_claims_for(http, await call_with_proof(), BANK_BACKEND)
    assert claims["result"] == "match"
    # The clinic's back-end authenticates with a secret; its token is for itself only.
    clinic = await http.post(
        "/token",
        data={"grant_type": "client_credentials", "scope": "kyc.verify"},
        headers=basic_auth(CLINIC_BACKEND, CLINIC_BACKEND_SECRET),
    )
    clinic_claims = await verified_claims_for(
        http,
        await call(http, services, query_for(citizen), token=clinic.json()["access_token"]),
        CLINIC_BACKEND,
    )
    assert clinic_claims["aud"] == CLINIC_BACKEND
    # RFC 7009 revocation by its owner stops the token at once.
    revoked = await http.post(
        "/revoke",
        data=bank_backend_form(clock, token=token),
    )
    assert revoked.status_code == 200
    assert (await call_with_proof()).status_code == 401


async def verified_claims_for(
    http: httpx.AsyncClient, response: httpx.Response, audience: str
) -> dict[str, Any]:
    assert response.status_code == 200, response.text
    result_jws = response.json()["result_jws"]
    key = (await jwks_keys(http))[jwt.get_unverified_header(result_jws)["kid"]]
    return jwt.decode(
        result_jws,
        key.key,
        algorithms=["ES256"],
        audience=audience,
        issuer=ISSUER,
        # Tests move the IdP clock forward; iat is checked against it where it matters.
        options={"verify_iat": False},
    )
