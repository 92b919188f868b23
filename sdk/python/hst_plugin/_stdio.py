"""GRPCStdio: what the plugin writes to sys.stdout/sys.stderr after the handshake.

After the handshake line, serve() replaces sys.stdout and sys.stderr with
text streams that feed an in-process buffer; plugin.GRPCStdio/StreamStdio
sends that buffer to the host in chunks of at most 1 KiB, tagged STDOUT or
STDERR. Nothing blocks the writer: if the host never reads, the oldest
buffered data is dropped beyond a limit (go-plugin's pipe would instead block
the writer once full).

Only Python-level writes are captured; output written straight to file
descriptors 1 and 2 (C extensions, subprocesses) still goes to the process's
real pipes, as with go-plugin, which swaps os.Stdout/os.Stderr only.
"""

from __future__ import annotations

import collections
import io
import threading
from typing import Deque, Optional, Tuple

from .gen.plugin import grpc_stdio_pb2, grpc_stdio_pb2_grpc

CHUNK_SIZE = 1024
DEFAULT_LIMIT = 4 * 1024 * 1024

STDOUT = grpc_stdio_pb2.StdioData.STDOUT
STDERR = grpc_stdio_pb2.StdioData.STDERR


class StdioBuffer:
    """A bounded FIFO of (channel, bytes) chunks shared by both writers."""

    def __init__(self, limit: int = DEFAULT_LIMIT):
        self._items: Deque[Tuple[int, bytes]] = collections.deque()
        self._size = 0
        self._limit = limit
        self._cond = threading.Condition()
        self.dropped = 0

    def put(self, channel: int, data: bytes) -> None:
        if not data:
            return
        with self._cond:
            for start in range(0, len(data), CHUNK_SIZE):
                chunk = bytes(data[start : start + CHUNK_SIZE])
                self._items.append((channel, chunk))
                self._size += len(chunk)
            while self._size > self._limit and self._items:
                _, old = self._items.popleft()
                self._size -= len(old)
                self.dropped += len(old)
            self._cond.notify_all()

    def get(self, timeout: float) -> Optional[Tuple[int, bytes]]:
        """Next chunk, merging queued chunks of the same channel up to CHUNK_SIZE."""
        with self._cond:
            if not self._items and not self._cond.wait_for(lambda: bool(self._items), timeout):
                return None
            channel, data = self._items.popleft()
            self._size -= len(data)
            merged = bytearray(data)
            while self._items:
                next_channel, more = self._items[0]
                if next_channel != channel or len(merged) + len(more) > CHUNK_SIZE:
                    break
                self._items.popleft()
                self._size -= len(more)
                merged += more
            return channel, bytes(merged)


class _ChannelRaw(io.RawIOBase):
    """Unbuffered binary sink for one channel."""

    def __init__(self, buffer: StdioBuffer, channel: int, name: str):
        super().__init__()
        self._buffer = buffer
        self._channel = channel
        self._name = name

    @property
    def name(self) -> str:  # type: ignore[override]
        return self._name

    def writable(self) -> bool:
        return True

    def write(self, data) -> int:  # type: ignore[override]
        data = bytes(data)
        self._buffer.put(self._channel, data)
        return len(data)

    def isatty(self) -> bool:
        return False


def make_text_stream(buffer: StdioBuffer, channel: int, name: str) -> io.TextIOWrapper:
    """A text stream, usable as sys.stdout/sys.stderr, that writes through to the buffer.

    There is no buffering layer (write_through, and the raw sink as
    `.buffer`), so every write reaches the buffer at once, like a write to an
    unbuffered pipe; `.buffer.write(b"...")` takes bytes.
    """
    raw = _ChannelRaw(buffer, channel, name)
    return io.TextIOWrapper(
        raw,  # type: ignore[arg-type]
        encoding="utf-8",
        errors="backslashreplace",
        line_buffering=True,
        write_through=True,
    )


class StdioServicer(grpc_stdio_pb2_grpc.GRPCStdioServicer):
    """plugin.GRPCStdio: streams the buffer until the host cancels or the server stops."""

    def __init__(self, buffer: StdioBuffer, stopping: threading.Event, poll: float = 0.1):
        self._buffer = buffer
        self._stopping = stopping
        self._poll = poll

    def StreamStdio(self, request, context):
        while context.is_active() and not self._stopping.is_set():
            item = self._buffer.get(self._poll)
            if item is None:
                continue
            channel, data = item
            yield grpc_stdio_pb2.StdioData(channel=channel, data=data)
