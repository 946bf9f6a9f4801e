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

Where the log is a local SQLite file (``writes_on_loop``), a turn's entries are appended
on the event loop itself, at the end of the turn, when the write lock is free: in WAL
mode with ``synchronous=NORMAL`` a commit is four statements and no disk flush, cheaper
than handing the entries to a thread and back (on a one-core server each hand-off is two
context switches and a GIL transfer, which cost more than the append and evict the
caches of whatever else runs there). When the lock is taken (this process's writer
thread, another process) or an entry is refused, nothing is written there and the turn
goes to the writer thread as below. The commit may run SQLite's automatic checkpoint on
the loop now and then, as a refresh token's rotation already does.

A daemon thread does the rest of the writing; it starts on the first entry it gets and
ends after a short idle spell, so an app that audits nothing (or a test that builds many
apps) keeps no thread around. ``close`` flushes what is queued and stops it; entries
recorded after that are written by the caller itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import queue
import threading
from collections.abc import Callable, Iterator, Sequence
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.exc import SQLAlchemyError

from identity_service.audit import AuditError, AuditLog, NewAuditEntry
from identity_service.db import SqliteWriteWouldWaitError, sqlite_writes_without_waiting
from identity_service.native_threads import name_native_thread

DEFAULT_MAX_BATCH = 256
#: What the kernel calls the writer thread (``top -H``, the load test's CPU report).
WRITER_THREAD_NAME = "natid-audit"
IDLE_SECONDS = 2.0
# How long a caller waits for its commit before giving up (the database is hanging).
COMMIT_TIMEOUT_SECONDS = 30.0


@dataclass(slots=True)
class _Pending:
    """One queued entry and how its caller learns that it was written (or why not):
    a thread waits on ``done``, a coroutine on its ``waiter``."""

    entry: NewAuditEntry
    done: threading.Event | None = None
    waiter: _Waiter | None = None
    error: BaseException | None = None


@dataclass(slots=True, eq=False)
class _Turn:
    """The coroutines that recorded entries during one turn of one event loop: queued
    together, and timed out together (one timer for them all, not one per caller)."""

    waiters: list[_Waiter] = field(default_factory=list)
    pendings: list[_Pending] = field(default_factory=list)
    unfinished: int = 0
    timer: asyncio.TimerHandle | None = None


@dataclass(slots=True, eq=False)
class _Waiter:
    """A coroutine waiting for its entries; its future is settled once the last of them is
    written (or has failed), whichever batches they went in."""

    future: asyncio.Future[None]
    turn: _Turn
    remaining: int
    error: BaseException | None = None


def _finish(batch: Sequence[_Pending], errors: Sequence[BaseException | None]) -> None:
    """Tell every waiter of ``batch`` its outcome: one call per event loop, not per entry."""
    by_loop: dict[asyncio.AbstractEventLoop, list[tuple[_Waiter, BaseException | None]]] = {}
    for pending, error in zip(batch, errors, strict=True):
        pending.error = error
        if pending.done is not None:
            pending.done.set()
        if pending.waiter is not None:
            loop = pending.waiter.future.get_loop()
            by_loop.setdefault(loop, []).append((pending.waiter, error))
    for loop, outcomes in by_loop.items():
        # RuntimeError: the loop was closed, so nobody is waiting any more.
        with contextlib.suppress(RuntimeError):
            loop.call_soon_threadsafe(_resolve_all, outcomes)


def _resolve_all(outcomes: list[tuple[_Waiter, BaseException | None]]) -> None:
    for waiter, error in outcomes:
        if error is not None and waiter.error is None:
            waiter.error = error
        waiter.remaining -= 1
        if waiter.remaining == 0:
            _settle(waiter)


def _outcomes(
    turn: _Turn, error: BaseException | None
) -> list[tuple[_Waiter, BaseException | None]]:
    return [(pending.waiter, error) for pending in turn.pendings if pending.waiter is not None]


def _settle(waiter: _Waiter) -> None:
    if not waiter.future.done():  # done: the waiter was cancelled, or timed out
        if waiter.error is None:
            waiter.future.set_result(None)
        else:
            waiter.future.set_exception(_as_audit_error(waiter.error))
    turn = waiter.turn
    turn.unfinished -= 1
    if turn.unfinished == 0 and turn.timer is not None:
        turn.timer.cancel()


def _time_out(turn: _Turn) -> None:
    for waiter in turn.waiters:
        if not waiter.future.done():
            waiter.future.set_exception(
                AuditError("audit log unavailable: the append did not complete in time")
            )


def _as_audit_error(error: BaseException) -> AuditError:
    if isinstance(error, AuditError):
        return AuditError(str(error))
    return AuditError(f"audit log unavailable: {error.__class__.__name__}")


# The entries recorded inside ``AuditWriter.deferring`` (None outside such a block).
_deferred: ContextVar[list[NewAuditEntry] | None] = ContextVar("natid_deferred_audit", default=None)
# The commits the current answer waits for, collected by ``answer_waits`` (None outside).
_answer_waits: ContextVar[list[asyncio.Future[None]] | None] = ContextVar(
    "natid_answer_waits", default=None
)


@contextlib.contextmanager
def answer_waits() -> Iterator[list[asyncio.Future[None]]]:
    """Inside, a ``deferring`` block that ends hands its commit to the list it yields
    instead of waiting for it; whoever opened it must await every future in it (each
    raises ``AuditError`` if its entries could not be committed) before the answer
    leaves. Waiting where the request's coroutine stack is shallow costs a fraction of
    waiting inside the route, twenty frames down (``api.commit_before_answer``)."""
    waits: list[asyncio.Future[None]] = []
    token = _answer_waits.set(waits)
    try:
        yield waits
    finally:
        _answer_waits.reset(token)


def when_committed(callback: Callable[[bool], None]) -> None:
    """Call ``callback(committed)`` once the commits the current answer waits for (those
    queued so far inside ``answer_waits``) are done: True if all of them succeeded. At
    once, with True, when it waits for none (outside ``answer_waits`` an entry has been
    committed by the time ``record_before_answer`` returns). For counting an outcome as
    what the caller gets: a failed commit turns the answer into a 503."""
    waits = _answer_waits.get()
    if not waits:
        callback(True)
        return
    unsettled = len(waits)
    failed = False

    def settled(future: asyncio.Future[None]) -> None:
        nonlocal unsettled, failed
        if future.cancelled() or future.exception() is not None:
            failed = True
        unsettled -= 1
        if unsettled == 0:
            callback(not failed)

    for future in waits:  # callbacks run later, never while this loop does
        future.add_done_callback(settled)


class _Deferring:
    """``AuditWriter.deferring``'s context manager (a class: a generator-based one costs a
    few times more, and it wraps every token request)."""

    __slots__ = ("_entries", "_token", "_writer")

    def __init__(self, writer: AuditWriter) -> None:
        self._writer = writer
        self._entries: list[NewAuditEntry] = []

    async def __aenter__(self) -> None:
        self._token = _deferred.set(self._entries)

    async def __aexit__(self, *_exception: object) -> None:
        _deferred.reset(self._token)
        await self._writer.record_before_answer(self._entries)


# Put in the queue by ``close`` so that the waiting thread notices at once.
_WAKE_UP = _Pending(NewAuditEntry("wake_up"))


class AuditWriter:
    """Appends entries to ``log`` in group commits (see the module docstring); with
    ``writes_on_loop`` (``log`` is an SQLite file) a coroutine's entries are appended on
    its event loop whenever that waits for nobody."""

    def __init__(
        self,
        log: AuditLog,
        *,
        max_batch: int = DEFAULT_MAX_BATCH,
        writes_on_loop: bool = False,
    ) -> None:
        if max_batch < 1:
            raise ValueError("max_batch must be at least 1")
        self.log = log
        self._max_batch = max_batch
        self._writes_on_loop = writes_on_loop
        self._queue: queue.SimpleQueue[_Pending] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._closed = False
        # Per event loop: the entries of its current turn, not yet queued.
        self._turns: dict[asyncio.AbstractEventLoop, _Turn] = {}

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
        await self.queue_async(entries)

    async def record_before_answer(self, entries: Sequence[NewAuditEntry]) -> None:
        """``record_many_async``, except inside ``answer_waits``: there the entries are only
        queued, and the answer is what waits for their commit."""
        waits = _answer_waits.get()
        if waits is not None and entries:
            waits.append(self.queue_async(entries))
            return
        await self.record_many_async(entries)

    def queue_async(self, entries: Sequence[NewAuditEntry]) -> asyncio.Future[None]:
        """Queue ``entries`` (in order) with this event-loop turn's; the future is done once
        all are committed, or fails with ``AuditError``."""
        loop = asyncio.get_running_loop()
        turn = self._turns.get(loop)
        if turn is None:
            # Queued together once this turn of the event loop is over: the writer thread
            # then finds the whole turn's entries at once, rather than being woken by the
            # first of them and writing a batch of one or two.
            turn = self._turns[loop] = _Turn()
            loop.call_soon(self._submit_turn, loop)
        waiter = _Waiter(loop.create_future(), turn, len(entries))
        turn.waiters.append(waiter)
        turn.unfinished += 1
        turn.pendings.extend(_Pending(entry, waiter=waiter) for entry in entries)
        return waiter.future

    def deferring(self) -> _Deferring:
        """``async with``: collect what synchronous code records in the block and commit it
        when the block ends, whether it ends normally or with an exception; ``AuditError``
        then when the entries cannot be committed. Code in the block must not rely on an
        entry being committed before the block ends."""
        return _Deferring(self)

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

    def _submit_turn(self, loop: asyncio.AbstractEventLoop) -> None:
        turn = self._turns.pop(loop)
        if self._writes_on_loop and self._written_here(turn):
            return
        turn.timer = loop.call_later(COMMIT_TIMEOUT_SECONDS, _time_out, turn)
        self._submit(*turn.pendings)

    def _written_here(self, turn: _Turn) -> bool:
        """Append ``turn``'s entries on the event loop and settle their waiters; False, with
        nothing written, when that would wait for the write lock, or when one of several
        entries is refused (the writer thread then writes the others one by one)."""
        if len(turn.pendings) > self._max_batch:
            return False
        try:
            with sqlite_writes_without_waiting():
                self.log.record_many([pending.entry for pending in turn.pendings])
        except SqliteWriteWouldWaitError:
            return False
        except Exception as error:
            if len(turn.pendings) > 1 and _rejected_before_writing(error):
                return False
            _resolve_all(_outcomes(turn, error))
            return True
        _resolve_all(_outcomes(turn, None))
        return True

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
        name_native_thread(WRITER_THREAD_NAME)
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
