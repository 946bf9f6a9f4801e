"""Where a route's blocking work runs, and how its audit entries are committed.

A login takes six or seven requests, most of them a few lookups in the state store, a
page to render and an entry to audit. Run as plain ``def`` routes, each would cost two
thread hand-offs (to FastAPI's thread pool and back) and a third wait for the audit
writer, and on a one-core server every hand-off is a context switch under the GIL that
costs more than the lookups. So:

* ``on_loop_when_local``: with local storage (the in-process state store and SQLite
  files, ``IdentityServices.local_storage``) a step that only reads the databases runs on
  the event loop; with Redis or PostgreSQL, where any call may wait on the network, it
  runs in the thread pool so that a hung dependency holds only its own requests;
* ``in_thread``: a step that waits (argon2id) or writes the database runs in the thread
  pool, always.

Either way the entries the step records are collected and committed in one batch when it
ends (``AuditWriter.deferring``), before the answer leaves, with no thread held waiting
for the commit.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import ParamSpec, TypeVar

from starlette.concurrency import run_in_threadpool

from identity_service.api.deps import IdentityServices

_Params = ParamSpec("_Params")
_Result = TypeVar("_Result")


async def on_loop_when_local(
    services: IdentityServices,
    step: Callable[_Params, _Result],
    /,
    *args: _Params.args,
    **kwargs: _Params.kwargs,
) -> _Result:
    """``step(*args, **kwargs)``: a read-only step, on the loop with local storage."""
    async with services.audit_writer.deferring():
        if services.local_storage:
            return step(*args, **kwargs)
        return await run_in_threadpool(step, *args, **kwargs)


async def in_thread(
    services: IdentityServices,
    step: Callable[_Params, _Result],
    /,
    *args: _Params.args,
    **kwargs: _Params.kwargs,
) -> _Result:
    """``step(*args, **kwargs)`` in the thread pool, its audit entries committed after."""
    async with services.audit_writer.deferring():
        return await run_in_threadpool(step, *args, **kwargs)
