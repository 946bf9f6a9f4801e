"""Observability of the real app: /metrics after logins, tokens and e-KYC calls; request
ids; JSON logs from ``natid serve`` (uvicorn's access log included, secrets scrubbed)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from identity_service.accounts.models import DemoCredential
from identity_service.api.deps import IdentityServices
from tests.identity_service.idp_harness import (
    RunningIdp,
    kyc_token,
    metric,
    metric_samples,
    register_kyc_client,
)
from tests.identity_service.oidc.environment import (
    TEST_PASSPHRASE,
    TEST_SECRET,
)
from tests.identity_service.oidc.lifecycle_support import citizen_tokens
from tests.identity_service.oidc.support import Browser, raw_request

pytestmark = pytest.mark.anyio


async def test_metrics_count_logins_tokens_and_kyc_calls(
    idp: RunningIdp,
    http: httpx.AsyncClient,
    services: IdentityServices,
    demo: dict[int, DemoCredential],
) -> None:
    before = await metric_samples(http)
    async with Browser(idp.app) as browser:
        await citizen_tokens(http, browser, demo[1])
    register_kyc_client(services)
    record = services.population.get(demo[1].personal_id_number)
    assert record is not None
    body = {
        "personal_id_number": record.personal_id_number,
        "full_name": record.full_name,
        "birth_date": record.birth_date.isoformat(),
        "gender": record.gender,
    }
    headers = {"Authorization": f"Bearer {kyc_token(services)}"}
    assert (await http.post("/api/v1/kyc/verify", json=body, headers=headers)).status_code == 200
    other = {**body, "gender": "female" if record.gender == "male" else "male"}
    assert (await http.post("/api/v1/kyc/verify", json=other, headers=headers)).status_code == 200
    assert (await http.post("/api/v1/kyc/verify", json=body)).status_code == 401
    after = await metric_samples(http)

    def grew(name: str, **labels: str) -> float:
        return metric(after, name, **labels) - metric(before, name, **labels)

    assert grew("natid_logins_total", outcome="success", level="1") == 1
    assert grew("natid_tokens_issued_total", grant_type="authorization_code") == 1
    for result in ("match", "no_match", "unauthorized"):
        assert grew("natid_kyc_calls_total", result=result) == 1
    route = {"route": "/api/v1/kyc/verify", "method": "POST"}
    assert grew("natid_http_requests_total", status="200", **route) == 2
    assert grew("natid_http_requests_total", status="401", **route) == 1
    assert grew("natid_http_request_duration_seconds_count", status="200", **route) == 2
    # Routes are labelled by template, never by the raw path (no ids in label values).
    login_route = {"route": "/interaction/{interaction_id}/login", "method": "POST"}
    assert grew("natid_http_requests_total", status="303", **login_route) == 1
    assert not any("/interaction/" in str(labels) and "{" not in str(labels) for _, labels in after)


async def test_lockouts_are_counted(
    idp: RunningIdp, http: httpx.AsyncClient, demo: dict[int, DemoCredential]
) -> None:
    services: IdentityServices = idp.services
    async with Browser(idp.app) as browser:
        page = await browser.open(raw_request().url)
        for attempt in range(services.settings.lockout_threshold):
            page = await browser.submit(
                page,
                "login",
                personal_id_number=demo[1].personal_id_number,
                password=f"wrong {attempt}",
            )
    samples = await metric_samples(http)
    assert metric(samples, "natid_lockouts_total") == 1
    assert metric(samples, "natid_logins_total", outcome="locked", level="1") == 1
    assert metric(samples, "natid_logins_total", outcome="failure", level="1") == 4


async def test_every_response_carries_a_request_id(http: httpx.AsyncClient) -> None:
    generated = await http.get("/jwks")
    assert len(generated.headers["x-request-id"]) == 32
    kept = await http.get("/jwks", headers={"X-Request-ID": "lb-1234.abc"})
    assert kept.headers["x-request-id"] == "lb-1234.abc"
    unsafe = await http.get("/jwks", headers={"X-Request-ID": "a\\b<script>"})
    assert unsafe.headers["x-request-id"] != "a\\b<script>"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_natid_serve_logs_json_with_request_ids(tmp_path: Path, prepared: tuple[str, Path]) -> None:
    population_url, template = prepared
    identity_db = tmp_path / "identity.db"
    identity_db.write_bytes(template.read_bytes())
    port = _free_port()
    environment = {
        **{name: value for name, value in os.environ.items() if not name.startswith("NATID_")},
        "NATID_DATA_DIR": str(tmp_path),
        "NATID_ISSUER": f"http://127.0.0.1:{port}",
        "NATID_IDENTITY_DB_URL": f"sqlite:///{identity_db}",
        "NATID_POPULATION_DB_URL": population_url,
        "NATID_SECRET_KEY": TEST_SECRET,
        "NATID_KEY_PASSPHRASE": TEST_PASSPHRASE,
    }
    command = [sys.executable, "-m", "natid", "serve", "--port", str(port)]
    server = subprocess.Popen(
        command, env=environment, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                answer = httpx.get(
                    f"http://127.0.0.1:{port}/jwks?token=abc123",
                    headers={"X-Request-ID": "observability-test"},
                )
                break
            except httpx.TransportError:
                assert server.poll() is None, "natid serve exited"
                assert time.monotonic() < deadline, "natid serve did not start"
                time.sleep(0.2)
        assert answer.status_code == 200
    finally:
        server.terminate()
        _, errors = server.communicate(timeout=30)
    lines = [json.loads(line) for line in errors.splitlines() if line.startswith("{")]
    assert lines, errors[:500]
    access = [line for line in lines if line["logger"] == "natid.access"]
    assert any(line["request_id"] == "observability-test" for line in access)
    assert all("abc123" not in line["message"] for line in access)
    assert not [line for line in errors.splitlines() if line and not line.startswith("{")]
