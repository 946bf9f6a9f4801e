"""Audited answers leave only after their commit (``api.commit_before_answer``)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Sequence
from typing import Any

import pytest
from sqlalchemy import Engine
from starlette.responses import JSONResponse, Response

from identity_service.api.commit_before_answer import CommitBeforeAnswerMiddleware
from identity_service.audit import AuditEntry, AuditError, AuditLog, NewAuditEntry
from identity_service.audit_writer import AuditWriter

pytestmark = pytest.mark.anyio
SCOPE = {"type": "http", "method": "POST", "path": "/token", "headers": []}


class GatedLog(AuditLog):
    """An audit log whose appends wait for ``gate`` and can be made to fail."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.gate = threading.Event()
        self.fail = False

    def record_many(self, entries: Sequence[NewAuditEntry]) -> list[AuditEntry]:
        self.gate.wait(10)
        if self.fail:
            raise AuditError("audit log unavailable: the test broke it")
        return super().record_many(entries)


@pytest.fixture
def log(identity_file_engine: Engine) -> GatedLog:
    return GatedLog(identity_file_engine, b"commit-test-secret")


def token_app(writer: AuditWriter, *, audited: bool = True) -> Any:
    async def app(scope: Any, receive: Any, send: Any) -> None:
        async with writer.deferring():
            if audited:
                writer.record("token.issued", actor="bank")
        await JSONResponse({"access_token": "t"})(scope, receive, send)

    return app


async def unavailable(_scope: Any, _error: AuditError) -> Response:
    return JSONResponse({"error": "temporarily_unavailable"}, status_code=503)


async def run(app: Any, log: GatedLog) -> tuple[list[dict[str, Any]], list[int]]:
    """Messages sent, and how many entries the log held when the first one was sent."""
    sent: list[dict[str, Any]] = []
    committed_at_first_send: list[int] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        if not sent:
            committed_at_first_send.append(len(log.tail(10)))
        sent.append(message)

    middleware = CommitBeforeAnswerMiddleware(app, unavailable=unavailable)
    task = asyncio.ensure_future(middleware(dict(SCOPE), receive, send))
    await asyncio.sleep(0.2)
    assert not sent  # held: the append has not finished
    log.gate.set()
    await asyncio.wait_for(task, 10)
    return sent, committed_at_first_send


async def test_the_answer_is_held_until_its_entry_is_committed(log: GatedLog) -> None:
    writer = AuditWriter(log)
    sent, committed = await run(token_app(writer), log)
    assert sent[0]["status"] == 200 and committed == [1]
    assert b"access_token" in sent[1]["body"]
    writer.close()


async def test_a_failed_commit_answers_503_instead(log: GatedLog) -> None:
    writer = AuditWriter(log)
    log.fail = True
    sent, _ = await run(token_app(writer), log)
    assert sent[0]["status"] == 503
    assert b"access_token" not in b"".join(message.get("body", b"") for message in sent)
    writer.close()


async def test_an_answer_with_nothing_to_commit_is_not_held(log: GatedLog) -> None:
    writer = AuditWriter(log)
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    middleware = CommitBeforeAnswerMiddleware(
        token_app(writer, audited=False), unavailable=unavailable
    )
    await asyncio.wait_for(middleware(dict(SCOPE), receive, send), 5)  # the gate stays shut
    assert sent[0]["status"] == 200
    writer.close()
