"""The load-test report: Locust's CSV statistics turned into ``summary.json`` and
``summary.md``, with the server's CPU seconds per operation.

Three kinds of rows come out of Locust (see ``loadtests.scenarios.common``): HTTP *steps*
(one per request name), *flows* (one whole login, e-KYC check, ...) and *portal-side*
work (ID-token verification in the portal). Requests per second and percentiles are
Locust's (its percentiles are rounded: to 10 ms above 100 ms, to 100 ms above 1 s).

Server CPU per operation is the server processes' CPU time during the run divided by
the operations completed: per successful flow and per successful HTTP request. Unlike
requests/s it does not move when the machine is shared with other work. When the run
measured password logins only, it is also set against one argon2id verify at the
server's parameters: the part of a login that is not the password hash is overhead.

Memory is the resident size of each server process (``loadtests.memory``): at the start,
at its peak, at the end, and its growth over the run.
"""

from __future__ import annotations

import csv
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from identity_service.accounts.passwords import HASHING_THREAD_NAME
from identity_service.audit_writer import WRITER_THREAD_NAME
from loadtests.memory import MemoryUsage
from loadtests.processes import MAIN_THREAD

FLOW_TYPE = "flow"
LOCAL_TYPE = "portal-side"
PERCENTILES = ("50%", "95%", "99%")
LOGIN_FLOW = "citizen login"
# Flows a simulated user runs once before its measured flows (a login to get a session or a
# refresh token); their server CPU is included in the totals, amortised over the run.
SETUP_PREFIX = "setup:"


#: ``Summary.server_threads``' label for the CPU of threads and processes that ended
#: during the run (a thread's CPU can only be read while it lives).
ENDED_THREADS = "ended during the run"
# How the report names the labels it knows.
THREAD_DESCRIPTIONS = {
    MAIN_THREAD: f"{MAIN_THREAD} (event loop)",
    HASHING_THREAD_NAME: f"{HASHING_THREAD_NAME} (password hashing)",
    WRITER_THREAD_NAME: f"{WRITER_THREAD_NAME} (audit log writer)",
}


@dataclass(frozen=True, slots=True)
class Row:
    """One line of Locust's ``_stats.csv``."""

    kind: str  # "step", "flow" or "portal-side"
    method: str
    name: str
    requests: int
    failures: int
    requests_per_second: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    max_ms: float


@dataclass(frozen=True, slots=True)
class CpuUsage:
    server_seconds: float
    load_generator_seconds: float
    wall_seconds: float


@dataclass(frozen=True)
class ServerHashing:
    """The argon2id work the server counted during the load (its ``/metrics``)."""

    hashes: int
    cpu_seconds: float

    @property
    def ms_per_hash(self) -> float | None:
        return self.cpu_seconds * 1000 / self.hashes if self.hashes else None


@dataclass
class Summary:
    settings: dict[str, Any]
    steps: list[Row]
    flows: list[Row]
    portal_side: list[Row]
    failures: list[dict[str, Any]]
    cpu: CpuUsage
    argon2_verify_ms: float | None = None
    threshold_misses: list[str] = field(default_factory=list)
    memory: MemoryUsage | None = None
    server_hashing: ServerHashing | None = None
    # CPU seconds per server thread label (``processes.thread_cpu_seconds``), with what
    # threads and processes that ended during the run used under ENDED_THREADS.
    server_threads: dict[str, float] = field(default_factory=dict)

    @property
    def total_failures(self) -> int:
        return sum(row.failures for row in (*self.steps, *self.flows, *self.portal_side))

    @property
    def successful_requests(self) -> int:
        return sum(row.requests - row.failures for row in self.steps)

    @property
    def successful_flows(self) -> int:
        return sum(row.requests - row.failures for row in self.flows)

    @property
    def measured_flow(self) -> Row | None:
        """The one kind of flow the run measured (setup flows aside), if there was one."""
        measured = [row for row in self.flows if not row.name.startswith(SETUP_PREFIX)]
        return measured[0] if len(measured) == 1 else None

    def cpu_per_operation(self) -> dict[str, Any]:
        """Server CPU milliseconds per successful flow and request; per operation of the
        measured flow when the run had one kind (setup flows included in the CPU); per
        login set against one argon2id verify when that kind was the password login."""
        cpu_ms = self.cpu.server_seconds * 1000
        per_flow = cpu_ms / self.successful_flows if self.successful_flows else None
        per_request = cpu_ms / self.successful_requests if self.successful_requests else None
        measured = self.measured_flow
        succeeded = measured.requests - measured.failures if measured is not None else 0
        per_measured = cpu_ms / succeeded if succeeded else None
        only_logins = measured is not None and measured.name == LOGIN_FLOW
        per_login = per_measured if only_logins else None
        # The yardstick: one verify as the server itself ran it during the load, when it
        # counted them; else the runner's own measurement on the same CPUs.
        in_server = self.server_hashing.ms_per_hash if self.server_hashing else None
        yardstick = in_server or self.argon2_verify_ms
        ratio = per_login / yardstick if per_login is not None and yardstick else None
        outside_argon2 = None
        if per_login is not None and self.server_hashing and in_server is not None:
            hashes_per_login = self.server_hashing.hashes / succeeded
            outside_argon2 = per_login - hashes_per_login * in_server
        return {
            "server_cpu_ms_per_flow": per_flow,
            "server_cpu_ms_per_request": per_request,
            "measured_flow": None if measured is None else measured.name,
            "server_cpu_ms_per_measured_flow": per_measured,
            "server_cpu_ms_per_login": per_login,
            "argon2id_verify_ms_in_server": in_server,
            "server_cpu_ms_per_login_outside_argon2": outside_argon2,
            "login_cpu_vs_argon2_verify": ratio,
        }

    def as_json(self) -> dict[str, Any]:
        return {
            "settings": self.settings,
            "passed": self.passed,
            "total_failures": self.total_failures,
            "threshold_misses": self.threshold_misses,
            "successful_flows": self.successful_flows,
            "successful_requests": self.successful_requests,
            "cpu": asdict(self.cpu),
            "argon2id_verify_ms": self.argon2_verify_ms,
            "server_hashing": None if self.server_hashing is None else asdict(self.server_hashing),
            "server_threads": self.server_threads,
            **self.cpu_per_operation(),
            "flows": [asdict(row) for row in self.flows],
            "steps": [asdict(row) for row in self.steps],
            "portal_side": [asdict(row) for row in self.portal_side],
            "failures": self.failures,
            "memory": None if self.memory is None else self.memory.as_json(),
        }

    @property
    def passed(self) -> bool:
        return self.total_failures == 0 and not self.threshold_misses


def read_stats(path: Path) -> tuple[list[Row], list[Row], list[Row]]:
    """Steps, flows and portal-side rows of a ``_stats.csv`` (the aggregate row left out)."""
    steps: list[Row] = []
    flows: list[Row] = []
    local: list[Row] = []
    with path.open(encoding="utf-8", newline="") as handle:
        for line in csv.DictReader(handle):
            if line["Name"] == "Aggregated" and not line["Type"]:
                continue
            kind = {FLOW_TYPE: "flow", LOCAL_TYPE: "portal-side"}.get(line["Type"], "step")
            row = Row(
                kind=kind,
                method="" if kind != "step" else line["Type"],
                name=line["Name"],
                requests=int(line["Request Count"]),
                failures=int(line["Failure Count"]),
                requests_per_second=float(line["Requests/s"]),
                p50_ms=_number(line["50%"]),
                p95_ms=_number(line["95%"]),
                p99_ms=_number(line["99%"]),
                max_ms=_number(line["Max Response Time"]),
            )
            {"step": steps, "flow": flows, "portal-side": local}[kind].append(row)
    return steps, flows, local


def read_failures(path: Path) -> list[dict[str, Any]]:
    """Locust's ``_failures.csv``: what failed, how often (messages carry no secrets)."""
    if not path.exists():
        return []
    with path.open(encoding="utf-8", newline="") as handle:
        return [
            {
                "method": line["Method"],
                "name": line["Name"],
                "error": line["Error"],
                "occurrences": int(line["Occurrences"]),
            }
            for line in csv.DictReader(handle)
        ]


def build_summary(
    csv_prefix: Path,
    *,
    settings: dict[str, Any],
    cpu: CpuUsage,
    argon2_verify_ms: float | None,
    fail_p95_ms: float | None,
    memory: MemoryUsage | None = None,
    server_hashing: ServerHashing | None = None,
    server_threads: dict[str, float] | None = None,
) -> Summary:
    steps, flows, local = read_stats(Path(f"{csv_prefix}_stats.csv"))
    summary = Summary(
        settings=settings,
        steps=steps,
        flows=flows,
        portal_side=local,
        failures=read_failures(Path(f"{csv_prefix}_failures.csv")),
        cpu=cpu,
        argon2_verify_ms=argon2_verify_ms,
        memory=memory,
        server_hashing=server_hashing,
        server_threads=dict(server_threads or {}),
    )
    if fail_p95_ms is not None:
        summary.threshold_misses = [
            f"{row.method} {row.name}: p95 {row.p95_ms:g} ms > {fail_p95_ms:g} ms"
            for row in steps
            if row.p95_ms > fail_p95_ms
        ]
    if not steps:
        summary.threshold_misses.append("no request was made")
    return summary


def write_summary(summary: Summary, directory: Path) -> tuple[Path, Path]:
    json_path = directory / "summary.json"
    markdown_path = directory / "summary.md"
    json_path.write_text(json.dumps(summary.as_json(), indent=2) + "\n", encoding="utf-8")
    markdown_path.write_text(render_markdown(summary), encoding="utf-8")
    return json_path, markdown_path


def render_markdown(summary: Summary) -> str:
    settings = summary.settings
    per_operation = summary.cpu_per_operation()
    lines = [
        "# natid load test",
        "",
        f"**{'PASSED' if summary.passed else 'FAILED'}** — "
        f"{summary.successful_flows:,} flows and {summary.successful_requests:,} requests "
        f"completed, {summary.total_failures:,} failures.",
        "",
        " · ".join(f"{name}: {value}" for name, value in settings.items()),
        "",
        "## Server CPU per operation",
        "",
        f"- server CPU: {summary.cpu.server_seconds:.2f} s over {summary.cpu.wall_seconds:.1f} s "
        f"(load generator: {summary.cpu.load_generator_seconds:.2f} s)",
        f"- per flow: {_ms(per_operation['server_cpu_ms_per_flow'])}",
        f"- per HTTP request: {_ms(per_operation['server_cpu_ms_per_request'])}",
    ]
    if per_operation["measured_flow"] is not None:
        lines.append(
            f"- per {per_operation['measured_flow']}: "
            f"{_ms(per_operation['server_cpu_ms_per_measured_flow'])}"
        )
    if summary.argon2_verify_ms is not None:
        lines.append(
            f"- one argon2id verify at the server's parameters (measured by the runner before "
            f"and after the load): {_ms(summary.argon2_verify_ms)}"
        )
    hashing = summary.server_hashing
    if hashing is not None and hashing.ms_per_hash is not None:
        lines.append(
            f"- argon2id in the server during the load: {hashing.hashes:,} hashes and "
            f"verifies, {_ms(hashing.ms_per_hash)} each"
        )
    if per_operation["server_cpu_ms_per_login_outside_argon2"] is not None:
        lines.append(
            "- per login outside argon2id: "
            f"{_ms(per_operation['server_cpu_ms_per_login_outside_argon2'])}"
        )
    if per_operation["login_cpu_vs_argon2_verify"] is not None:
        ratio = per_operation["login_cpu_vs_argon2_verify"]
        lines.append(f"- login / argon2id verify: **{ratio:.2f} ×**")
    if summary.server_threads:
        lines += ["", "## Server CPU by thread", "", *_thread_table(summary)]
    if summary.memory is not None and summary.memory.processes:
        lines += ["", "## Server memory (resident)", ""]
        lines += [
            "| process | start MiB | peak MiB | end MiB | growth MiB | samples |",
            "|---|---:|---:|---:|---:|---:|",
        ]
        lines += [
            f"| {process.pid} | {process.start_mib:.1f} | {process.peak_mib:.1f} | "
            f"{process.end_mib:.1f} | {process.growth_mib:+.1f} | {process.samples} |"
            for process in summary.memory.processes
        ]
        lines.append(
            f"\nSampled every {summary.memory.interval_seconds:g} s; growth is the mean of the "
            "last tenth of the run minus that of the first."
        )
    lines += [
        "",
        "## Flows",
        "",
        *_table(summary.flows),
        "",
        "## Steps",
        "",
        *_table(summary.steps),
    ]
    if summary.portal_side:
        lines += ["", "## Portal side", "", *_table(summary.portal_side)]
    if summary.threshold_misses:
        lines += ["", "## Thresholds missed", ""]
        lines += [f"- {miss}" for miss in summary.threshold_misses]
    if summary.failures:
        lines += ["", "## Failures", "", "| step | error | count |", "|---|---|---:|"]
        lines += [
            f"| {f['method']} {f['name']} | {_cell(f['error'])} | {f['occurrences']} |"
            for f in summary.failures
        ]
    return "\n".join(lines) + "\n"


def _thread_table(summary: Summary) -> list[str]:
    total = sum(summary.server_threads.values())
    flows = summary.successful_flows
    lines = ["| thread | CPU s | share | ms per flow |", "|---|---:|---:|---:|"]
    for label, seconds in sorted(summary.server_threads.items(), key=lambda item: -item[1]):
        share = f"{seconds / total:.0%}" if total > 0 else "–"
        per_flow = f"{seconds * 1000 / flows:.2f}" if flows else "–"
        name = THREAD_DESCRIPTIONS.get(label, label)
        lines.append(f"| {_cell(name)} | {seconds:.2f} | {share} | {per_flow} |")
    return lines


def _table(rows: list[Row]) -> list[str]:
    header = [
        "| name | count | failures | req/s | p50 ms | p95 ms | p99 ms | max ms |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    return header + [
        f"| {(row.method + ' ') if row.method else ''}{row.name} | {row.requests:,} | "
        f"{row.failures:,} | {row.requests_per_second:.1f} | {row.p50_ms:g} | "
        f"{row.p95_ms:g} | {row.p99_ms:g} | {row.max_ms:.0f} |"
        for row in rows
    ]


def _ms(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f} ms"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")[:200]


def _number(text: str) -> float:
    try:
        return float(text)
    except ValueError:  # Locust writes "N/A" for a row without responses
        return 0.0
