"""Group commit for the audit log: many concurrent requests, one append transaction at a time.

Owns ``AuditWriter``. Each append to the ``AuditLog`` is one serialised transaction, and a
durable commit costs a disk flush (about 1-3 ms on SQLite), so appending entry by entry
caps every audited endpoint at a few hundred requests per second. The writer queues the
entries of concurrent callers and appends them with one ``record_many`` per batch: each
caller still returns only once its own entry is committed (an answer is never given
unaudited), but the transaction is shared by everyone who arrived while the previous batch was
being written. Coroutines' entries are queued at the end of the event loop's turn in which
they were recorded, all together, so the writer takes a whole turn's worth at once
instead of waking for the first and writing batches of one or two; nobody waits for
company, so a lone caller is written at once.

Callers wait in one of two ways: ``record`` blocks the calling thread (synchronous routes,
which FastAPI runs in its thread pool), ``record_async`` suspends the calling coroutine
(asynchronous routes: the event loop keeps serving others, and no thread is held).

When an append fails because the database is unavailable, the entries that queued up
meanwhile fail with it at once (each caller answers 503 after at most one failed attempt).

Asynchronous routes that call synchronous services (which ``record`` as they go) wrap
the call in ``async with writer.deferring():``: inside the block ``record`` only collects
the entry, and the block ends once every collected entry is committed (or raises
``AuditError``), so the answer still waits for its audit entries but no thread is held,
and one request's entries travel in one batch. The writer hands a batch's outcome to
each event loop in one call, not one wake-up per entry.

A daemon thread does the writing; it starts on the first entry and ends after a short
idle spell, so an app that audits nothing (or a test that builds many apps) keeps no
thread around. ``close`` flushes what is queued and stops it; entries recorded after that
are written by the caller itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import queue
import threading
from collections.abc import AsyncIterator, Sequence
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from sqlalchemy.exc import SQLAlchemyError

from identity_service.audit import AuditError, AuditLog, NewAuditEntry

DEFAULT_MAX_BATCH = 256
IDLE_SECONDS = 2.0
# How long a caller waits for its commit before giving up (the database is hanging).
COMMIT_TIMEOUT_SECONDS = 30.0


@dataclass(slots=True)
class _Pending:
    """One queued entry and how its caller learns that it was written (or why not):
    a thread waits on ``done``, a coroutine on ``future``."""

    entry: NewAuditEntry
    done: threading.Event | None = None
    future: asyncio.Future[None] | None = None
    error: BaseException | None = None


def _finish(batch: Sequence[_Pending], errors: Sequence[BaseException | None]) -> None:
    """Tell every waiter of ``batch`` its outcome: one call per event loop, not per entry."""
    by_loop: dict[asyncio.AbstractEventLoop, list[tuple[asyncio.Future[None], Any]]] = {}
    for pending, error in zip(batch, errors, strict=True):
        pending.error = error
        if pending.done is not None:
            pending.done.set()
        if pending.future is not None:
            by_loop.setdefault(pending.future.get_loop(), []).append((pending.future, error))
    for loop, outcomes in by_loop.items():
        # RuntimeError: the loop was closed, so nobody is waiting any more.
        with contextlib.suppress(RuntimeError):
            loop.call_soon_threadsafe(_resolve_all, outcomes)


def _resolve_all(outcomes: list[tuple[asyncio.Future[None], BaseException | None]]) -> None:
    for future, error in outcomes:
        if future.done():  # the waiter was cancelled
            continue
        if error is None:
            future.set_result(None)
        else:
            future.set_exception(_as_audit_error(error))


def _as_audit_error(error: BaseException) -> AuditError:
    if isinstance(error, AuditError):
        return AuditError(str(error))
    return AuditError(f"audit log unavailable: {error.__class__.__name__}")


# The entries recorded inside ``AuditWriter.deferring`` (None outside such a block).
_deferred: ContextVar[list[NewAuditEntry] | None] = ContextVar("natid_deferred_audit", default=None)


# Put in the queue by ``close`` so that the waiting thread notices at once.
_WAKE_UP = _Pending(NewAuditEntry("wake_up"))


class AuditWriter:
    """Appends entries to ``log`` in group commits (see the module docstring)."""

    def __init__(
        self,
        log: AuditLog,
        *,
        max_batch: int = DEFAULT_MAX_BATCH,
    ) -> None:
        if max_batch < 1:
            raise ValueError("max_batch must be at least 1")
        self.log = log
        self._max_batch = max_batch
        self._queue: queue.SimpleQueue[_Pending] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._closed = False
        # Per event loop: the entries of this turn of the loop, not yet queued.
        self._waiting_on: dict[asyncio.AbstractEventLoop, list[_Pending]] = {}

    def record(
        self,
        event: str,
        *,
        subject: str | None = None,
        client_id: str | None = None,
        level: int | None = None,
        details: dict[str, Any] | None = None,
        actor: str | None = None,
    ) -> None:
        """Append one entry (arguments as ``AuditLog.record``), blocking until it is
        committed; raises ``AuditError``."""
        self.record_entry(NewAuditEntry(event, subject, client_id, level, details, actor))

    def record_entry(self, entry: NewAuditEntry) -> None:
        """``record`` for an entry built beforehand."""
        deferred = _deferred.get()
        if deferred is not None:
            deferred.append(entry)  # committed before the enclosing ``deferring`` ends
            return
        pending = _Pending(entry, done=threading.Event())
        self._submit(pending)
        assert pending.done is not None
        if not pending.done.wait(COMMIT_TIMEOUT_SECONDS):
            raise AuditError("audit log unavailable: the append did not complete in time")
        if pending.error is not None:
            raise _as_audit_error(pending.error) from pending.error

    async def record_async(self, entry: NewAuditEntry) -> None:
        """Append ``entry``, suspending the caller until it is committed; ``AuditError``."""
        await self.record_many_async([entry])

    async def record_many_async(self, entries: Sequence[NewAuditEntry]) -> None:
        """Append ``entries`` (in order), suspending the caller until all are committed;
        ``AuditError`` if any of them could not be."""
        if not entries:
            return
        loop = asyncio.get_running_loop()
        futures: list[asyncio.Future[None]] = []
        waiting = self._waiting_on.get(loop)
        if waiting is None:
            # Queued together once this turn of the event loop is over: the writer thread
            # then finds the whole turn's entries at once, rather than being woken by the
            # first of them and writing a batch of one or two.
            waiting = self._waiting_on[loop] = []
            loop.call_soon(self._submit_waiting, loop)
        for entry in entries:
            future: asyncio.Future[None] = loop.create_future()
            futures.append(future)
            waiting.append(_Pending(entry, future=future))
        try:
            async with asyncio.timeout(COMMIT_TIMEOUT_SECONDS):
                for future in futures:
                    await future
        except TimeoutError:
            raise AuditError("audit log unavailable: the append did not complete in time") from None

    @contextlib.asynccontextmanager
    async def deferring(self) -> AsyncIterator[None]:
        """Collect what synchronous code records in this block and commit it when the block
        ends, whether it ends normally or with an exception; ``AuditError`` then when the
        entries cannot be committed. Code in the block must not rely on an entry being
        committed before the block ends."""
        entries: list[NewAuditEntry] = []
        token = _deferred.set(entries)
        try:
            yield
        finally:
            _deferred.reset(token)
            await self.record_many_async(entries)

    def close(self) -> None:
        """Write what is queued, then stop the thread (later records write synchronously)."""
        with self._lock:
            self._closed = True
            thread = self._thread
        if thread is not None:
            self._queue.put(_WAKE_UP)
            thread.join()
        self._drain()

    # -- internals ------------------------------------------------------------------------

    def _submit_waiting(self, loop: asyncio.AbstractEventLoop) -> None:
        self._submit(*self._waiting_on.pop(loop))

    def _submit(self, *pendings: _Pending) -> None:
        for pending in pendings:
            self._queue.put(pending)
        with self._lock:
            closed = self._closed
            if not closed and (self._thread is None or not self._thread.is_alive()):
                self._thread = threading.Thread(
                    target=self._run, name="natid-audit-writer", daemon=True
                )
                self._thread.start()
        if closed:
            self._drain()

    def _run(self) -> None:
        while True:
            if not self._write_batch(block=True):
                with self._lock:
                    # An entry queued after the idle timeout but before this check would
                    # find the thread alive and not start another: look once more.
                    if self._queue.empty() or self._closed:
                        self._thread = None
                        break

    def _drain(self) -> None:
        while self._write_batch(block=False):
            pass

    def _write_batch(self, *, block: bool) -> bool:
        """Write one batch; False when nothing arrived (within the idle time if blocking)."""
        try:
            first = self._queue.get(timeout=IDLE_SECONDS) if block else self._queue.get_nowait()
        except queue.Empty:
            return False
        if first is _WAKE_UP:
            return False
        batch = [first]
        while len(batch) < self._max_batch:
            try:
                pending = self._queue.get_nowait()
            except queue.Empty:
                break
            if pending is _WAKE_UP:  # closing: write this batch, let the loop see it next
                self._queue.put(_WAKE_UP)
                break
            batch.append(pending)
        try:
            self.log.record_many([pending.entry for pending in batch])
        except BaseException as error:  # every waiter must hear of it
            if len(batch) > 1 and _rejected_before_writing(error):
                # One malformed entry (bad event name, details that are not JSON) must not
                # fail the entries batched with it: write them one by one.
                errors: list[BaseException | None] = []
                for pending in batch:
                    try:
                        self.log.record_many([pending.entry])
                    except BaseException as single_error:
                        errors.append(single_error)
                    else:
                        errors.append(None)
                _finish(batch, errors)
                return True
            # Whatever queued up while this attempt failed fails with it: the database was
            # unavailable all that time, and another attempt would make each of those
            # callers wait twice as long for their 503.
            failed = batch + self._take_queued()
            _finish(failed, [error] * len(failed))
            return True
        _finish(batch, [None] * len(batch))
        return True

    def _take_queued(self) -> list[_Pending]:
        taken: list[_Pending] = []
        woken = False
        while True:
            try:
                pending = self._queue.get_nowait()
            except queue.Empty:
                break
            if pending is _WAKE_UP:
                woken = True
            else:
                taken.append(pending)
        if woken:
            self._queue.put(_WAKE_UP)
        return taken


def _rejected_before_writing(error: BaseException) -> bool:
    """An entry was refused on its own merits, not because the database failed."""
    return isinstance(error, AuditError) and not isinstance(error.__cause__, SQLAlchemyError)
