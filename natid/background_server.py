"""Serving an ASGI app with uvicorn in a background thread, on a port bound beforehand.

Used by the embedded natid (``natid.embedded_idp``) and by tests that run a portal next to
it. Binding the socket first means the URL is known before the app is built (natid's
issuer is part of its settings) and no other process can take the port meanwhile.
"""

from __future__ import annotations

import socket
import threading
import time
from typing import Any

import uvicorn

START_TIMEOUT_SECONDS = 20.0


class BackgroundServer:
    """An ASGI app served by uvicorn in a daemon thread, on a socket bound beforehand (so
    its URL is known before the app is built and no other process can take the port)."""

    def __init__(self, server: uvicorn.Server, thread: threading.Thread, listener: socket.socket):
        self._server = server
        self._thread = thread
        self._listener = listener

    @classmethod
    def start(cls, app: Any, listener: socket.socket) -> BackgroundServer:
        # log_config=None: an embedded server leaves the host test suite's logging alone
        config = uvicorn.Config(app, log_config=None, access_log=False, lifespan="on", ws="none")
        server = uvicorn.Server(config)
        thread = threading.Thread(
            target=server.run, kwargs={"sockets": [listener]}, name="natid-server", daemon=True
        )
        thread.start()
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the server did not start")
            time.sleep(0.01)
        return cls(server, thread, listener)

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(START_TIMEOUT_SECONDS)
        self._listener.close()


def loopback_listener() -> tuple[socket.socket, str]:
    """A socket bound to a free loopback port, and its base URL."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    return listener, f"http://127.0.0.1:{listener.getsockname()[1]}"
