"""Benchmark of the citizen token grants: code exchange and refresh at ``POST /token``, with wrk.

The load-test portal (``client_secret_basic``, ES256 ID tokens) redeems authorization
codes and rotates refresh tokens as fast as one server core allows:

* **code exchange**: ``grant_type=authorization_code`` with PKCE, each code once, for the
  scopes of the login flow (``openid profile``): an access token, an ID token and an
  audit entry per request. Codes are single-use and live 60 s, so before each run the
  script mints a batch (``GET /authorize`` with the SSO session of one citizen who logged
  in once with a password); wrk sends each code once and stops when the batch is spent.
* **refresh**: ``grant_type=refresh_token`` with rotation, ``openid profile
  offline_access``: each answer's new refresh token goes back into wrk's queue, so every
  request spends a live token (a spent one would revoke its family and fail). Per request:
  the rotation's database transaction, an access token, an ID token, an audit entry.

Beside them, on the same server in the same round, ``POST /bench/bare-token-direct`` (one
signature, nothing else, served as ``/token`` is) and ``POST /bench/empty`` (the HTTP stack
alone), so a slow machine shows as slow in all four. The server runs pinned to
``--server-cpu``, wrk and the minting to ``--client-cpu``; server CPU per request is read
from ``/proc``. Any answer but 200 is reported and makes the exit status 1. Prints Markdown.

Needs ``wrk`` (Debian package). A small population is seeded where there is none (the
grants do not read it), in a scratch data directory unless ``--data-dir`` is given::

    .venv/bin/python scripts/bench_code_refresh.py [--seconds 8] [--rounds 3]
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import math
import os
import sys
import tempfile
from pathlib import Path
from urllib.parse import quote, urlencode

import httpx

SCRIPTS = Path(__file__).resolve().parent
sys.path.insert(0, str(SCRIPTS))

from bench_app import (  # noqa: E402
    BENCH_CLIENT_ID,
    BENCH_SCOPE,
    DIRECT_BARE_TOKEN_PATH,
    EMPTY_PATH,
)
from bench_tokens import (  # noqa: E402
    BENCH_SECRET,
    Run,
    medians,
    prepare,
    print_runs,
    register_bench_client,
    run_wrk,
    start_server,
    wrk_options,
)
from bench_tokens import WRK_SCRIPT as CLIENT_CREDENTIALS_SCRIPT  # noqa: E402

from identity_service.config import IdentitySettings  # noqa: E402
from loadtests.browser import (  # noqa: E402
    authorization_attempt,
    code_challenge,
    form_for,
    is_redirect_to,
    path_of,
    read_callback,
)
from loadtests.config import Credential, LoadTestClient, read_accounts  # noqa: E402
from loadtests.processes import free_port  # noqa: E402
from loadtests.provisioning import PORTAL_SCOPE, REFRESH_SCOPE, provision_load_test  # noqa: E402

CODE_EXCHANGE = "/token (code exchange)"
REFRESH = "/token (refresh)"
# Codes minted per run: the expected rate times the run's length times this margin.
MINT_MARGIN = 1.4
MINTING_CONCURRENCY = 8
REFRESH_POOL_PER_CONNECTION = 4
VERIFIER = "bench-code-verifier-" + "v" * 40  # one PKCE pair for every minted code

# Each code once; stop when the batch is spent (at most one request per connection is
# still out when the last answers arrive, so stopping `connections` early spends none twice).
CODE_SCRIPT = """local codes = {{}}
for line in io.lines("{codes}") do codes[#codes + 1] = line end
local next_code, answered = 0, 0
local headers = {{
  ["Content-Type"] = "application/x-www-form-urlencoded",
  ["Authorization"] = "Basic {basic}",
}}
request = function()
  next_code = next_code + 1
  local code = codes[next_code] or codes[#codes]
  return wrk.format("POST", nil, headers,
    "grant_type=authorization_code&code=" .. code .. "&redirect_uri={redirect_uri}"
    .. "&code_verifier={verifier}")
end
response = function(status, headers, body)
  answered = answered + 1
  if answered >= #codes - {connections} then wrk.thread:stop() end
end
"""

# A queue of live refresh tokens: each answer's successor joins its tail.
REFRESH_SCRIPT = """local queue, head, tail = {{}}, 1, 0
for line in io.lines("{tokens}") do tail = tail + 1; queue[tail] = line end
local headers = {{
  ["Content-Type"] = "application/x-www-form-urlencoded",
  ["Authorization"] = "Basic {basic}",
}}
request = function()
  local token = queue[head] or "none-left"
  queue[head] = nil
  head = head + 1
  return wrk.format("POST", nil, headers, "grant_type=refresh_token&refresh_token=" .. token)
end
response = function(status, headers, body)
  local successor = string.match(body, '"refresh_token":"([^"]+)"')
  if successor then tail = tail + 1; queue[tail] = successor end
end
"""


def basic_credentials(client_id: str, secret: str) -> str:
    return base64.b64encode(f"{client_id}:{secret}".encode()).decode()


def log_in(base: str, portal: LoadTestClient, number: str, password: str) -> httpx.Client:
    """A browser that logged in once with a password and consented to ``offline_access``."""
    browser = httpx.Client(base_url=base, timeout=30)
    attempt = authorization_attempt(
        "/authorize", portal.client_id, portal.redirect_uri or "", f"{PORTAL_SCOPE} {REFRESH_SCOPE}"
    )
    location = browser.get(attempt.url).headers["location"]
    for _ in range(4):
        if is_redirect_to(location, portal.redirect_uri or ""):
            return browser
        page = browser.get(path_of(location)).text
        if (form := form_for(page, "/login")) is not None:
            fields = {**form.hidden, "personal_id_number": number, "password": password}
        elif (form := form_for(page, "/consent")) is not None:
            fields = {**form.hidden, "decision": "approve"}
        else:
            raise SystemExit("the IdP showed a page with neither a login nor a consent form")
        location = browser.post(form.action, data=fields).headers["location"]
    raise SystemExit("the login did not come back to the portal")


async def mint_codes(
    browser: httpx.Client, portal: LoadTestClient, scope: str, count: int
) -> list[str]:
    """``count`` codes from ``/authorize`` on the browser's SSO session, one PKCE pair."""
    challenge = code_challenge(VERIFIER)
    query = urlencode(
        {
            "response_type": "code",
            "client_id": portal.client_id,
            "redirect_uri": portal.redirect_uri or "",
            "scope": scope,
            "state": "bench",
            "code_challenge": challenge,
            "code_challenge_method": "S256",
        }
    )
    codes: list[str] = []
    async with httpx.AsyncClient(
        base_url=str(browser.base_url), cookies=browser.cookies, timeout=30
    ) as client:

        async def mint(share: int) -> None:
            for _ in range(share):
                answer = await client.get(f"/authorize?{query}")
                callback = read_callback(answer.headers.get("location", ""))
                if callback.code is None:
                    raise SystemExit(f"/authorize gave no code ({answer.status_code})")
                codes.append(callback.code)

        shares = [count // MINTING_CONCURRENCY] * MINTING_CONCURRENCY
        shares[0] += count - sum(shares)
        await asyncio.gather(*(mint(share) for share in shares))
    return codes


def first_refresh_tokens(
    base: str, browser: httpx.Client, portal: LoadTestClient, count: int
) -> list[str]:
    """``count`` live refresh tokens, one code exchange each."""
    codes = asyncio.run(mint_codes(browser, portal, f"{PORTAL_SCOPE} {REFRESH_SCOPE}", count))
    tokens = []
    for code in codes:
        answer = httpx.post(
            f"{base}/token",
            data={
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": portal.redirect_uri or "",
                "code_verifier": VERIFIER,
            },
            auth=(portal.client_id, portal.client_secret),
            timeout=30,
        )
        answer.raise_for_status()
        tokens.append(answer.json()["refresh_token"])
    return tokens


def main() -> int:
    options = wrk_options(__doc__.splitlines()[0], seconds=8.0)
    os.sched_setaffinity(0, {options.client_cpu})  # the minting runs beside wrk
    scratch = None if options.data_dir else tempfile.TemporaryDirectory(prefix="natid-bench-")
    data_dir = options.data_dir or Path(scratch.name)  # type: ignore[union-attr]
    try:
        if (data_dir / "population.db").exists():
            register_bench_client(data_dir)
        else:
            prepare(data_dir)
        provisioned = provision_load_test(
            IdentitySettings(data_dir=data_dir), data_dir / "loadtest", 1
        )
        portal = provisioned.clients.portal
        account = read_accounts(data_dir / "loadtest" / "accounts.json")[0]
        port = free_port()
        server = start_server(data_dir, port, options.server_cpu, data_dir / "bench-server.log")
        try:
            runs = measure(server.pid, port, data_dir, portal, account, options)
        finally:
            server.terminate()
            server.wait(10)
    finally:
        if scratch is not None:
            scratch.cleanup()
    report(runs, options)
    return 1 if any(run.not_ok for run in runs) else 0


def measure(
    pid: int,
    port: int,
    data_dir: Path,
    portal: LoadTestClient,
    account: Credential,
    options: argparse.Namespace,
) -> list[Run]:
    base = f"http://127.0.0.1:{port}"
    browser = log_in(base, portal, account.personal_id_number, account.password)
    basic = basic_credentials(portal.client_id, portal.client_secret)
    codes_file = data_dir / "codes.txt"
    code_script = data_dir / "code-exchange.lua"
    code_script.write_text(
        CODE_SCRIPT.format(
            codes=codes_file,
            basic=basic,
            redirect_uri=quote(portal.redirect_uri or "", safe=""),
            verifier=VERIFIER,
            connections=options.connections,
        ),
        encoding="utf-8",
    )
    tokens_file = data_dir / "refresh-tokens.txt"
    refresh_script = data_dir / "refresh.lua"
    refresh_script.write_text(
        REFRESH_SCRIPT.format(tokens=tokens_file, basic=basic), encoding="utf-8"
    )
    bench_script = data_dir / "bench-token.lua"
    bench_script.write_text(
        CLIENT_CREDENTIALS_SCRIPT.format(
            scope=BENCH_SCOPE, basic=basic_credentials(BENCH_CLIENT_ID, BENCH_SECRET)
        ),
        encoding="utf-8",
    )
    pool = REFRESH_POOL_PER_CONNECTION * options.connections
    rate = 1000.0  # code exchanges per second, until a run says otherwise

    def exchange_codes(seconds: float) -> Run:
        nonlocal rate
        count = math.ceil(rate * seconds * MINT_MARGIN) + options.connections
        codes = asyncio.run(mint_codes(browser, portal, PORTAL_SCOPE, count))
        codes_file.write_text("\n".join(codes) + "\n", encoding="ascii")
        run = run_wrk(
            base + "/token", code_script, seconds, options.connections, options.client_cpu, pid
        )
        rate = max(rate, run.requests_per_second)
        return Run(
            CODE_EXCHANGE, run.requests, run.requests_per_second, run.cpu_us_per_request, run.not_ok
        )

    def refresh(seconds: float) -> Run:
        tokens = first_refresh_tokens(base, browser, portal, pool)
        tokens_file.write_text("\n".join(tokens) + "\n", encoding="ascii")
        run = run_wrk(
            base + "/token", refresh_script, seconds, options.connections, options.client_cpu, pid
        )
        return Run(
            REFRESH, run.requests, run.requests_per_second, run.cpu_us_per_request, run.not_ok
        )

    def other(path: str, seconds: float) -> Run:
        return run_wrk(
            base + path, bench_script, seconds, options.connections, options.client_cpu, pid
        )

    # Warm-up: connections, caches, the audit writer's thread, a first rate for the minting.
    exchange_codes(2)
    refresh(2)
    other(DIRECT_BARE_TOKEN_PATH, 2)
    other(EMPTY_PATH, 2)
    runs = []
    for _ in range(options.rounds):
        runs.append(exchange_codes(options.seconds))
        runs.append(refresh(options.seconds))
        runs.append(other(DIRECT_BARE_TOKEN_PATH, options.seconds))
        runs.append(other(EMPTY_PATH, options.seconds))
    return runs


def report(runs: list[Run], options: argparse.Namespace) -> None:
    print_runs(runs, options)
    _, bare_cpu = medians(runs, DIRECT_BARE_TOKEN_PATH)
    _, empty_cpu = medians(runs, EMPTY_PATH)
    print()
    for label, path in (("code exchange", CODE_EXCHANGE), ("refresh", REFRESH)):
        rps, cpu = medians(runs, path)
        print(
            f"medians: {label} {rps:,.0f}/s, {cpu:,.0f} µs CPU each "
            f"({1e6 / cpu:,.0f} per CPU-second); {cpu - empty_cpu:,.0f} µs beyond the HTTP "
            f"stack, {cpu / bare_cpu:.2f} × the bare one-signature endpoint"
        )
    print(f"the bare signer {bare_cpu:,.0f} µs, the empty endpoint {empty_cpu:,.0f} µs")


if __name__ == "__main__":
    raise SystemExit(main())
