"""Structured logs: one JSON object per line, with the id of the request being served.

Owns the request-id context (``RequestIdMiddleware`` sets it, ``current_request_id`` reads
it), the JSON formatter and ``configure_json_logging``. The formatter is also the last
guard for personal data: it masks free-standing long digit runs (ID and phone numbers) and
redacts the values of secret-bearing query parameters (codes, tokens, passwords), so not
even a careless log call or an access log line with a query string writes them out.
"""

from __future__ import annotations

import json
import logging
import re
import secrets
import sys
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any, TextIO

from identity_service.audit_redaction import REDACTED, mask_digit_runs

REQUEST_ID_HEADER = b"x-request-id"
_SAFE_REQUEST_ID = re.compile(rb"[A-Za-z0-9._:\-]{1,64}")
_request_id: ContextVar[str | None] = ContextVar("natid_request_id", default=None)

_SECRET_PARAMETER = re.compile(
    r"(?i)\b(code|token|access_token|refresh_token|id_token|id_token_hint|password|otp"
    r"|client_secret|client_assertion|login_hint)=[^&\s\"']+"
)
# Attributes every LogRecord has; anything else came in through ``extra=`` and is emitted.
_STANDARD_ATTRIBUTES = frozenset(
    vars(logging.LogRecord("", logging.INFO, "", 0, "", None, None)).keys()
) | {"message", "asctime", "taskName"}
_UVICORN_LOGGERS = ("uvicorn", "uvicorn.error", "uvicorn.access")


def current_request_id() -> str | None:
    """The id of the request this code is serving, or None outside a request."""
    return _request_id.get()


def scrub(text: str) -> str:
    """``text`` with secret query parameter values redacted and long digit runs masked."""
    if "=" in text:  # every secret parameter has one; most lines (access lines) have none
        text = _SECRET_PARAMETER.sub(rf"\1={REDACTED}", text)
    return mask_digit_runs(text)


class JsonFormatter(logging.Formatter):
    """Formats a record as one JSON line: time, level, logger, message, request_id, extras."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Every request writes an access line: the date part is formatted once a second.
        self._second = -1
        self._second_text = ""

    def format(self, record: logging.LogRecord) -> str:
        document: dict[str, Any] = {
            "time": self._time(record.created),
            "level": record.levelname,
            "logger": record.name,
            "message": scrub(record.getMessage()),
            "request_id": _request_id.get(),
        }
        if record.__dict__.keys() - _STANDARD_ATTRIBUTES:
            for name, value in vars(record).items():
                if name not in _STANDARD_ATTRIBUTES and name not in document:
                    document[name] = scrub(value) if isinstance(value, str) else value
        if record.exc_info:
            document["exception"] = scrub(self.formatException(record.exc_info))
        return json.dumps(document, ensure_ascii=False, default=_scrubbed_text)

    def _time(self, created: float) -> str:
        """ISO 8601 in UTC with milliseconds, as ``datetime.isoformat`` writes it."""
        second = int(created)
        if second != self._second:
            moment = datetime.fromtimestamp(second, tz=UTC).isoformat()
            self._second, self._second_text = second, moment[:-6]  # without "+00:00"
        milliseconds = min(int((created - second) * 1000), 999)
        return f"{self._second_text}.{milliseconds:03d}+00:00"


def _scrubbed_text(value: object) -> str:
    return scrub(str(value))


def configure_json_logging(level: int | str = logging.INFO, stream: TextIO | None = None) -> None:
    """Send every log record (uvicorn's too) as JSON lines to ``stream`` (stderr by default).

    Replaces the root logger's handlers, so calling it again does not duplicate lines.
    """
    handler = logging.StreamHandler(stream if stream is not None else sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    for existing in list(root.handlers):
        root.removeHandler(existing)
    root.addHandler(handler)
    root.setLevel(level)
    for name in _UVICORN_LOGGERS:
        # uvicorn installs its own plain-text handlers; route its records through ours.
        uvicorn_logger = logging.getLogger(name)
        uvicorn_logger.handlers.clear()
        uvicorn_logger.propagate = True
        # an earlier uvicorn.Config may have raised its level or switched it off
        uvicorn_logger.setLevel(logging.NOTSET)
        uvicorn_logger.disabled = False


class RequestIdMiddleware:
    """Pure ASGI middleware giving every HTTP request an id (log context + response header).

    A client's ``X-Request-ID`` is kept when it is a short token of safe characters (so a
    load balancer's id joins up the logs); otherwise a random one is made.
    """

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = _request_id_from(scope.get("headers", ()))
        scope.setdefault("state", {})["request_id"] = request_id
        header = (REQUEST_ID_HEADER, request_id.encode("ascii"))

        async def send_with_request_id(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                headers = [
                    (name, value)
                    for name, value in message.get("headers", ())
                    if name.lower() != REQUEST_ID_HEADER
                ]
                headers.append(header)
                message = {**message, "headers": headers}
            await send(message)

        token = _request_id.set(request_id)
        await self.app(scope, receive, send_with_request_id)
        # Reset only on success: when the app fails, the server logs the error after this
        # returns, in the request's own task, and that line should carry the id too.
        _request_id.reset(token)


def _request_id_from(headers: Any) -> str:
    for name, value in headers:
        if name.lower() == REQUEST_ID_HEADER:
            if _SAFE_REQUEST_ID.fullmatch(value):
                return value.decode("ascii")
            break
    return secrets.token_hex(16)
