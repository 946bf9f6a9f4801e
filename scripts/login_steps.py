"""What a citizen login costs the server, step by step, without a network or a load
generator: login flows driven through the app's ASGI interface in this process.

Each flow is the load test's (authorize → login page → password → consent when asked →
code → token → userinfo), with the accounts and portal of a data directory that ``natid
loadtest`` has provisioned. Reported: the main thread's CPU per flow and per step (the
event loop's work: argon2id runs on its own threads, the audit appends on the loop).

With ``--count-instructions`` the script runs itself under ``valgrind --tool=callgrind``
and counts the instructions of the measured flows only (the start-up and warm-up flows
are not counted): the same figure within about 1 % from run to run, whatever else the
machine is doing, where its CPU time moves by tens of per cent. For comparing two trees
on a noisy machine. The server hashes at the parameters of the accounts' hashes (so that
no login rehashes): provision the data directory with cheap ones
(``NATID_ARGON2_MEMORY_KIB=256 NATID_ARGON2_TIME_COST=1 natid loadtest ...``) to count the
code rather than the hash.

    NATID_DATA_DIR=DIR NATID_ARGON2_MEMORY_KIB=256 NATID_ARGON2_TIME_COST=1 \\
        .venv/bin/natid loadtest --duration 5 --users 1 --tags login --output /tmp/r
    .venv/bin/python scripts/login_steps.py --data-dir DIR --flows 300
    .venv/bin/python scripts/login_steps.py --data-dir DIR --flows 60 --count-instructions

The access lines are formatted as ``natid serve`` writes them, to ``/dev/null``. The
first login of each account asks for consent (two steps more): on a freshly provisioned
directory, run once before measuring, or compare runs in the same state.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

import argon2

from loadtests.browser import authorization_attempt, form_for, path_of, read_callback

ISSUER = "http://127.0.0.1:9999"
FORM = ("content-type", "application/x-www-form-urlencoded")
# Where the script under valgrind and the one driving it meet (--markers).
READY, GO, DONE, STOP = "ready", "go", "done", "stop"


class InProcessBrowser:
    """Raw ASGI requests to ``app``, with a cookie jar; CPU time per named step."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.cpu: defaultdict[str, float] = defaultdict(float)

    async def request(
        self,
        step: str,
        method: str,
        url: str,
        *,
        headers: tuple[tuple[str, str], ...] = (),
        body: bytes = b"",
        cookies: dict[str, str] | None = None,
    ) -> tuple[int, dict[str, str], bytes]:
        parts = urlsplit(url)
        raw = [(b"host", b"127.0.0.1:9999"), (b"user-agent", b"login-steps")]
        raw += [(name.encode(), value.encode()) for name, value in headers]
        if cookies:
            jar = "; ".join(f"{name}={value}" for name, value in cookies.items())
            raw.append((b"cookie", jar.encode()))
        if body:
            raw.append((b"content-length", str(len(body)).encode()))
        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": method,
            "scheme": "http",
            "path": parts.path,
            "raw_path": parts.path.encode(),
            "query_string": parts.query.encode(),
            "root_path": "",
            "headers": raw,
            "client": ("127.0.0.1", 50000),
            "server": ("127.0.0.1", 9999),
            "state": {},
        }
        delivered = False

        async def receive() -> dict[str, Any]:
            nonlocal delivered
            if not delivered:
                delivered = True
                return {"type": "http.request", "body": body, "more_body": False}
            await asyncio.Event().wait()  # the client never goes away
            raise AssertionError("unreachable")

        status = 0
        answer_headers: list[tuple[bytes, bytes]] = []
        content = bytearray()

        async def send(message: dict[str, Any]) -> None:
            nonlocal status, answer_headers
            if message["type"] == "http.response.start":
                status, answer_headers = message["status"], list(message.get("headers", []))
            elif message["type"] == "http.response.body":
                content.extend(message.get("body", b""))

        started = time.thread_time()
        await self.app(scope, receive, send)
        self.cpu[step] += time.thread_time() - started
        named: dict[str, str] = {}
        for name, value in answer_headers:
            named[name.decode().lower()] = value.decode()
            if cookies is not None and name.lower() == b"set-cookie":
                cookie, _, rest = value.decode().partition("=")
                cookies[cookie] = rest.split(";")[0]
        return status, named, bytes(content)


async def log_in(
    browser: InProcessBrowser, portal: dict[str, str], account: dict[str, str]
) -> None:
    """One login flow, each answer checked; raises ``AssertionError`` on a wrong one."""
    jar: dict[str, str] = {}
    redirect_uri = portal["redirect_uri"]
    attempt = authorization_attempt(
        "/authorize", portal["client_id"], redirect_uri, portal["scope"]
    )
    status, headers, _ = await browser.request("authorize", "GET", attempt.url, cookies=jar)
    assert status == 303, f"authorize answered {status}"
    location = headers["location"]
    step, fields = (
        "login page",
        {
            "personal_id_number": account["personal_id_number"],
            "password": account["password"],
        },
    )
    while not location.startswith(redirect_uri):
        status, _, page = await browser.request(step, "GET", path_of(location), cookies=jar)
        assert status == 200, f"{step} answered {status}"
        text = page.decode()
        form = form_for(text, "/login") or form_for(text, "/consent")
        assert form is not None, f"{step}: neither a login nor a consent form"
        posted = {**form.hidden, **fields}
        submit = "submit password" if form.action.endswith("/login") else "submit consent"
        status, headers, _ = await browser.request(
            submit,
            "POST",
            form.action,
            headers=(FORM,),
            body=urlencode(posted).encode(),
            cookies=jar,
        )
        assert status == 303, f"{submit} answered {status}"
        location = headers["location"]
        step, fields = "consent page", {"decision": "approve"}
    callback = read_callback(location)
    assert callback.code is not None and callback.state == attempt.state
    secret = f"{portal['client_id']}:{portal['client_secret']}".encode()
    basic = ("authorization", "Basic " + base64.b64encode(secret).decode())
    exchange = {
        "grant_type": "authorization_code",
        "code": callback.code,
        "redirect_uri": redirect_uri,
        "code_verifier": attempt.code_verifier,
    }
    status, _, body = await browser.request(
        "token", "POST", "/token", headers=(FORM, basic), body=urlencode(exchange).encode()
    )
    assert status == 200, f"token answered {status}"
    bearer = ("authorization", f"Bearer {json.loads(body)['access_token']}")
    status, _, _ = await browser.request("userinfo", "GET", "/userinfo", headers=(bearer,))
    assert status == 200, f"userinfo answered {status}"


async def measure(data_dir: Path, flows: int, warm_up: int, markers: Path | None) -> None:
    from identity_service.app import app_from_environment
    from identity_service.json_logging import configure_json_logging

    configure_json_logging(stream=open(os.devnull, "w"))  # noqa: SIM115 (for the process)
    portal = json.loads((data_dir / "loadtest" / "clients.json").read_text())["portal"]
    accounts = json.loads((data_dir / "loadtest" / "accounts.json").read_text())
    app = app_from_environment()
    browser = InProcessBrowser(app)
    async with app.router.lifespan_context(app):
        for number in range(warm_up):
            await log_in(browser, portal, accounts[number % len(accounts)])
        browser.cpu.clear()
        if markers is not None:
            await _handshake(markers, READY, GO)
        started = time.thread_time()
        for number in range(warm_up, warm_up + flows):
            await log_in(browser, portal, accounts[number % len(accounts)])
        total = time.thread_time() - started
        if markers is not None:
            await _handshake(markers, DONE, STOP)
    print(f"{flows} flows: main thread {1000 * total / flows:.3f} ms CPU per flow")
    for step, seconds in browser.cpu.items():
        print(f"  {step:16} {1e6 * seconds / flows:8.0f} µs")


async def _handshake(markers: Path, mine: str, theirs: str) -> None:
    (markers / mine).touch()
    while not (markers / theirs).exists():
        await asyncio.sleep(0.05)


def count_instructions(arguments: argparse.Namespace) -> None:
    """Run this script under callgrind, counting only the measured flows."""
    with tempfile.TemporaryDirectory(prefix="login-steps-") as directory:
        markers = Path(directory)
        output = markers / "callgrind.out"
        command = [
            "valgrind",
            "--tool=callgrind",
            "--instr-atstart=no",
            f"--callgrind-out-file={output}",
            sys.executable,
            __file__,
            "--data-dir", str(arguments.data_dir),
            "--flows", str(arguments.flows),
            "--warm-up", str(arguments.warm_up),
            "--markers", str(markers),
        ]  # fmt: skip
        measured = subprocess.Popen(command, stderr=subprocess.DEVNULL)
        for mine, switch in ((READY, "on"), (DONE, "off")):
            while not (markers / mine).exists():
                if measured.poll() is not None:
                    raise SystemExit(f"the measured run ended early ({measured.returncode})")
                time.sleep(0.2)
            subprocess.run(
                ["callgrind_control", "-i", switch, str(measured.pid)],
                check=True,
                stdout=subprocess.DEVNULL,
            )
            (markers / (GO if mine == READY else STOP)).touch()
        measured.wait()
        totals = [
            int(line.split()[1])
            for line in output.read_text().splitlines()
            if line.startswith(("summary:", "totals:"))
        ]
    instructions = max(totals)
    print(f"{instructions / arguments.flows / 1e6:.3f} million instructions per flow")


def hashing_settings(data_dir: Path) -> dict[str, str]:
    """The server's argon2id settings matching the load-test accounts' hashes: with any
    other parameters every login would rehash the password, a second argon2id."""
    with sqlite3.connect(data_dir / "identity.db") as database:
        row = database.execute(
            "SELECT password_hash FROM account WHERE load_test LIMIT 1"
        ).fetchone()
    if row is None:
        raise SystemExit(f"{data_dir} has no load-test accounts: run natid loadtest on it first")
    parameters = argon2.extract_parameters(row[0])
    return {
        "NATID_ARGON2_MEMORY_KIB": str(parameters.memory_cost),
        "NATID_ARGON2_TIME_COST": str(parameters.time_cost),
        "NATID_ARGON2_PARALLELISM": str(parameters.parallelism),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--flows", type=int, default=300)
    parser.add_argument("--warm-up", type=int, default=100)
    parser.add_argument("--count-instructions", action="store_true")
    parser.add_argument("--markers", type=Path, help=argparse.SUPPRESS)
    arguments = parser.parse_args()
    os.environ.update(
        {
            "NATID_DATA_DIR": str(arguments.data_dir),
            "NATID_ISSUER": ISSUER,
            "NATID_IP_ATTEMPTS_PER_MINUTE": "1000000000",  # every flow comes from one IP
            **hashing_settings(arguments.data_dir),
        }
    )
    if arguments.count_instructions:
        count_instructions(arguments)
        return
    asyncio.run(measure(arguments.data_dir, arguments.flows, arguments.warm_up, arguments.markers))


if __name__ == "__main__":
    main()
