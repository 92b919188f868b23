"""TLS for AutoMTLS through Python's ssl module (OpenSSL) instead of grpcio's TLS.

Why: grpcio's TLS is BoringSSL, whose signature-verification preferences do
not include ecdsa_secp521r1_sha512. go-plugin hosts use P-521 certificates,
so a Go host never finds a client certificate the grpcio server would accept
and sends none (handshake error PEER_DID_NOT_RETURN_A_CERTIFICATE); the same
gap breaks a grpcio client against a Go host's P-521 broker server.

So with AutoMTLS every gRPC server of the plugin listens in plaintext on a
private unix socket (_local.Local) and a bridge owns the public listener
(multiplexed: a private one that yamux streams are piped into). It
terminates TLS (own certificate, client certificate required and verified
against the host's, TLS >= 1.2, ALPN h2) and copies bytes to the private
socket. Broker dials go the other way: grpc connects in plaintext to
a private socket and the bridge opens a TLS connection to the host's listener
(own certificate as client certificate, only the host's certificate trusted,
server name "localhost").

The bridge runs on the process's one asyncio loop (_local.Local).
"""

from __future__ import annotations

import asyncio
import os
import socket
import ssl
import sys
import tempfile
from typing import List, Optional

from ._local import Local
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

    def __init__(self, logger: Logger, local: Local, cert_pem: bytes, key_pem: bytes, peer_pem: bytes):
        self._log = logger
        self._local = local
        self._server_ctx = _ssl_context(True, cert_pem, key_pem, peer_pem, local.dir)
        self._client_ctx = _ssl_context(False, cert_pem, key_pem, peer_pem, local.dir)
        self._servers: List[asyncio.AbstractServer] = []

    def _call(self, coro, timeout: float = 10.0):
        return self._local.call(coro, timeout)

    def private_endpoint(self, label: str) -> "tuple[str, str]":
        """A fresh (network, address) for a plaintext listener only this process uses.

        A unix socket in the 0700 private directory; on Windows, 127.0.0.1
        with port 0 (the caller learns the real port when it binds).
        """
        if sys.platform == "win32":  # pragma: no cover - no unix sockets
            return "tcp", "127.0.0.1:0"
        return "unix", self._local.socket_path(label)

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
        """Stops the bridge's listeners; the loop and the private directory belong to the Local."""

        async def stop() -> None:
            for server in self._servers:
                server.close()

        try:
            self._call(stop(), timeout=1.0)
        except Exception:  # noqa: BLE001
            pass
