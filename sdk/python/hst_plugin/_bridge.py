"""TLS for AutoMTLS through Python's ssl module (OpenSSL) instead of grpcio's TLS.

Why: grpcio's TLS is BoringSSL, whose signature-verification preferences do
not include ecdsa_secp521r1_sha512. go-plugin hosts use P-521 certificates,
so a Go host never finds a client certificate the grpcio server would accept
and sends none (handshake error PEER_DID_NOT_RETURN_A_CERTIFICATE); the same
gap breaks a grpcio client against a Go host's P-521 broker server.

So with AutoMTLS every gRPC server of the plugin listens in plaintext on a
private unix socket (in a 0700 directory) and a bridge owns the public
listener: it terminates TLS (own certificate, client certificate required and
verified against the host's, TLS >= 1.2, ALPN h2) and copies bytes to the
private socket. Broker dials go the other way: grpc connects in plaintext to
a private socket and the bridge opens a TLS connection to the host's listener
(own certificate as client certificate, only the host's certificate trusted,
server name "localhost").

One asyncio event loop in a daemon thread runs every bridge of the process.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import ssl
import sys
import tempfile
import threading
from typing import List, Optional

from ._log import Logger

_CHUNK = 64 * 1024
HANDSHAKE_TIMEOUT = 10.0


def _ssl_context(server: bool, cert_pem: bytes, key_pem: bytes, peer_pem: bytes, private_dir: str) -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER if server else ssl.PROTOCOL_TLS_CLIENT)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.verify_mode = ssl.CERT_REQUIRED
    if not server:
        ctx.check_hostname = True
    ctx.load_verify_locations(cadata=peer_pem.decode("ascii"))
    # load_cert_chain only reads files: write them 0600 in the private
    # directory and remove them right after loading.
    fd, path = tempfile.mkstemp(prefix="tls-", suffix=".pem", dir=private_dir)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(cert_pem + b"\n" + key_pem)
        ctx.load_cert_chain(path)
    finally:
        try:
            os.remove(path)
        except OSError:
            pass
    ctx.set_alpn_protocols(["h2"])
    return ctx


async def _pump(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while True:
            data = await reader.read(_CHUNK)
            if not data:
                break
            writer.write(data)
            await writer.drain()
    except (ConnectionError, OSError, ssl.SSLError, asyncio.IncompleteReadError):
        pass
    finally:
        try:
            writer.close()
        except Exception:  # noqa: BLE001
            pass


async def _splice(
    a_reader: asyncio.StreamReader,
    a_writer: asyncio.StreamWriter,
    b_reader: asyncio.StreamReader,
    b_writer: asyncio.StreamWriter,
) -> None:
    tasks = [
        asyncio.ensure_future(_pump(a_reader, b_writer)),
        asyncio.ensure_future(_pump(b_reader, a_writer)),
    ]
    # HTTP/2 needs no half-close: when either direction ends, end both.
    await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    for writer in (a_writer, b_writer):
        try:
            writer.close()
        except Exception:  # noqa: BLE001
            pass
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


async def _open(network: str, address: str, ssl_ctx: Optional[ssl.SSLContext] = None):
    extra = {}
    if ssl_ctx is not None:
        extra = {"ssl": ssl_ctx, "server_hostname": "localhost", "ssl_handshake_timeout": HANDSHAKE_TIMEOUT}
    if network == "unix":
        return await asyncio.open_unix_connection(address, **extra)
    host, _, port = address.rpartition(":")
    return await asyncio.open_connection(host.strip("[]"), int(port), **extra)


class TLSBridge:
    """TLS termination and origination for one plugin process."""

    def __init__(self, logger: Logger, cert_pem: bytes, key_pem: bytes, peer_pem: bytes):
        self._log = logger
        self.private_dir = tempfile.mkdtemp(prefix="hst-plugin-")
        os.chmod(self.private_dir, 0o700)
        self._server_ctx = _ssl_context(True, cert_pem, key_pem, peer_pem, self.private_dir)
        self._client_ctx = _ssl_context(False, cert_pem, key_pem, peer_pem, self.private_dir)
        self._loop = asyncio.new_event_loop()
        self._servers: List[asyncio.AbstractServer] = []
        self._count = 0
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, name="hst-tls-bridge", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._loop.run_forever()

    def _call(self, coro, timeout: float = 10.0):
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout)

    def private_endpoint(self, label: str) -> "tuple[str, str]":
        """A fresh (network, address) for a plaintext listener only this process uses.

        A unix socket in the 0700 private directory; on Windows, 127.0.0.1
        with port 0 (the caller learns the real port when it binds).
        """
        with self._lock:
            self._count += 1
            n = self._count
        if sys.platform == "win32":  # pragma: no cover - no unix sockets
            return "tcp", "127.0.0.1:0"
        return "unix", os.path.join(self.private_dir, f"{label}{n}.sock")

    # ----- plugin as TLS server ---------------------------------------------

    def serve(self, listener: socket.socket, network: str, inner: "tuple[str, str]") -> None:
        """Accept TLS on `listener` (bound, listening) and forward plaintext to `inner`."""
        inner_network, inner_address = inner

        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            try:
                inner_reader, inner_writer = await _open(inner_network, inner_address)
            except OSError as exc:
                self._log.error("tls bridge: cannot reach the gRPC server", error=exc)
                writer.close()
                return
            await _splice(reader, writer, inner_reader, inner_writer)

        async def start() -> asyncio.AbstractServer:
            kwargs = {"ssl": self._server_ctx, "ssl_handshake_timeout": HANDSHAKE_TIMEOUT, "sock": listener}
            if network == "unix":
                return await asyncio.start_unix_server(handle, **kwargs)
            return await asyncio.start_server(handle, **kwargs)

        server = self._call(start())
        self._servers.append(server)

    # ----- plugin as TLS client (broker dial) -------------------------------

    def forward(self, network: str, address: str) -> str:
        """Listen in plaintext privately; each connection is forwarded over TLS to (network, address).

        Returns the grpc target of the private listener.
        """
        local_network, local_address = self.private_endpoint("dial")

        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            try:
                remote_reader, remote_writer = await _open(network, address, self._client_ctx)
            except (OSError, ssl.SSLError, asyncio.TimeoutError) as exc:
                self._log.error("tls bridge: cannot reach the host", network=network, address=address, error=exc)
                writer.close()
                return
            await _splice(reader, writer, remote_reader, remote_writer)

        async def start() -> asyncio.AbstractServer:
            if local_network == "unix":
                return await asyncio.start_unix_server(handle, path=local_address)
            return await asyncio.start_server(handle, host="127.0.0.1", port=0)  # pragma: no cover

        server = self._call(start())
        self._servers.append(server)
        if local_network == "unix":
            return f"unix:{local_address}"
        port = server.sockets[0].getsockname()[1]  # pragma: no cover
        return f"127.0.0.1:{port}"  # pragma: no cover

    def close(self) -> None:
        async def stop() -> None:
            for server in self._servers:
                server.close()

        try:
            self._call(stop(), timeout=1.0)
        except Exception:  # noqa: BLE001
            pass
        self._loop.call_soon_threadsafe(self._loop.stop)
        shutil.rmtree(self.private_dir, ignore_errors=True)
