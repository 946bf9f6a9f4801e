"""Benchmark of e-KYC checks: ``POST /api/v1/kyc/verify`` with ``wrk``, saturating one core.

Locust on the other core cannot send the 2,000 checks a second the target asks for, and a
server that is not saturated pays an event-loop wake-up per request, which inflates its
CPU per check. ``wrk`` does saturate it. The server (``scripts/bench_app.py``: the IdP as
``natid serve`` runs it, plus ``POST /bench/empty``, which only answers ``{"ok": true}``)
is pinned to ``--server-cpu``, wrk to ``--client-cpu``; the checks cycle through the
citizens of ``kyc_subjects.json`` (one in ten with a wrong birth date, a no-match), each
with a bearer token from the client credentials grant. The empty endpoint takes turns
with the check for ``--rounds`` rounds of ``--seconds``, so the report says what the
check costs beyond the HTTP stack in the same run. Every check is audited and signed.

The data directory must hold a population (``natid population seed``); the load-test
files are made as ``natid loadtest`` makes them unless they are there::

    .venv/bin/python scripts/bench_kyc.py --data-dir /tmp/lt1m [--seconds 8] [--rounds 3]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import shutil
import sys
from pathlib import Path

import httpx

SCRIPTS = Path(__file__).resolve().parent
sys.path.insert(0, str(SCRIPTS))

from bench_app import BENCH_CLIENT_ID, BENCH_SCOPE, EMPTY_PATH  # noqa: E402
from bench_tokens import (  # noqa: E402
    BENCH_SECRET,
    Run,
    medians,
    print_runs,
    register_bench_client,
    run_wrk,
    start_server,
)

from identity_service.config import IdentitySettings  # noqa: E402
from loadtests.processes import free_port  # noqa: E402
from loadtests.provisioning import provision_load_test  # noqa: E402

KYC_VERIFY_PATH = "/api/v1/kyc/verify"
MISMATCH_EVERY = 10
# Citizens the checks cycle through when the data directory has no load-test files yet.
SUBJECTS = 500
WRK_SCRIPT = """bodies = {{{bodies}}}
counter = 0
request = function()
  counter = counter + 1
  local body = bodies[(counter % #bodies) + 1]
  return wrk.format("POST", nil, {{
    ["Content-Type"] = "application/json",
    ["Authorization"] = "Bearer {token}",
  }}, body)
end
"""


def lua_bodies(subjects: list[dict[str, str]]) -> str:
    bodies = []
    for index, subject in enumerate(subjects):
        body = dict(subject)
        if index % MISMATCH_EVERY == MISMATCH_EVERY - 1:
            born = dt.date.fromisoformat(body["birth_date"]) + dt.timedelta(days=1)
            body["birth_date"] = born.isoformat()
        # A Lua long string: the JSON needs no escaping inside [[ ]].
        bodies.append("[[" + json.dumps(body, ensure_ascii=False) + "]]")
    return ",".join(bodies)


def machine_token(base: str) -> str:
    answer = httpx.post(
        f"{base}/token",
        data={"grant_type": "client_credentials", "scope": BENCH_SCOPE},
        auth=(BENCH_CLIENT_ID, BENCH_SECRET),
        timeout=10,
    )
    answer.raise_for_status()
    return str(answer.json()["access_token"])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--server-cpu", type=int, default=0)
    parser.add_argument("--client-cpu", type=int, default=1)
    options = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed (apt-get install -y wrk)")
    subjects_file = options.data_dir / "loadtest" / "kyc_subjects.json"
    if not subjects_file.exists():  # what `natid loadtest` writes: the same, made here
        provision_load_test(
            IdentitySettings(data_dir=options.data_dir), subjects_file.parent, SUBJECTS
        )
    subjects = json.loads(subjects_file.read_text(encoding="utf-8"))
    register_bench_client(options.data_dir)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    log = options.data_dir / "bench-kyc-server.log"
    server = start_server(options.data_dir, port, options.server_cpu, log)
    try:
        script = options.data_dir / "kyc.lua"
        script.write_text(
            WRK_SCRIPT.format(bodies=lua_bodies(subjects), token=machine_token(base)),
            encoding="utf-8",
        )
        endpoints = (base + KYC_VERIFY_PATH, base + EMPTY_PATH)
        for url in endpoints:  # warm-up: connections, caches, the population's pages
            run_wrk(url, script, 2, options.connections, options.client_cpu, server.pid)
        runs: list[Run] = []
        for _ in range(options.rounds):
            for url in endpoints:
                runs.append(
                    run_wrk(
                        url,
                        script,
                        options.seconds,
                        options.connections,
                        options.client_cpu,
                        server.pid,
                    )
                )
    finally:
        server.terminate()
        server.wait(10)
    report(runs, options, len(subjects))
    return 1 if any(run.not_ok for run in runs) else 0


def report(runs: list[Run], options: argparse.Namespace, subjects: int) -> None:
    print_runs(runs, options, f", {subjects} citizens cycled")
    check_rps, check_cpu = medians(runs, KYC_VERIFY_PATH)
    _, empty_cpu = medians(runs, EMPTY_PATH)
    print(
        f"\nmedians: e-KYC {check_rps:,.0f} checks/s, {check_cpu:,.0f} µs CPU each "
        f"({1e6 / check_cpu:,.0f} checks per CPU-second); the empty endpoint "
        f"{empty_cpu:,.0f} µs each, so {check_cpu - empty_cpu:,.0f} µs of a check is "
        "beyond the HTTP stack"
    )


if __name__ == "__main__":
    raise SystemExit(main())
