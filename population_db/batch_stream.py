"""Generated batches, produced in a worker process one batch ahead of the writer.

Owns ``stream_batches``: the demo batch first, then generated batches in order, each
shaped for its database (rows sorted by ID number for SQLite ``executemany``, COPY text
for PostgreSQL). Generating runs in one worker process so both cores work while the
loader writes; a batch crosses the process boundary pickled, so one that waits for the
writer stays a few compact megabytes. The worker ends with the seeding process, even when
that is killed with ``kill -9``.
"""

from __future__ import annotations

import multiprocessing
import os
import pickle
import select
import threading
import time
from collections import deque
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

from population_db import generator
from population_db.copy_format import copy_text

#: Batches generated ahead of the one being written: generating a batch takes about half
#: as long as writing it, so one keeps the writer busy, and memory holds two batches.
BATCHES_IN_FLIGHT = 1

Payload = tuple[int, list[tuple], list[tuple]] | tuple[int, str, str]
"""(citizen count, households, citizens): rows for SQLite, COPY text for PostgreSQL."""


class WorkerDiedError(RuntimeError):
    """The generator worker process ended without delivering a batch."""


def stream_batches(
    seed: int,
    sizes: Sequence[int],
    start: int,
    demo: generator.PopulationBatch,
    *,
    postgres: bool,
) -> Iterator[tuple[int, Payload]]:
    """``(position, payload)`` for positions ``start`` to the end, in order.

    Position 0 is the demo batch; position ``k`` is generated batch ``k - 1`` of ``seed``
    with ``sizes[k]`` citizens. Close the iterator to stop the worker early.
    """
    if start == 0:
        yield 0, _payload(demo, postgres)
        start = 1
    positions = range(start, len(sizes))
    if len(positions) <= 1:  # not worth a process
        for position in positions:
            batch = generator.generate_batch(seed, position - 1, sizes[position])
            yield position, _payload(batch, postgres)
        return
    context = multiprocessing.get_context(_start_method())
    if context.get_start_method() == "forkserver":
        context.set_forkserver_preload(["population_db.batch_stream"])
    pool = ProcessPoolExecutor(
        max_workers=1, mp_context=context, initializer=_exit_with, initargs=(os.getpid(),)
    )
    pending: deque[tuple[int, Future[bytes]]] = deque()
    try:
        for position in positions:
            future = pool.submit(_generate_payload, seed, position - 1, sizes[position], postgres)
            pending.append((position, future))
            if len(pending) > BATCHES_IN_FLIGHT:
                yield _next_result(pending)
        while pending:
            yield _next_result(pending)
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _start_method() -> str:
    # forkserver: workers never inherit this process's threads (Rich's refresh thread)
    # or database connections, and the generator is imported once per process.
    methods = multiprocessing.get_all_start_methods()
    return "forkserver" if "forkserver" in methods else "spawn"


def _exit_with(seeding_pid: int) -> None:
    """Worker initializer: end the worker when the seeding process ends, even by kill -9.

    Otherwise an orphaned worker blocks for ever writing a batch nobody reads (it holds
    both ends of the result pipe), and keeps the forkserver alive with it.
    """
    threading.Thread(target=_wait_for_exit, args=(seeding_pid,), daemon=True).start()


def _wait_for_exit(pid: int) -> None:
    try:
        handle = os.pidfd_open(pid)  # readable once the process has exited (Linux)
    except ProcessLookupError:
        os._exit(1)
    except (AttributeError, OSError):
        handle = None
    if handle is not None:
        select.select([handle], [], [])
        os._exit(1)
    while True:  # elsewhere: poll
        time.sleep(0.5)
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            os._exit(1)


def _next_result(pending: deque[tuple[int, Future[bytes]]]) -> tuple[int, Payload]:
    position, future = pending.popleft()
    try:
        return position, pickle.loads(future.result())
    except BrokenProcessPool as error:
        raise WorkerDiedError("the generator process died") from error


def _generate_payload(seed: int, index: int, size: int, postgres: bool) -> bytes:
    """Runs in the worker: generate one batch and shape it for the writer, pickled.

    Pickled here so that a batch waiting for the writer stays a few compact megabytes
    until its turn, instead of tens of megabytes of Python objects.
    """
    payload = _payload(generator.generate_batch(seed, index, size), postgres)
    return pickle.dumps(payload, protocol=pickle.HIGHEST_PROTOCOL)


def _payload(batch: generator.PopulationBatch, postgres: bool) -> Payload:
    # Rows in key order go into the primary-key B-tree page by page.
    citizens = sorted(batch.citizens)
    if postgres:
        return len(citizens), copy_text(batch.households), copy_text(citizens)
    return len(citizens), batch.households, citizens
