"""hashicorp/yamux (its spec.md) on an asyncio connection: many byte streams over one.

go-plugin's broker multiplexing (see _mux.py) runs yamux over the host's one
connection: the host is the client (odd stream ids), the plugin the server
(even ids). Every frame starts with a 12-byte big-endian header

    u8 version (0) | u8 type | u16 flags | u32 stream id | u32 length

and only Data frames carry a payload (`length` bytes); for the other types
`length` is a value (window delta, ping token, GoAway code).

Each direction of a stream may carry INITIAL_WINDOW unacknowledged bytes.
We grant the peer more only for what our consumer has read, so a consumer
that stops reading stalls its own stream, never the connection. Incoming
streams are accepted (ACK) at once and handed to `on_stream` in the order of
their SYNs: go-plugin's broker relies on that order. Everything runs on one
event loop; nothing here is thread-safe.
"""

from __future__ import annotations

import asyncio
import struct
from typing import Callable, Dict, Optional

HEADER = struct.Struct(">BBHII")
VERSION = 0

DATA, WINDOW_UPDATE, PING, GO_AWAY = 0, 1, 2, 3
SYN, ACK, FIN, RST = 1, 2, 4, 8
GO_AWAY_NORMAL, GO_AWAY_PROTOCOL_ERROR = 0, 1

INITIAL_WINDOW = 256 * 1024
# Writes are cut into frames of at most this, so that streams take turns.
MAX_DATA_FRAME = 64 * 1024
# Like hashicorp/yamux, grant window in steps of at least half of it.
GRANT_STEP = INITIAL_WINDOW // 2


class YamuxError(Exception):
    """The peer broke the protocol; the session ends with GoAway(protocol error)."""


class Stream:
    """One stream: read() and write() bytes, close() half-closes (FIN), reset() abandons (RST)."""

    def __init__(self, session: "Session", stream_id: int):
        self.id = stream_id
        self._session = session
        self._send_window = INITIAL_WINDOW
        # What the peer may still send; unread plus read-but-not-granted make up the rest.
        self._recv_window = INITIAL_WINDOW
        self._unread = bytearray()
        self._read_ungranted = 0
        self._readable = asyncio.Event()
        self._writable = asyncio.Event()
        self._writable.set()
        self._fin_sent = False
        self._fin_received = False
        self._reset = False

    async def read(self) -> bytes:
        """The bytes that have arrived (waits for some); b"" once the peer is done or the stream is gone."""
        while not self._unread and not (self._fin_received or self._reset):
            self._readable.clear()
            await self._readable.wait()
        if self._reset:
            return b""
        data = bytes(self._unread)
        self._unread.clear()
        self._read_ungranted += len(data)
        if self._read_ungranted >= GRANT_STEP and not self._fin_received:
            self._recv_window += self._read_ungranted
            self._session._send(WINDOW_UPDATE, 0, self.id, self._read_ungranted)
            self._read_ungranted = 0
        return data

    async def write(self, data: bytes) -> None:
        """Sends `data`, waiting for window as needed. Raises ConnectionResetError once the stream is gone."""
        view = memoryview(data)
        while view:
            while self._send_window == 0 and not self._reset:
                self._writable.clear()
                await self._writable.wait()
            if self._reset or self._fin_sent:
                raise ConnectionResetError(f"yamux: stream {self.id} is closed")
            n = min(len(view), self._send_window, MAX_DATA_FRAME)
            self._send_window -= n
            self._session._send(DATA, 0, self.id, n, view[:n])
            view = view[n:]
            await self._session._drain()

    def close(self) -> None:
        """Half-close: we send nothing more. The stream is done once the peer has closed too."""
        if self._fin_sent or self._reset:
            return
        self._fin_sent = True
        self._session._send(WINDOW_UPDATE, FIN, self.id, 0)
        self._done_if_closed()

    def reset(self) -> None:
        if self._reset:
            return
        if not (self._fin_sent and self._fin_received):
            self._session._send(WINDOW_UPDATE, RST, self.id, 0)
        self._gone()

    # ----- called by the session --------------------------------------------

    def _received(self, payload: bytes) -> None:
        if self._fin_received:
            raise YamuxError(f"data after FIN on stream {self.id}")
        if len(payload) > self._recv_window:
            raise YamuxError(f"data beyond the window on stream {self.id}")
        self._recv_window -= len(payload)
        self._unread += payload
        self._readable.set()

    def _window_update(self, delta: int) -> None:
        self._send_window += delta
        self._writable.set()

    def _remote_fin(self) -> None:
        self._fin_received = True
        self._readable.set()
        self._done_if_closed()

    def _gone(self) -> None:
        """Reset by either side, or the session ended: wake everyone waiting, forget the stream."""
        self._reset = True
        self._readable.set()
        self._writable.set()
        self._session._streams.pop(self.id, None)

    def _done_if_closed(self) -> None:
        if self._fin_sent and self._fin_received:
            self._session._streams.pop(self.id, None)


class Session:
    """A yamux session on (reader, writer). run() serves it until the connection ends."""

    def __init__(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        client: bool,
        on_stream: Callable[[Stream], None],
    ):
        self._reader = reader
        self._writer = writer
        self._on_stream = on_stream
        self._next_id = 1 if client else 2
        self._streams: Dict[int, Stream] = {}
        self._remote_goaway = False
        self._dead = False

    def open(self) -> Stream:
        """A new stream to the peer; it can be written at once (the peer's ACK is not awaited)."""
        if self._dead or self._remote_goaway:
            raise ConnectionError("yamux: the session accepts no new streams")
        stream = Stream(self, self._next_id)
        self._next_id += 2
        self._streams[stream.id] = stream
        self._send(WINDOW_UPDATE, SYN, stream.id, 0)
        return stream

    def close(self) -> None:
        """GoAway(normal), then the connection ends; streams still open are gone."""
        if self._dead:
            return
        self._send(GO_AWAY, 0, 0, GO_AWAY_NORMAL)
        self._end()

    async def run(self) -> None:
        """Reads frames until the connection ends. Raises YamuxError (after telling the peer) if it broke the protocol."""
        try:
            while True:
                version, kind, flags, stream_id, length = HEADER.unpack(await self._reader.readexactly(HEADER.size))
                if version != VERSION:
                    raise YamuxError(f"unsupported version {version}")
                payload = await self._reader.readexactly(length) if kind == DATA and length else b""
                self._frame(kind, flags, stream_id, length, payload)
        except (asyncio.IncompleteReadError, ConnectionError, OSError):
            pass
        except YamuxError:
            self._send(GO_AWAY, 0, 0, GO_AWAY_PROTOCOL_ERROR)
            raise
        finally:
            self._end()

    def _frame(self, kind: int, flags: int, stream_id: int, length: int, payload: bytes) -> None:
        if kind == PING:
            if flags & SYN:
                self._send(PING, ACK, 0, length)
            return
        if kind == GO_AWAY:
            if length != GO_AWAY_NORMAL:
                raise ConnectionError(f"yamux: the peer ended the session (GoAway code {length})")
            self._remote_goaway = True
            return
        if kind not in (DATA, WINDOW_UPDATE):
            raise YamuxError(f"unknown frame type {kind}")
        stream = self._streams.get(stream_id)
        if flags & SYN:
            stream = self._incoming(stream_id, stream)
        # Frames of a stream that is gone (reset, refused) are dropped.
        if stream is None:
            return
        if flags & RST:
            stream._gone()
            return
        if kind == WINDOW_UPDATE:
            stream._window_update(length)
        elif payload:
            stream._received(payload)
        if flags & FIN:
            stream._remote_fin()

    def _incoming(self, stream_id: int, existing: Optional[Stream]) -> Optional[Stream]:
        if existing is not None or stream_id == 0 or stream_id % 2 == self._next_id % 2:
            raise YamuxError(f"the peer opened stream {stream_id}, which is taken or one of ours")
        if self._dead:
            return None
        stream = Stream(self, stream_id)
        self._streams[stream_id] = stream
        self._send(WINDOW_UPDATE, ACK, stream_id, 0)
        self._on_stream(stream)
        return stream

    def _send(self, kind: int, flags: int, stream_id: int, length: int, payload=b"") -> None:
        if not self._dead:
            self._writer.write(HEADER.pack(VERSION, kind, flags, stream_id, length) + bytes(payload))

    async def _drain(self) -> None:
        if self._dead:
            raise ConnectionResetError("yamux: the session is closed")
        await self._writer.drain()

    def _end(self) -> None:
        if self._dead:
            return
        self._dead = True
        for stream in list(self._streams.values()):
            stream._gone()
        # Flushes what is written, then closes.
        self._writer.close()
