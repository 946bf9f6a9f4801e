"""Kernel-visible names for the service's own threads.

Python (before 3.14) names a thread only inside the interpreter: ``top -H``, ``ps -L``
and ``/proc/PID/task/TID/comm`` show every thread under the process's name. The threads
that do the service's heavy work name themselves (``natid-argon2``, ``natid-audit``), so
that an operator, and the load-test runner's per-thread CPU report, can tell the
password hashing and the audit log's group commit from the event loop.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import sys

# prctl(2) option; the kernel keeps at most 15 bytes of a thread's name.
_PR_SET_NAME = 15
MAX_NAME_BYTES = 15


def _libc() -> ctypes.CDLL | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        return ctypes.CDLL(ctypes.util.find_library("c") or None, use_errno=True)
    except OSError:
        return None


_LIBC = _libc()


def name_native_thread(name: str) -> bool:
    """Give the calling thread ``name`` (cut to 15 bytes) as the kernel shows it; False
    where that is not possible (not Linux), which changes nothing else."""
    if _LIBC is None:
        return False
    encoded = name.encode("ascii", "replace")[:MAX_NAME_BYTES]
    return _LIBC.prctl(_PR_SET_NAME, ctypes.c_char_p(encoded), 0, 0, 0) == 0
