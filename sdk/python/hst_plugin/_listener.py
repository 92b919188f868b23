"""Listeners with go-plugin's rules: a unix socket by default, TCP on 127.0.0.1 on request.

* unix: a fresh path "plugin*" in PLUGIN_UNIX_SOCKET_DIR (default: the temp
  dir); with PLUGIN_UNIX_SOCKET_GROUP the socket is chowned to that group
  (name or gid) and made mode 0660; removed when the plugin stops.
* tcp: 127.0.0.1, the first free port from PLUGIN_MIN_PORT to PLUGIN_MAX_PORT
  (both unset: any port; min > max: error). Always TCP on Windows.

Without TLS, gRPC binds the endpoint itself (gRPC Python binds when a port
is added and listens on start). With AutoMTLS, open_endpoint() binds a plain
socket for the TLS bridge and gives gRPC a private plaintext socket. With
broker multiplexing the host's streams reach a server through open_private().
"""

from __future__ import annotations

import os
import socket
import sys
import tempfile
from dataclasses import dataclass
from typing import Optional, Tuple

import grpc

ENV_MIN_PORT = "PLUGIN_MIN_PORT"
ENV_MAX_PORT = "PLUGIN_MAX_PORT"
ENV_UNIX_SOCKET_DIR = "PLUGIN_UNIX_SOCKET_DIR"
ENV_UNIX_SOCKET_GROUP = "PLUGIN_UNIX_SOCKET_GROUP"

LISTEN_BACKLOG = 128


class ListenerError(Exception):
    pass


@dataclass(frozen=True)
class Endpoint:
    """Where a server listens, as the handshake line and ConnInfo spell it."""

    network: str  # "unix" or "tcp"
    address: str  # bare socket path or "127.0.0.1:port"

    def remove(self) -> None:
        """Remove the socket file of a unix endpoint, if still there."""
        if self.network == "unix":
            try:
                os.remove(self.address)
            except OSError:
                pass


def _wants_tcp(network: str) -> bool:
    if network not in ("unix", "tcp"):
        raise ListenerError(f'unknown network {network!r}: want "unix" or "tcp"')
    return network == "tcp" or sys.platform == "win32"


# ----- TCP ------------------------------------------------------------------


def _parse_port(env: str) -> int:
    value = os.environ.get(env, "")
    if value == "":
        return 0
    try:
        port = int(value, 10)
    except ValueError:
        raise ListenerError(f'couldn\'t get value from {env}: invalid syntax "{value}"') from None
    if not -(2**31) <= port < 2**31:
        raise ListenerError(f'couldn\'t get value from {env}: value out of range "{value}"')
    return port


def _port_range() -> range:
    min_port = _parse_port(ENV_MIN_PORT)
    max_port = _parse_port(ENV_MAX_PORT)
    if min_port > max_port:
        raise ListenerError(
            f"PLUGIN_MIN_PORT value of {min_port} is greater than PLUGIN_MAX_PORT value of {max_port}"
        )
    return range(max(min_port, 0), min(max_port, 65535) + 1)


def _tcp_socket(port: int) -> Optional[socket.socket]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        if sys.platform != "win32":
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as Go's net.Listen
        sock.bind(("127.0.0.1", port))
        return sock
    except OSError:
        sock.close()
        return None


def _grpc_bind_tcp(server: grpc.Server) -> Endpoint:
    for port in _port_range():
        if port != 0:
            # Probe first so that gRPC core does not log one error per busy port.
            probe = _tcp_socket(port)
            if probe is None:
                continue
            probe.close()
        try:
            bound = server.add_insecure_port(f"127.0.0.1:{port}")
        except RuntimeError:
            continue
        if bound:
            return Endpoint("tcp", f"127.0.0.1:{bound}")
    raise ListenerError("couldn't bind plugin TCP listener")


def _listen_tcp() -> Tuple[socket.socket, Endpoint]:
    for port in _port_range():
        sock = _tcp_socket(port)
        if sock is None:
            continue
        try:
            sock.listen(LISTEN_BACKLOG)
        except OSError:
            sock.close()
            continue
        return sock, Endpoint("tcp", f"127.0.0.1:{sock.getsockname()[1]}")
    raise ListenerError("couldn't bind plugin TCP listener")


# ----- unix -----------------------------------------------------------------


def _unix_path() -> str:
    socket_dir = os.environ.get(ENV_UNIX_SOCKET_DIR) or None
    try:
        fd, path = tempfile.mkstemp(prefix="plugin", dir=socket_dir)
    except OSError as exc:
        raise ListenerError(f"cannot create a socket path in {socket_dir or tempfile.gettempdir()}: {exc}") from exc
    os.close(fd)
    os.remove(path)  # the path must not exist for bind
    return path


def _group_id(group: str) -> int:
    try:
        return int(group, 10)
    except ValueError:
        pass
    import grp  # POSIX only; unix sockets are never used on Windows

    try:
        return grp.getgrnam(group).gr_gid
    except KeyError:
        raise ListenerError(f'failed to find gid from "{group}": group: unknown group {group}') from None


def _apply_group(endpoint: Endpoint) -> None:
    group = os.environ.get(ENV_UNIX_SOCKET_GROUP) or None
    if not group:
        return
    try:
        gid = _group_id(group)
        os.chown(endpoint.address, -1, gid)
        os.chmod(endpoint.address, 0o660)
    except ListenerError:
        endpoint.remove()
        raise
    except OSError as exc:
        endpoint.remove()
        raise ListenerError(f"cannot give socket {endpoint.address} to group {group}: {exc}") from exc


def _grpc_bind_unix(server: grpc.Server) -> Endpoint:
    path = _unix_path()
    try:
        bound = server.add_insecure_port(f"unix:{path}")
    except RuntimeError as exc:
        raise ListenerError(f"cannot listen on unix socket {path}: {exc}") from exc
    if not bound:
        raise ListenerError(f"cannot listen on unix socket {path}")
    endpoint = Endpoint("unix", path)
    _apply_group(endpoint)
    return endpoint


def _listen_unix() -> Tuple[socket.socket, Endpoint]:
    path = _unix_path()
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.bind(path)
        sock.listen(LISTEN_BACKLOG)
    except OSError as exc:
        sock.close()
        raise ListenerError(f"cannot listen on unix socket {path}: {exc}") from exc
    endpoint = Endpoint("unix", path)
    try:
        _apply_group(endpoint)
    except ListenerError:
        sock.close()
        raise
    return sock, endpoint


# ----- entry points ---------------------------------------------------------


def bind(server: grpc.Server, network: str) -> Endpoint:
    """Let gRPC listen in plaintext on a fresh endpoint chosen by go-plugin's rules."""
    return _grpc_bind_tcp(server) if _wants_tcp(network) else _grpc_bind_unix(server)


def listen(network: str) -> Tuple[socket.socket, Endpoint]:
    """A bound, listening socket on a fresh endpoint chosen by go-plugin's rules."""
    return _listen_tcp() if _wants_tcp(network) else _listen_unix()


def open_endpoint(server: grpc.Server, network: str, bridge=None) -> Endpoint:
    """Make `server` reachable on a fresh endpoint; through the TLS bridge when one is given.

    Start the server before announcing the endpoint.
    """
    if bridge is None:
        return bind(server, network)
    inner_network, inner_address = bridge.private_endpoint("grpc")
    if inner_network == "unix":
        if not server.add_insecure_port(f"unix:{inner_address}"):
            raise ListenerError(f"cannot listen on private socket {inner_address}")
    else:  # pragma: no cover - Windows
        port = server.add_insecure_port("127.0.0.1:0")
        inner_address = f"127.0.0.1:{port}"
    sock, endpoint = listen(network)
    try:
        bridge.serve(sock, endpoint.network, (inner_network, inner_address))
    except Exception:
        sock.close()
        endpoint.remove()
        raise
    return endpoint


def open_private(server: grpc.Server, local, bridge=None) -> str:
    """Make `server` reachable on a fresh private unix socket (in local.dir); returns its path.

    With AutoMTLS the path leads through the TLS bridge, so whoever pipes a
    connection into it gets TLS terminated as on a public endpoint.
    """
    inner = local.socket_path("grpc")
    if not server.add_insecure_port(f"unix:{inner}"):
        raise ListenerError(f"cannot listen on private socket {inner}")
    if bridge is None:
        return inner
    entry = local.socket_path("tls")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.bind(entry)
        sock.listen(LISTEN_BACKLOG)
        bridge.serve(sock, "unix", ("unix", inner))
    except Exception:
        sock.close()
        raise
    return entry
