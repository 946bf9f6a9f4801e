"""Benchmark of token issuance: ``POST /token`` (client credentials) against a bare signer.

Measures, with ``wrk`` on loopback, the IdP's token endpoint issuing ES256 access tokens
(client credentials grant, ``client_secret_basic``, audit entry committed before each
answer) and, on the same server in the same run, the two bare signers of
``scripts/bench_app.py``, which only sign the same JWT: ``POST /bench/bare-token``, a
plain FastAPI endpoint, and ``POST /bench/bare-token-direct``, the same served by a
direct route as the token endpoint is. The server is pinned to one core
(``--server-cpu``), wrk to another (``--client-cpu``); the endpoints take turns for
``--rounds`` rounds of ``--seconds`` each. For each run it reports requests/s, the server's
CPU microseconds per request (``/proc/<pid>/stat``, the figure that survives a busy
machine) and the answers that were not 200; then the medians, and the token endpoint as a
ratio of each bare one (by requests/s and by CPU per request). Prints Markdown.

Needs ``wrk`` (Debian package). A scratch data directory with a small population is made
unless ``--data-dir`` is given::

    .venv/bin/python scripts/bench_tokens.py [--seconds 10] [--rounds 3] [--connections 16]
"""

from __future__ import annotations

import argparse
import base64
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

SCRIPTS = Path(__file__).resolve().parent
sys.path.insert(0, str(SCRIPTS))

from bench_app import (  # noqa: E402
    BARE_TOKEN_PATH,
    BENCH_CLIENT_ID,
    BENCH_SCOPE,
    DIRECT_BARE_TOKEN_PATH,
)

from identity_service.config import IdentitySettings  # noqa: E402
from identity_service.db import create_identity_engine, create_identity_schema  # noqa: E402
from identity_service.oidc.client_secrets import ClientSecretHasher  # noqa: E402
from identity_service.oidc.clients import ClientRegistry  # noqa: E402
from identity_service.oidc.registration import ClientRegistration  # noqa: E402
from loadtests.processes import free_port, pinned_to, tree_cpu_seconds  # noqa: E402
from population_db.loader import seed_population  # noqa: E402

TOKEN_PATH = "/token"
BENCH_SECRET = "bench-bank-secret-not-for-production"
SMALL_POPULATION = 1000
WRK_SCRIPT = """wrk.method = "POST"
wrk.body = "grant_type=client_credentials&scope={scope}"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.headers["Authorization"] = "Basic {basic}"
"""


@dataclass(frozen=True, slots=True)
class Run:
    path: str
    requests: int
    requests_per_second: float
    cpu_us_per_request: float
    not_ok: int


def prepare(data_dir: Path) -> None:
    """A small population and the benchmark client (client credentials, kyc.verify)."""
    settings = IdentitySettings(data_dir=data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    seed_population(settings.population_database_url(), SMALL_POPULATION, 1, None)
    register_bench_client(data_dir)


def register_bench_client(data_dir: Path) -> None:
    """The benchmark client (client credentials, kyc.verify) in ``data_dir``'s IdP."""
    settings = IdentitySettings(data_dir=data_dir)
    engine = create_identity_engine(settings.identity_database_url())
    try:
        create_identity_schema(engine)
        ClientRegistry(engine, ClientSecretHasher(settings.server_secret())).upsert(
            ClientRegistration(
                client_id=BENCH_CLIENT_ID,
                name="Token benchmark back-end",
                redirect_uris=(),
                scopes=(BENCH_SCOPE,),
                grant_types=("client_credentials",),
                client_secret=BENCH_SECRET,
            )
        )
    finally:
        engine.dispose()


def start_server(data_dir: Path, port: int, cpu: int, log: Path) -> subprocess.Popen[bytes]:
    environment = {
        **os.environ,
        "NATID_DATA_DIR": str(data_dir),
        "NATID_ISSUER": f"http://127.0.0.1:{port}",
    }
    with log.open("wb") as output:
        process = subprocess.Popen(
            [sys.executable, str(SCRIPTS / "bench_app.py"), "--port", str(port)],
            env=environment,
            stdout=output,
            stderr=subprocess.STDOUT,
            preexec_fn=pinned_to(frozenset({cpu})),
        )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"the benchmark server exited: {log.read_text()[-500:]}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/jwks", timeout=1).status_code == 200:
                return process
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    process.kill()
    raise SystemExit("the benchmark server did not start within 60 s")


def run_wrk(url: str, script: Path, seconds: float, connections: int, cpu: int, pid: int) -> Run:
    before = tree_cpu_seconds(pid)
    result = subprocess.run(
        [
            "taskset",
            "-c",
            str(cpu),
            "wrk",
            "-t1",
            f"-c{connections}",
            f"-d{seconds:g}s",
            "-s",
            str(script),
            url,
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    cpu_seconds = tree_cpu_seconds(pid) - before
    text = result.stdout
    requests = int(_field(r"(\d+) requests in", text))
    not_ok = int(_field(r"Non-2xx or 3xx responses: (\d+)", text, "0"))
    errors = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text
    )
    if errors:
        not_ok += sum(int(value) for value in errors.groups())
    return Run(
        path=httpx.URL(url).path,
        requests=requests,
        requests_per_second=float(_field(r"Requests/sec:\s+([\d.]+)", text)),
        cpu_us_per_request=cpu_seconds * 1e6 / requests if requests else float("nan"),
        not_ok=not_ok,
    )


def _field(pattern: str, text: str, default: str | None = None) -> str:
    match = re.search(pattern, text)
    if match is None:
        if default is None:
            raise SystemExit(f"unexpected wrk output:\n{text}")
        return default
    return match.group(1)


def wrk_options(description: str, *, seconds: float) -> argparse.Namespace:
    """The command line of a wrk benchmark with a scratch data directory by default;
    exits if wrk is missing."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--seconds", type=float, default=seconds)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--server-cpu", type=int, default=0)
    parser.add_argument("--client-cpu", type=int, default=1)
    parser.add_argument("--data-dir", type=Path, help="default: a scratch directory")
    options = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed (apt-get install -y wrk)")
    return options


def main() -> int:
    options = wrk_options(__doc__.splitlines()[0], seconds=10.0)
    scratch = None if options.data_dir else tempfile.TemporaryDirectory(prefix="natid-bench-")
    data_dir = options.data_dir or Path(scratch.name)  # type: ignore[union-attr]
    try:
        prepare(data_dir)
        port = free_port()
        server = start_server(data_dir, port, options.server_cpu, data_dir / "bench-server.log")
        try:
            runs = measure(server.pid, port, data_dir, options)
        finally:
            server.terminate()
            server.wait(10)
    finally:
        if scratch is not None:
            scratch.cleanup()
    report(runs, options)
    return 1 if any(run.not_ok for run in runs) else 0


def measure(pid: int, port: int, data_dir: Path, options: argparse.Namespace) -> list[Run]:
    basic = base64.b64encode(f"{BENCH_CLIENT_ID}:{BENCH_SECRET}".encode()).decode()
    script = data_dir / "token.lua"
    script.write_text(WRK_SCRIPT.format(scope=BENCH_SCOPE, basic=basic), encoding="utf-8")
    base = f"http://127.0.0.1:{port}"
    endpoints = (base + TOKEN_PATH, base + BARE_TOKEN_PATH, base + DIRECT_BARE_TOKEN_PATH)
    for url in endpoints:  # warm-up: connections, caches, the audit writer's thread
        run_wrk(url, script, 2, options.connections, options.client_cpu, pid)
    runs = []
    for _ in range(options.rounds):
        for url in endpoints:
            run = run_wrk(
                url, script, options.seconds, options.connections, options.client_cpu, pid
            )
            runs.append(run)
    return runs


def print_runs(runs: list[Run], options: argparse.Namespace, note: str = "") -> None:
    """The settings and one Markdown row per wrk run."""
    print(
        f"wrk -t1 -c{options.connections} -d{options.seconds:g}s, server on CPU "
        f"{options.server_cpu}, wrk on CPU {options.client_cpu}, {options.rounds} rounds"
        f"{note}\n"
    )
    print("| endpoint | requests | requests/s | server CPU µs/request | not 200 |")
    print("|---|---:|---:|---:|---:|")
    for run in runs:
        print(
            f"| {run.path} | {run.requests:,} | {run.requests_per_second:,.0f} | "
            f"{run.cpu_us_per_request:,.0f} | {run.not_ok} |"
        )


def medians(runs: list[Run], path: str) -> tuple[float, float]:
    """The median requests/s and server CPU µs per request of the runs against ``path``."""
    chosen = [run for run in runs if run.path == path]
    return (
        statistics.median([run.requests_per_second for run in chosen]),
        statistics.median([run.cpu_us_per_request for run in chosen]),
    )


def report(runs: list[Run], options: argparse.Namespace) -> None:
    print_runs(runs, options)
    token_rps, token_cpu = medians(runs, TOKEN_PATH)
    print(
        f"\nmedians: token endpoint {token_rps:,.0f} tokens/s, {token_cpu:,.0f} µs CPU each "
        f"({1e6 / token_cpu:,.0f} tokens per CPU-second)"
    )
    for label, path in (
        ("bare FastAPI signer", BARE_TOKEN_PATH),
        ("bare signer on a direct route, as /token is", DIRECT_BARE_TOKEN_PATH),
    ):
        bare_rps, bare_cpu = medians(runs, path)
        print(
            f"{label}: {bare_rps:,.0f}/s, {bare_cpu:,.0f} µs each; ratio token / it: "
            f"{token_rps / bare_rps:.2f} by requests/s, {bare_cpu / token_cpu:.2f} by CPU"
        )


if __name__ == "__main__":
    raise SystemExit(main())
