"""The runner reads the server's own argon2id counts from /metrics, over HTTP."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from identity_service.metrics import Metrics, metrics_response
from loadtests.report import ServerHashing
from loadtests.server_metrics import difference, password_hashing


class _Totals:
    def __init__(self) -> None:
        self.hashes, self.cpu_seconds = 4, 0.1

    def __call__(self) -> tuple[int, float]:
        return self.hashes, self.cpu_seconds


@pytest.fixture
def metrics_server() -> Iterator[tuple[str, _Totals]]:
    totals = _Totals()
    metrics = Metrics(password_hashing=totals)

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body, content_type = metrics_response(metrics)
            self.send_response(200 if self.path == "/metrics" else 404)
            self.send_header("Content-Type", content_type)
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", totals
    finally:
        server.shutdown()
        server.server_close()


def test_the_hashing_done_between_two_readings(metrics_server: tuple[str, _Totals]) -> None:
    url, totals = metrics_server
    before = password_hashing(url)
    assert before == ServerHashing(hashes=4, cpu_seconds=pytest.approx(0.1))
    totals.hashes, totals.cpu_seconds = 104, 2.1
    done = difference(before, password_hashing(url))
    assert done is not None
    assert done.hashes == 100
    assert done.ms_per_hash == pytest.approx(20.0)


def test_a_server_without_the_counters_gives_none() -> None:
    assert password_hashing("http://127.0.0.1:9", timeout=0.5) is None  # nothing listens
    assert difference(None, ServerHashing(1, 0.1)) is None
