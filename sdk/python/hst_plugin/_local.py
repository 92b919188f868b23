"""What only this plugin process reaches: one asyncio loop and a private socket directory.

grpcio serves and dials sockets only, so wherever the SDK must put bytes
through its own code (TLS in _bridge.py, yamux streams in _mux.py) gRPC talks
to a unix socket in a 0700 directory of the plugin's own, and asyncio
coroutines on one daemon thread move the bytes on. Nobody else can connect to
those sockets, so they need no TLS of their own.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import tempfile
import threading


class Local:
    def __init__(self) -> None:
        self.dir = tempfile.mkdtemp(prefix="hst-plugin-")
        os.chmod(self.dir, 0o700)
        self.loop = asyncio.new_event_loop()
        self._count = 0
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, name="hst-local-loop", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_forever()

    def call(self, coro, timeout: float = 10.0):
        """Runs `coro` on the loop and waits for its result."""
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def socket_path(self, label: str) -> str:
        """A fresh unix socket path in the private directory."""
        with self._lock:
            self._count += 1
            n = self._count
        return os.path.join(self.dir, f"{label}{n}.sock")

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        shutil.rmtree(self.dir, ignore_errors=True)
