"""What a real uvicorn server (as ``natid serve`` runs it) does with malformed and huge requests.

The app is served on a loopback port of its own by uvicorn with its default HTTP parser
(httptools when installed), and spoken to over raw sockets, so requests no HTTP client
library would send reach it. Findings that shaped ``identity_service.limits``: httptools
hands the app request heads of any size, and waits for a declared body however long.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator

import pytest
import uvicorn
from fastapi import FastAPI

from identity_service.limits import DEFAULT_MAX_BODY_BYTES

ANSWER_WITHIN_SECONDS = 3.0


@pytest.fixture
def server(app: FastAPI) -> Iterator[tuple[str, int]]:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    # log_config=None: leave the process-wide uvicorn loggers as other tests expect them
    config = uvicorn.Config(app, log_config=None, lifespan="off", ws="none")
    running = uvicorn.Server(config)
    thread = threading.Thread(target=running.run, kwargs={"sockets": [listener]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not running.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.01)
    yield listener.getsockname()
    running.should_exit = True
    thread.join(10)
    listener.close()


def exchange(address: tuple[str, int], raw: bytes) -> tuple[int, bytes, float]:
    """Send ``raw``, read the answer: (status, whole answer, seconds it took)."""
    started = time.monotonic()
    with socket.create_connection(address, timeout=ANSWER_WITHIN_SECONDS) as connection:
        connection.sendall(raw)
        received = b""
        try:
            while chunk := connection.recv(65536):
                received += chunk
                if b"\r\n\r\n" in received and _complete(received):
                    break
        except TimeoutError:
            pass
    elapsed = time.monotonic() - started
    assert received.startswith(b"HTTP/1.1 "), received[:200]
    return int(received[9:12]), received, elapsed


def _complete(received: bytes) -> bool:
    head, _, body = received.partition(b"\r\n\r\n")
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            return len(body) >= int(line.split(b":", 1)[1])
    return False


def request(head: str, body: bytes = b"") -> bytes:
    return head.replace("\n", "\r\n").encode("latin-1") + b"\r\n" + body


def test_a_huge_header_is_refused_by_the_app_not_served(server: tuple[str, int]) -> None:
    raw = request(f"GET /jwks HTTP/1.1\nHost: x\nX-Filler: {'a' * 1_000_000}\n")
    status, answer, _ = exchange(server, raw)
    assert status == 431
    assert b'"error":"invalid_request"' in answer.replace(b" ", b"")


def test_thousands_of_headers_are_refused(server: tuple[str, int]) -> None:
    fillers = "".join(f"X-Filler-{n}: a\n" for n in range(5000))
    status, _, _ = exchange(server, request(f"GET /jwks HTTP/1.1\nHost: x\n{fillers}"))
    assert status == 431


def test_a_huge_declared_body_is_refused_without_waiting_for_it(server: tuple[str, int]) -> None:
    head = (
        "POST /token HTTP/1.1\nHost: x\n"
        "Content-Type: application/x-www-form-urlencoded\nContent-Length: 100000000\n"
    )
    status, _, elapsed = exchange(server, request(head, b"grant_type=authorization_code"))
    assert status == 413
    assert elapsed < ANSWER_WITHIN_SECONDS


def test_a_chunked_body_over_the_limit_is_refused(server: tuple[str, int]) -> None:
    chunk = b"a" * 16384
    chunks = b"".join(b"%x\r\n%s\r\n" % (len(chunk), chunk) for _ in range(5)) + b"0\r\n\r\n"
    assert 5 * len(chunk) > DEFAULT_MAX_BODY_BYTES
    head = (
        "POST /token HTTP/1.1\nHost: x\n"
        "Content-Type: application/x-www-form-urlencoded\nTransfer-Encoding: chunked\n"
    )
    status, _, _ = exchange(server, request(head, chunks))
    assert status == 413


MALFORMED = {
    "200 KB URL": b"GET /authorize?" + b"a" * 200_000 + b" HTTP/1.1\r\nHost: x\r\n\r\n",
    "invalid UTF-8 path": b"GET /interaction/\xff\xfe HTTP/1.1\r\nHost: x\r\n\r\n",
    "bad length": b"POST /token HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n",
    "two lengths": (
        b"POST /token HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nabcde"
    ),
    "space in a header name": b"GET /jwks HTTP/1.1\r\nHost: x\r\nBad Header Name: a\r\n\r\n",
    "HTTP/9.9": b"GET /jwks HTTP/9.9\r\nHost: x\r\n\r\n",
    "a TLS hello": b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + b"\x00" * 40,
}


def test_malformed_requests_get_a_4xx_from_the_server(server: tuple[str, int]) -> None:
    for label, raw in MALFORMED.items():
        status, _, _ = exchange(server, raw)
        assert 400 <= status < 500, label


def test_invalid_utf8_in_a_header_reaches_the_app_and_gets_its_refusal(
    server: tuple[str, int],
) -> None:
    raw = b"GET /userinfo HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer \xff\xfe\r\n\r\n"
    status, answer, _ = exchange(server, raw)
    assert status == 401
    assert b"invalid_token" in answer
