"""Where route steps run (``api.steps``) and that their audit entries are committed first."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import Engine

from identity_service.api.steps import in_thread, on_loop_when_local
from identity_service.audit import AuditLog
from identity_service.audit_writer import AuditWriter

pytestmark = pytest.mark.anyio


@dataclass
class Services:
    """The two attributes the helpers read of ``IdentityServices``."""

    audit_writer: AuditWriter
    local_storage: bool


@pytest.fixture
def log(identity_file_engine: Engine) -> AuditLog:
    return AuditLog(identity_file_engine, b"steps-test-secret")


def recording_step(services: Services, event: str) -> dict[str, Any]:
    services.audit_writer.record(event, actor="test")
    return {"thread": threading.get_ident()}


@pytest.mark.parametrize("local_storage", [True, False])
async def test_a_read_step_runs_on_the_loop_only_with_local_storage(
    log: AuditLog, local_storage: bool
) -> None:
    services = Services(AuditWriter(log), local_storage)
    ran = await on_loop_when_local(services, recording_step, services, "stepup")
    assert (ran["thread"] == threading.get_ident()) is local_storage
    # Committed before the step's answer was handed back.
    assert [entry.event for entry in log.tail(5)] == ["stepup"]
    services.audit_writer.close()


async def test_a_writing_step_always_runs_in_a_thread_and_commits_first(log: AuditLog) -> None:
    services = Services(AuditWriter(log), local_storage=True)
    ran = await in_thread(services, recording_step, services, "consent.granted")
    assert ran["thread"] != threading.get_ident()
    assert [entry.event for entry in log.tail(5)] == ["consent.granted"]
    services.audit_writer.close()


async def test_a_step_that_fails_still_commits_what_it_recorded(log: AuditLog) -> None:
    services = Services(AuditWriter(log), local_storage=True)

    def failing(writer: AuditWriter) -> None:
        writer.record("login.failure", actor="test")
        raise LookupError("the step failed after recording")

    with pytest.raises(LookupError):
        await on_loop_when_local(services, failing, services.audit_writer)
    assert [entry.event for entry in log.tail(5)] == ["login.failure"]
    services.audit_writer.close()
