"""Metrics and JSON logs: a tiny FastAPI app with the middlewares, scraped through /metrics."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import re
import threading
import time
from collections.abc import Iterator

import httpx
import pytest
from fastapi import FastAPI, Response
from hypothesis import given, settings
from hypothesis import strategies as st
from prometheus_client.parser import text_string_to_metric_families

from identity_service.json_logging import (
    FLUSH_SECONDS,
    JsonFormatter,
    JsonLinesHandler,
    RequestIdMiddleware,
    _request_id,
    configure_json_logging,
    current_request_id,
)
from identity_service.metrics import Metrics, MetricsMiddleware, metrics_response

CITIZEN = "001203004567"
app_logger = logging.getLogger("natid.test.app")


def build_app(metrics: Metrics) -> FastAPI:
    app = FastAPI()

    @app.get("/items/{item_id}")
    def read_item(item_id: str) -> dict[str, str | None]:
        app_logger.info("serving item %s", item_id)
        return {"item_id": item_id, "request_id": current_request_id()}

    @app.get("/async")
    async def read_async() -> dict[str, str | None]:
        return {"request_id": current_request_id()}

    @app.get("/boom")
    def boom() -> None:
        raise RuntimeError("boom")

    @app.get("/metrics")
    def scrape() -> Response:
        body, content_type = metrics_response(metrics)
        return Response(content=body, headers={"Content-Type": content_type})

    app.add_middleware(MetricsMiddleware, metrics=metrics)
    app.add_middleware(RequestIdMiddleware)
    return app


@pytest.fixture
def metrics() -> Metrics:
    return Metrics()


class Client:
    """Drives the app in-process over ``httpx.ASGITransport``; failing routes answer 500."""

    def __init__(self, app: FastAPI) -> None:
        self.app = app

    def request(self, method: str, path: str, **options: object) -> httpx.Response:
        return asyncio.run(self._request(method, path, options))

    def get(self, path: str, **options: object) -> httpx.Response:
        return self.request("GET", path, **options)

    def post(self, path: str, **options: object) -> httpx.Response:
        return self.request("POST", path, **options)

    async def _request(self, method: str, path: str, options: dict[str, object]) -> httpx.Response:
        transport = httpx.ASGITransport(app=self.app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://natid.test") as http:
            return await http.request(method, path, **options)  # type: ignore[arg-type]


@pytest.fixture
def client(metrics: Metrics) -> Client:
    return Client(build_app(metrics))


def _samples(client: Client, name: str) -> dict[tuple[tuple[str, str], ...], float]:
    response = client.get("/metrics")
    assert response.status_code == 200
    found: dict[tuple[tuple[str, str], ...], float] = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            if sample.name == name:
                found[tuple(sorted(sample.labels.items()))] = sample.value
    return found


def _labels(**labels: str) -> tuple[tuple[str, str], ...]:
    return tuple(sorted(labels.items()))


# -- HTTP metrics ---------------------------------------------------------------------------


def test_requests_are_counted_by_route_template_not_raw_path(client: Client) -> None:
    for item_id in ("a", "b", "c"):
        assert client.get(f"/items/{item_id}").status_code == 200

    counts = _samples(client, "natid_http_requests_total")

    assert counts[_labels(route="/items/{item_id}", method="GET", status="200")] == 3
    assert not any("/items/a" in dict(labels)["route"] for labels in counts)
    response = client.get("/metrics")
    assert "/items/a" not in response.text


def test_latency_histogram_observes_every_request(client: Client) -> None:
    client.get("/items/x")
    client.get("/items/y")

    counts = _samples(client, "natid_http_request_duration_seconds_count")
    sums = _samples(client, "natid_http_request_duration_seconds_sum")

    key = _labels(route="/items/{item_id}", method="GET", status="200")
    assert counts[key] == 2
    assert 0 < sums[key] < 5


def test_unmatched_wrong_method_errors_and_odd_methods_stay_bounded(client: Client) -> None:
    assert client.get("/no/such/page/123").status_code == 404
    assert client.post("/items/a").status_code == 405
    assert client.get("/boom").status_code == 500
    assert client.request("BREW", "/items/a").status_code == 405

    counts = _samples(client, "natid_http_requests_total")

    assert counts[_labels(route="unmatched", method="GET", status="404")] == 1
    assert counts[_labels(route="/items/{item_id}", method="POST", status="405")] == 1
    assert counts[_labels(route="/boom", method="GET", status="500")] == 1
    assert counts[_labels(route="/items/{item_id}", method="OTHER", status="405")] == 1


def test_metrics_response_is_prometheus_text(metrics: Metrics) -> None:
    metrics.lockout()

    body, content_type = metrics_response(metrics)

    assert content_type.startswith("text/plain")
    assert "version=" in content_type
    families = {family.name for family in text_string_to_metric_families(body.decode())}
    assert {"natid_lockouts", "natid_logins", "natid_http_requests"} <= families


def test_two_metrics_objects_do_not_share_or_clash() -> None:
    first, second = Metrics(), Metrics()
    first.token_issued("client_credentials")

    first_body, _ = metrics_response(first)
    second_body, _ = metrics_response(second)
    assert b'natid_tokens_issued_total{grant_type="client_credentials"} 1.0' in first_body
    assert b'grant_type="client_credentials"' not in second_body


# -- service counters -----------------------------------------------------------------------


def test_service_counters_and_their_bounded_labels(client: Client, metrics: Metrics) -> None:
    metrics.login("success", 2)
    metrics.login("success", 2)
    metrics.login("failure")
    metrics.login("invented-outcome", 7)
    metrics.token_issued("authorization_code")
    metrics.token_issued("urn:made-up")
    metrics.kyc_call("match")
    metrics.kyc_call("no_match")
    metrics.kyc_call("what")
    metrics.lockout()
    metrics.lockout()

    logins = _samples(client, "natid_logins_total")
    assert logins == {
        _labels(outcome="success", level="2"): 2,
        _labels(outcome="failure", level="other"): 1,
        _labels(outcome="other", level="other"): 1,
    }
    tokens = _samples(client, "natid_tokens_issued_total")
    assert tokens == {
        _labels(grant_type="authorization_code"): 1,
        _labels(grant_type="other"): 1,
    }
    kyc = _samples(client, "natid_kyc_calls_total")
    assert kyc == {
        _labels(result="match"): 1,
        _labels(result="no_match"): 1,
        _labels(result="other"): 1,
    }
    assert _samples(client, "natid_lockouts_total") == {(): 2}


# -- request ids ----------------------------------------------------------------------------


def test_a_random_request_id_is_made_and_returned(client: Client) -> None:
    first = client.get("/items/a")
    second = client.get("/async")

    first_id = first.headers["x-request-id"]
    assert re.fullmatch(r"[0-9a-f]{32}", first_id)
    assert first.json()["request_id"] == first_id
    assert second.json()["request_id"] == second.headers["x-request-id"] != first_id


def test_a_safe_client_request_id_is_kept(client: Client) -> None:
    response = client.get("/items/a", headers={"X-Request-ID": "lb-4f2a.9:77"})

    assert response.headers["x-request-id"] == "lb-4f2a.9:77"
    assert response.json()["request_id"] == "lb-4f2a.9:77"


@pytest.mark.parametrize("unsafe", ["a b", "x" * 65, "<script>", "id;rm", ""])
def test_an_unsafe_client_request_id_is_replaced(client: Client, unsafe: str) -> None:
    response = client.get("/async", headers={"X-Request-ID": unsafe})

    assert re.fullmatch(r"[0-9a-f]{32}", response.headers["x-request-id"])
    assert response.json()["request_id"] == response.headers["x-request-id"]


def test_no_request_id_outside_a_request() -> None:
    assert current_request_id() is None


# -- JSON logs ------------------------------------------------------------------------------


@pytest.fixture
def log_stream() -> Iterator[io.StringIO]:
    """JSON logging into a buffer; the logging configuration is restored afterwards."""
    root = logging.getLogger()
    saved_root = (list(root.handlers), root.level)
    uvicorn_loggers = [logging.getLogger(name) for name in ("uvicorn", "uvicorn.access")]
    saved_uvicorn = [(list(item.handlers), item.propagate) for item in uvicorn_loggers]
    stream = io.StringIO()
    configure_json_logging("INFO", stream=stream)
    try:
        yield stream
    finally:
        root.handlers[:] = saved_root[0]
        root.setLevel(saved_root[1])
        for item, (handlers, propagate) in zip(uvicorn_loggers, saved_uvicorn, strict=True):
            item.handlers[:] = handlers
            item.propagate = propagate


def _lines(stream: io.StringIO) -> list[dict[str, object]]:
    for handler in logging.getLogger().handlers:
        handler.flush()  # INFO lines wait up to FLUSH_SECONDS to be written
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_log_lines_are_json_with_the_request_id(client: Client, log_stream: io.StringIO) -> None:
    response = client.get("/items/widget", headers={"X-Request-ID": "trace-1"})

    (line,) = [line for line in _lines(log_stream) if line["logger"] == "natid.test.app"]
    assert line["message"] == "serving item widget"
    assert line["level"] == "INFO"
    assert line["request_id"] == response.headers["x-request-id"] == "trace-1"
    assert str(line["time"]).endswith("+00:00")


def test_log_lines_never_carry_id_numbers_or_secrets(log_stream: io.StringIO) -> None:
    app_logger.warning("login failed for %s", CITIZEN)
    app_logger.info('"GET /logout?id_token_hint=eyJhbGci.x.y&state=abc HTTP/1.1" 200')
    app_logger.info("callback", extra={"query": "code=SplxlOBeZQQYbYS6WxSbIA&state=s"})
    try:
        raise ValueError(f"no citizen {CITIZEN}")
    except ValueError:
        app_logger.exception("lookup failed")

    text = log_stream.getvalue()
    assert CITIZEN not in text
    assert "eyJhbGci" not in text
    assert "SplxlOBeZQQYbYS6WxSbIA" not in text
    lines = _lines(log_stream)
    assert lines[0]["message"] == "login failed for 00********67"
    assert "state=abc" in str(lines[1]["message"])
    assert lines[2]["query"] == "code=[redacted]&state=s"
    assert "ValueError" in str(lines[3]["exception"])
    assert all(line["request_id"] is None for line in lines)


def test_configuring_twice_does_not_duplicate_lines(log_stream: io.StringIO) -> None:
    second = io.StringIO()
    configure_json_logging(logging.INFO, stream=second)

    app_logger.info("once")

    assert log_stream.getvalue() == ""
    assert [line["message"] for line in _lines(second)] == ["once"]


def test_uvicorn_records_go_through_the_json_handler(log_stream: io.StringIO) -> None:
    logging.getLogger("uvicorn.access").info("127.0.0.1 - GET /items/1 200")

    (line,) = _lines(log_stream)
    assert line["logger"] == "uvicorn.access"


# -- access lines ---------------------------------------------------------------------------


def _access_lines(stream: io.StringIO) -> list[dict[str, object]]:
    return [line for line in _lines(stream) if line["logger"] == "natid.access"]


def test_every_request_gets_an_access_line_with_its_id_and_status(
    client: Client, log_stream: io.StringIO
) -> None:
    client.get("/items/a", headers={"X-Request-ID": "trace-7"})
    client.post("/items/a")
    client.get("/boom")

    lines = _access_lines(log_stream)
    assert [line["message"] for line in lines] == [
        '127.0.0.1:123 - "GET /items/a HTTP/1.1" 200',
        '127.0.0.1:123 - "POST /items/a HTTP/1.1" 405',
        '127.0.0.1:123 - "GET /boom HTTP/1.1" 500',
    ]
    assert lines[0]["request_id"] == "trace-7"
    assert all(line["level"] == "INFO" for line in lines)
    assert all(isinstance(line["request_id"], str) for line in lines)


def test_access_lines_redact_secrets_in_the_query_string(
    client: Client, log_stream: io.StringIO
) -> None:
    client.get(f"/items/x?code=SplxlOBeZQQYbYS6WxSbIA&state=s&id={CITIZEN}")

    (line,) = _access_lines(log_stream)
    message = str(line["message"])
    assert "SplxlOBeZQQYbYS6WxSbIA" not in message and CITIZEN not in message
    assert "code=[redacted]&state=s" in message


def test_access_lines_reach_other_handlers_as_ordinary_records(
    client: Client, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="natid.access"):
        client.get("/items/a")
    (record,) = [record for record in caplog.records if record.name == "natid.access"]
    assert record.getMessage() == '127.0.0.1:123 - "GET /items/a HTTP/1.1" 200'
    assert record.levelno == logging.INFO


def test_access_lines_follow_the_access_loggers_level(
    client: Client, log_stream: io.StringIO
) -> None:
    access_logger = logging.getLogger("natid.access")
    access_logger.setLevel(logging.WARNING)
    try:
        client.get("/items/a")
    finally:
        access_logger.setLevel(logging.NOTSET)
    assert _access_lines(log_stream) == []


# -- the batching handler -------------------------------------------------------------------


def test_a_waiting_info_line_is_written_without_a_flush(log_stream: io.StringIO) -> None:
    app_logger.info("soon")
    deadline = time.monotonic() + 10
    while "soon" not in log_stream.getvalue():
        assert time.monotonic() < deadline, "the INFO line was never written"
        time.sleep(0.02)


@pytest.fixture
def batching_logger() -> Iterator[tuple[logging.Logger, io.StringIO]]:
    stream = io.StringIO()
    handler = JsonLinesHandler(stream)
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("natid.test.batching")
    logger.addHandler(handler)
    logger.propagate = False
    logger.setLevel(logging.INFO)
    yield logger, stream
    logger.removeHandler(handler)
    logger.propagate = True
    logger.setLevel(logging.NOTSET)


def written(stream: io.StringIO) -> list[str]:
    return [json.loads(line)["message"] for line in stream.getvalue().splitlines()]


def test_a_warning_is_written_at_once_after_the_lines_before_it(
    batching_logger: tuple[logging.Logger, io.StringIO],
) -> None:
    logger, stream = batching_logger
    logger.info("first")
    logger.info("second")
    logger.warning("third")
    assert written(stream) == ["first", "second", "third"]
    logger.info("fourth")
    logger.handlers[0].close()  # logging.shutdown at exit
    assert written(stream)[-1] == "fourth"


def test_lines_logged_on_an_event_loop_are_written_by_its_timer_not_a_thread(
    batching_logger: tuple[logging.Logger, io.StringIO],
) -> None:
    logger, stream = batching_logger

    async def serve() -> set[threading.Thread]:
        threads_before = set(threading.enumerate())
        logger.info("first")
        logger.info("second")
        threads_meanwhile = set(threading.enumerate())
        deadline = time.monotonic() + 10
        while written(stream) != ["first", "second"]:
            assert time.monotonic() < deadline, "the waiting lines were never written"
            await asyncio.sleep(FLUSH_SECONDS / 4)
        return threads_meanwhile - threads_before

    assert asyncio.run(serve()) == set()


def test_lines_left_by_a_loop_that_stopped_are_written_with_the_next(
    batching_logger: tuple[logging.Logger, io.StringIO],
) -> None:
    logger, stream = batching_logger

    async def log_and_stop() -> None:
        logger.info("from the loop")

    asyncio.run(log_and_stop())  # its timer never runs
    logger.info("after it")
    deadline = time.monotonic() + 10
    while written(stream) != ["from the loop", "after it"]:
        assert time.monotonic() < deadline, "the lines were never written"
        time.sleep(0.02)


@settings(max_examples=200, deadline=None)
@given(
    message=st.text(),
    request_id=st.none() | st.from_regex(r"[A-Za-z0-9._:\-]{1,64}", fullmatch=True),
    created=st.floats(min_value=0, max_value=4e9),
)
def test_the_fast_access_line_is_what_the_formatter_writes_for_the_same_record(
    message: str, request_id: str | None, created: float
) -> None:
    formatter = JsonFormatter()
    record = logging.makeLogRecord(
        {"name": "natid.access", "levelno": logging.INFO, "levelname": "INFO", "msg": message}
    )
    record.created = created
    token = _request_id.set(request_id)
    try:
        expected = formatter.format(record)
        assert formatter.format_line(created, "INFO", "natid.access", message) == expected
    finally:
        _request_id.reset(token)
