"""go-plugin's broker multiplexing (PLUGIN_MULTIPLEX_GRPC, go-plugin >= 1.6), plugin side.

The host dials the plugin's socket once and runs yamux over it (_yamux.py);
every gRPC connection, the main one and each broker connection, is one
stream. grpcio cannot serve or dial a yamux stream, so each stream is piped
to or from a private socket (_local.Local):

* incoming streams: a stream the host knocked for (over the broker stream)
  goes to that broker id's server, any other to the main server: each
  server listens privately, behind the TLS bridge with AutoMTLS, so TLS runs
  per stream exactly as it runs per socket without multiplexing;
* our broker dials: gRPC connects to a private listener for the id; each
  connection there knocks, waits for the host's ack and opens a stream.
  Knock and open go one at a time, so that the stream opened after an ack
  is the one that ack admitted.
"""

from __future__ import annotations

import asyncio
import collections
import socket
import threading
from typing import Callable, Deque, Dict, List, Optional, Set

from ._local import Local
from ._log import Logger
from ._yamux import Session, Stream, YamuxError

# go-plugin's waits: for the host's one connection, and for a knock's ack.
CONNECT_WAIT = 5.0
KNOCK_WAIT = 5.0
# On close, how long the pipes may take to hand on what the servers last wrote (the Shutdown reply).
CLOSE_GRACE = 0.5
_CHUNK = 64 * 1024


class KnockError(Exception):
    pass


class Multiplexer:
    def __init__(self, logger: Logger, local: Local, knock: Callable[[int], None], lost: Callable[[], None]):
        """knock(id) sends the host a knock for id; lost() is called once the host's connection is gone (or never came)."""
        self._log = logger
        self._local = local
        self._knock = knock
        self._lost = lost
        self._lock = threading.Lock()
        self._main: Optional[str] = None
        self._servers: Dict[int, str] = {}
        # Ids whose knock we acknowledged, oldest first: each takes the next incoming stream.
        self._knocked: Deque[int] = collections.deque()
        self._acks: Dict[int, "asyncio.Future[str]"] = {}
        self._dialing = asyncio.Lock()
        self._session: Optional[Session] = None
        self._listeners: List[asyncio.AbstractServer] = []
        self._pipes: Set["asyncio.Task[None]"] = set()

    # ----- called from any thread -------------------------------------------

    def start(self, listener: socket.socket, network: str, main: str) -> None:
        """Accept the host's one connection on `listener`; streams nobody knocked for go to the socket `main`."""
        self._main = main
        self._local.call(self._accept_host(listener, network))

    def serve(self, service_id: int, path: str) -> None:
        """Streams knocked for service_id go to the socket `path`."""
        with self._lock:
            self._servers[service_id] = path

    def admit(self, service_id: int) -> str:
        """The host knocked for service_id: '' if we serve it (its stream comes next), else why not."""
        with self._lock:
            if service_id not in self._servers:
                return f"no listener for id {service_id}"
            self._knocked.append(service_id)
        return ""

    def acknowledged(self, service_id: int, error: str) -> None:
        """The host answered our knock for service_id."""
        self._local.loop.call_soon_threadsafe(self._settle, service_id, error)

    def dial_endpoint(self, service_id: int) -> str:
        """A private socket; each connection to it becomes a stream to the host's service_id."""
        path = self._local.socket_path("mux")

        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            self._track(asyncio.current_task())
            try:
                stream = await self._open(service_id)
            except (KnockError, ConnectionError) as exc:
                self._log.error("broker: cannot dial the host", service_id=service_id, error=exc)
                writer.close()
                return
            await self._pipe(stream, reader, writer)

        async def listen() -> None:
            self._listeners.append(await asyncio.start_unix_server(handle, path=path))

        self._local.call(listen())
        return path

    def close(self) -> None:
        """Lets the pipes finish handing on for a moment, then ends the session."""

        async def stop() -> None:
            for listener in self._listeners:
                listener.close()
            if self._pipes:
                await asyncio.wait(self._pipes, timeout=CLOSE_GRACE)
            if self._session is not None:
                self._session.close()

        try:
            self._local.call(stop(), timeout=CLOSE_GRACE + 1.0)
        except Exception:  # noqa: BLE001 - closing is best effort
            pass

    # ----- on the loop ------------------------------------------------------

    async def _accept_host(self, listener: socket.socket, network: str) -> None:
        loop = asyncio.get_running_loop()
        connected = loop.create_future()

        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            # One connection carries everything; nobody else gets in.
            if connected.done():
                writer.close()
                return
            connected.set_result(None)
            server.close()
            self._log.debug("host connected; serving multiplexed")
            self._session = Session(reader, writer, client=False, on_stream=self._route)
            try:
                await self._session.run()
            except YamuxError as exc:
                self._log.error("multiplexed connection failed", error=exc)
            self._lost()

        def too_late() -> None:
            if connected.done():
                return
            connected.set_result(None)
            server.close()
            self._log.error(f"the host did not connect within {CONNECT_WAIT:g} s; nothing to serve")
            self._lost()

        if network == "unix":
            server = await asyncio.start_unix_server(handle, sock=listener)
        else:
            server = await asyncio.start_server(handle, sock=listener)
        loop.call_later(CONNECT_WAIT, too_late)

    def _route(self, stream: Stream) -> None:
        with self._lock:
            path = self._servers.get(self._knocked.popleft()) if self._knocked else self._main
        if path is None:
            stream.reset()
            return
        self._track(asyncio.ensure_future(self._pipe_to(stream, path)))

    async def _pipe_to(self, stream: Stream, path: str) -> None:
        try:
            reader, writer = await asyncio.open_unix_connection(path)
        except OSError as exc:
            self._log.error("cannot reach a gRPC server for a multiplexed stream", error=exc)
            stream.reset()
            return
        await self._pipe(stream, reader, writer)

    async def _open(self, service_id: int) -> Stream:
        async with self._dialing:
            if self._session is None:
                raise ConnectionError("the host has not connected")
            ack: "asyncio.Future[str]" = asyncio.get_running_loop().create_future()
            self._acks[service_id] = ack
            self._knock(service_id)
            try:
                error = await asyncio.wait_for(ack, KNOCK_WAIT)
            except asyncio.TimeoutError:
                raise KnockError(f"timeout waiting for multiplexing knock handshake on id {service_id}") from None
            finally:
                self._acks.pop(service_id, None)
            if error:
                raise KnockError(f"failed to knock for id {service_id}: {error}")
            return self._session.open()

    def _settle(self, service_id: int, error: str) -> None:
        ack = self._acks.get(service_id)
        if ack is None or ack.done():
            self._log.debug("broker: knock acknowledgement nobody waits for, dropped", service_id=service_id)
            return
        ack.set_result(error)

    def _track(self, task: "asyncio.Task[None]") -> None:
        """close() waits for the pipes tracked here."""
        self._pipes.add(task)
        task.add_done_callback(self._pipes.discard)

    async def _pipe(self, stream: Stream, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """Copies both ways until either ends (HTTP/2 needs no half-close), then ends both."""

        async def up() -> None:
            while data := await reader.read(_CHUNK):
                await stream.write(data)

        async def down() -> None:
            while data := await stream.read():
                writer.write(data)
                await writer.drain()

        tasks = [asyncio.ensure_future(up()), asyncio.ensure_future(down())]
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        stream.close()
        writer.close()
