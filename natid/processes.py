"""Running the demo's services as child processes: start, wait until ready, stop together.

The IdP and each portal run as ``python -m natid …`` children, so one Ctrl-C (or the
death of any one of them) stops them all, and a port that is already taken is reported
before anything starts.
"""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field

import httpx


class LaunchError(RuntimeError):
    """A service could not be started; the message says which and why."""


@dataclass
class Service:
    name: str
    port: int
    arguments: list[str]
    ready_url: str
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)


def port_is_free(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            return False
    return True


def start_all(services: list[Service], host: str, timeout: float = 30.0) -> None:
    """Start every service in order, each ready before the next; on failure stop them all."""
    taken = [s for s in services if not port_is_free(host, s.port)]
    if taken:
        names = ", ".join(f"{s.name} ({host}:{s.port})" for s in taken)
        raise LaunchError(f"port already in use: {names} — is another natid demo running?")
    try:
        for service in services:
            service.process = subprocess.Popen([sys.executable, "-m", "natid", *service.arguments])
            _wait_ready(service, timeout)
    except BaseException:
        stop_all(services)
        raise


def _wait_ready(service: Service, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert service.process is not None
        if service.process.poll() is not None:
            raise LaunchError(f"{service.name} exited with status {service.process.returncode}")
        try:
            if httpx.get(service.ready_url, timeout=1.0).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise LaunchError(
        f"{service.name} did not answer at {service.ready_url} within {timeout:.0f} s"
    )


def wait_any(services: list[Service]) -> Service:
    """Block until one service exits; return it."""
    while True:
        for service in services:
            if service.process is not None and service.process.poll() is not None:
                return service
        time.sleep(0.5)


def stop_all(services: list[Service], grace: float = 5.0) -> None:
    running = [s.process for s in services if s.process is not None and s.process.poll() is None]
    for process in running:
        process.send_signal(signal.SIGINT)
    deadline = time.monotonic() + grace
    for process in running:
        try:
            process.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
