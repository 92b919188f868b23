"""serve(): the plugin side of go-plugin's start-up, handshake and lifetime."""

from __future__ import annotations

import atexit
import json
import os
import signal
import sys
import threading
import time
from concurrent import futures
from dataclasses import dataclass, field
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from . import _listener
from ._bridge import TLSBridge
from ._broker import BrokerServicer, GRPCBroker
from ._commands import CommandHandler, register_commands
from ._http import HttpHandler, register_http
from ._module import Exported, register_module
from ._host_services import _LINK
from ._local import Local
from ._log import Logger
from ._mux import Multiplexer
from ._stdio import STDERR, STDOUT, StdioBuffer, StdioServicer, make_text_stream
from ._tls import TLSError, TLSMaterial
from .gen.plugin import (
    grpc_broker_pb2,
    grpc_broker_pb2_grpc,
    grpc_controller_pb2,
    grpc_controller_pb2_grpc,
    grpc_stdio_pb2,
    grpc_stdio_pb2_grpc,
)

CORE_PROTOCOL_VERSION = 1
HEALTH_SERVICE_NAME = "plugin"
MAX_MESSAGE_SIZE = 2**31 - 1

ENV_PROTOCOL_VERSIONS = "PLUGIN_PROTOCOL_VERSIONS"
ENV_CLIENT_CERT = "PLUGIN_CLIENT_CERT"
ENV_MULTIPLEX_GRPC = "PLUGIN_MULTIPLEX_GRPC"
_GO_TRUE = ("1", "t", "T", "TRUE", "true", "True")

MSG_MISCONFIGURED = (
    "Misconfigured ServeConfig given to serve this plugin: no magic cookie\n"
    "key or value was set. Please notify the plugin author and report\n"
    "this as a bug.\n"
)
MSG_NOT_A_PROGRAM = (
    "This binary is a plugin. These are not meant to be executed directly.\n"
    "Please execute the program that consumes these plugins, which will\n"
    "load any plugins automatically\n"
)

# Large limits both ways, like a go-plugin host; no keepalive pings; never
# share a TCP port with another process (gRPC core sets SO_REUSEPORT otherwise).
GRPC_OPTIONS: Tuple[Tuple[str, object], ...] = (
    ("grpc.max_send_message_length", MAX_MESSAGE_SIZE),
    ("grpc.max_receive_message_length", MAX_MESSAGE_SIZE),
)
SERVER_ONLY_OPTIONS: Tuple[Tuple[str, object], ...] = (("grpc.so_reuseport", 0),)

# A plugin is an object with grpc_server(broker, server), or such a callable.
PluginImpl = Any
PluginSet = Mapping[str, PluginImpl]


@dataclass
class HandshakeConfig:
    """Must match the host's: the app protocol version and the magic cookie."""

    protocol_version: int
    magic_cookie_key: str
    magic_cookie_value: str


@dataclass
class ServeConfig:
    """What serve() needs.

    handshake:          HandshakeConfig; its protocol_version serves `plugins`.
    plugins:            {name: plugin} for handshake.protocol_version.
    versioned_plugins:  {version: {name: plugin}} for several app versions.
    commands:           {name: handler} served as hst.plugin.v1.Commands
                        (`hst run <plugin> <command>`); see CommandContext.
    exports:            {name: function or {method: function}} served as
                        hst.plugin.v1.Module: the plugin as a JavaScript
                        module (manifest `exports:`); see _module.py.
    http:               {handler: function} served as hst.plugin.v1.Http:
                        the manifest's `routes:` and `widgets:` under
                        `hst serve`; see _http.py.
    network:            "unix" (default, as go-plugin) or "tcp" (127.0.0.1,
                        PLUGIN_MIN_PORT..PLUGIN_MAX_PORT).
    logger:             a Logger; default Logger("plugin").
    max_workers:        size of the gRPC thread pool. Each open stream (the
                        broker, stdio) holds a thread, so keep this well above
                        the number of concurrent calls you expect.
    server_options:     extra grpc.server options.
    exit_on_shutdown:   after Controller.Shutdown, end the process with
                        os._exit(0) once the server has stopped (the host
                        waits only 2 s). If False, serve() returns instead.
    """

    handshake: HandshakeConfig
    plugins: Optional[PluginSet] = None
    versioned_plugins: Optional[Mapping[int, PluginSet]] = None
    commands: Optional[Mapping[str, CommandHandler]] = None
    exports: Optional[Mapping[str, Exported]] = None
    http: Optional[Mapping[str, HttpHandler]] = None
    network: str = "unix"
    logger: Optional[Logger] = None
    max_workers: int = 32
    server_options: Sequence[Tuple[str, object]] = field(default_factory=tuple)
    exit_on_shutdown: bool = True


def _go_quote(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)


def negotiate_version(
    config: ServeConfig, env: Optional[Mapping[str, str]] = None
) -> Tuple[int, PluginSet]:
    """Pick the highest app version both sides support, else the lowest we have.

    Mirrors go-plugin: `handshake.protocol_version` + `plugins` count as one
    more versioned set; invalid entries in PLUGIN_PROTOCOL_VERSIONS are
    reported on stderr and skipped.
    """
    env = os.environ if env is None else env
    client_versions: List[int] = []
    raw = env.get(ENV_PROTOCOL_VERSIONS, "")
    if raw:
        for item in raw.split(","):
            try:
                client_versions.append(int(item, 10))
            except ValueError:
                sys.stderr.write(f"server sent invalid plugin version {_go_quote(item)}\n")
                sys.stderr.flush()
    versioned: Dict[int, PluginSet] = dict(config.versioned_plugins or {})
    if config.plugins is not None:
        versioned[int(config.handshake.protocol_version)] = config.plugins
    if not versioned:
        versioned[int(config.handshake.protocol_version)] = {}
    ordered = sorted(versioned, reverse=True)
    for version in ordered:
        if version in client_versions:
            return version, versioned[version]
    lowest = ordered[-1]
    return lowest, versioned[lowest]


class _RecordingServer:
    """Passes registrations to the real server and remembers service names for reflection."""

    def __init__(self, server: grpc.Server):
        self._server = server
        self.service_names: List[str] = []

    def _record(self, name: Optional[str]) -> None:
        if name and name not in self.service_names:
            self.service_names.append(name)

    def add_generic_rpc_handlers(self, handlers) -> None:
        for handler in handlers:
            name_fn = getattr(handler, "service_name", None)
            if callable(name_fn):
                try:
                    self._record(name_fn())
                except Exception:  # noqa: BLE001
                    pass
        self._server.add_generic_rpc_handlers(handlers)

    def add_registered_method_handlers(self, service_name, method_handlers) -> None:
        self._record(service_name)
        self._server.add_registered_method_handlers(service_name, method_handlers)

    def __getattr__(self, name: str):
        return getattr(self._server, name)


class _ControllerServicer(grpc_controller_pb2_grpc.GRPCControllerServicer):
    def __init__(self, shutdown: threading.Event, logger: Logger):
        self._shutdown = shutdown
        self._log = logger

    def Shutdown(self, request, context):
        self._log.debug("plugin: shutdown requested by host")
        # Stop once this reply has gone out; the timer is a fallback in case
        # the RPC never completes.
        if not context.add_callback(self._shutdown.set):
            self._shutdown.set()
        fallback = threading.Timer(0.3, self._shutdown.set)
        fallback.daemon = True
        fallback.start()
        return grpc_controller_pb2.Empty()


def _register_plugin(name: str, plugin: PluginImpl, broker: GRPCBroker, server: _RecordingServer) -> None:
    method = getattr(plugin, "grpc_server", None)
    if callable(method):
        method(broker, server)
    elif callable(plugin):
        plugin(broker, server)
    else:
        raise TypeError(
            f"plugin {name!r} must have a grpc_server(broker, server) method or be such a callable"
        )


def _flush_quietly(stream) -> None:
    try:
        if stream is not None:
            stream.flush()
    except Exception:  # noqa: BLE001
        pass


# The process that started us, read as early as this module loads: a host
# killed before the handshake leaves us reparented, and a later look would
# take the new parent for the host. An hst host also names itself in
# HST_HOST_PID, for a host gone before even this.
_PARENT = os.getppid()
_HOST_PID = int(os.environ.get("HST_HOST_PID", "0") or "0")
_PARENT_POLL_S = 0.5


def _host_gone() -> bool:
    if os.getppid() != _PARENT:
        return True
    if not _HOST_PID:
        return False
    try:
        os.kill(_HOST_PID, 0)
    except ProcessLookupError:
        return True
    except OSError:
        return False
    return False


def _watch_parent(on_orphaned: List[Any]) -> None:
    """Calls on_orphaned[0] once the host that started us is gone."""

    def watch() -> None:
        while not _host_gone():
            time.sleep(_PARENT_POLL_S)
        on_orphaned[0]()

    threading.Thread(target=watch, name="hst-parent-watch", daemon=True).start()


def serve(config: ServeConfig) -> None:
    """Serve the plugins of `config` the way go-plugin's plugin.Serve does.

    Exits with status 1 (message on stderr) when the magic cookie is missing
    or wrong, or when start-up fails. After the handshake line the process
    ignores SIGINT, sys.stdout/sys.stderr go to the host through GRPCStdio,
    and the process runs until the host calls plugin.GRPCController/Shutdown.
    """
    hs = config.handshake
    # 1. Magic cookie.
    if not hs.magic_cookie_key or not hs.magic_cookie_value:
        sys.stderr.write(MSG_MISCONFIGURED)
        sys.stderr.flush()
        sys.exit(1)
    if os.environ.get(hs.magic_cookie_key) != hs.magic_cookie_value:
        sys.stderr.write(MSG_NOT_A_PROGRAM)
        sys.stderr.flush()
        sys.exit(1)

    # A plugin never outlives its host: before the handshake it just leaves; after it, it shuts down.
    if _host_gone():
        sys.exit(1)
    on_orphaned: List[Any] = [lambda: os._exit(1)]
    _watch_parent(on_orphaned)

    # 2. Version negotiation.
    version, plugin_set = negotiate_version(config)

    log = config.logger or Logger("plugin")

    def fail(message: str, **fields: Any) -> None:
        log.error(message, **fields)
        sys.exit(1)

    # 3. Broker multiplexing and AutoMTLS. Both put bytes through our own
    # code between gRPC and the host, on private sockets (_local.py).
    multiplex_asked = os.environ.get(ENV_MULTIPLEX_GRPC, "") != ""
    # strconv.ParseBool's true, as go-plugin reads the variable. yamux streams
    # reach grpcio through unix sockets, which Windows lacks.
    multiplex = os.environ.get(ENV_MULTIPLEX_GRPC, "") in _GO_TRUE and sys.platform != "win32"
    client_cert = os.environ.get(ENV_CLIENT_CERT, "")
    local = Local() if multiplex or client_cert else None
    tls: Optional[TLSMaterial] = None
    bridge: Optional[TLSBridge] = None
    if client_cert:
        log.debug("configuring server automatic mTLS")
        try:
            tls = TLSMaterial.auto(client_cert)
            bridge = TLSBridge(log.named("tls"), local, tls.cert_pem, tls.key_pem, tls.peer_pem)
        except (TLSError, OSError, ValueError) as exc:
            fail("plugin tls init", error=exc)

    # 4. gRPC server and the internal services.
    options = list(GRPC_OPTIONS) + list(SERVER_ONLY_OPTIONS) + list(config.server_options)
    server = grpc.server(
        futures.ThreadPoolExecutor(max_workers=config.max_workers, thread_name_prefix="hst-grpc"),
        options=options,
    )
    stopping = threading.Event()
    shutdown = threading.Event()
    on_orphaned[0] = shutdown.set

    health_servicer = health.HealthServicer()
    health_servicer.set(HEALTH_SERVICE_NAME, health_pb2.HealthCheckResponse.SERVING)
    health_servicer.set("", health_pb2.HealthCheckResponse.SERVING)
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)

    mux: Optional[Multiplexer] = None
    if multiplex:
        # The knock goes out over the broker stream; the lambda reads `broker` when it knocks.
        mux = Multiplexer(log.named("mux"), local, knock=lambda service_id: broker.send_knock(service_id), lost=shutdown.set)
    broker = GRPCBroker(
        log.named("broker"),
        bridge,
        config.network,
        channel_options=GRPC_OPTIONS,
        server_options=list(GRPC_OPTIONS) + list(SERVER_ONLY_OPTIONS),
        local=local,
        mux=mux,
    )
    grpc_broker_pb2_grpc.add_GRPCBrokerServicer_to_server(BrokerServicer(broker), server)
    grpc_controller_pb2_grpc.add_GRPCControllerServicer_to_server(_ControllerServicer(shutdown, log), server)
    stdio_buffer = StdioBuffer()
    grpc_stdio_pb2_grpc.add_GRPCStdioServicer_to_server(StdioServicer(stdio_buffer, stopping), server)

    recorder = _RecordingServer(server)
    # Every plugin can take host services; host_services() gives them once the host has established them.
    _LINK.register(broker, recorder)
    if config.commands:
        register_commands(recorder, config.commands, log.named("commands"))
    if config.exports:
        register_module(recorder, config.exports)
    if config.http:
        register_http(recorder, config.http)
    for name, plugin in plugin_set.items():
        _register_plugin(name, plugin, broker, recorder)

    service_names = [
        health_pb2.DESCRIPTOR.services_by_name["Health"].full_name,
        grpc_broker_pb2.DESCRIPTOR.services_by_name["GRPCBroker"].full_name,
        grpc_controller_pb2.DESCRIPTOR.services_by_name["GRPCController"].full_name,
        grpc_stdio_pb2.DESCRIPTOR.services_by_name["GRPCStdio"].full_name,
        *recorder.service_names,
        reflection.SERVICE_NAME,
    ]
    reflection.enable_server_reflection(service_names, server)

    # 5. Listener. Multiplexed, the host's one connection is ours (yamux)
    # and the server is reached through a private socket.
    try:
        if mux is not None:
            main = _listener.open_private(server, local, bridge)
            host_listener, endpoint = _listener.listen(config.network)
        else:
            endpoint = _listener.open_endpoint(server, config.network, bridge)
    except (_listener.ListenerError, OSError) as exc:
        if bridge is not None:
            bridge.close()
        fail("plugin init error", error=exc)
    server.start()
    if mux is not None:
        mux.start(host_listener, endpoint.network, main)
    log.debug("plugin address", network=endpoint.network, address=endpoint.address)

    # 6. Handshake line, then flush.
    line = "|".join(
        [
            str(CORE_PROTOCOL_VERSION),
            str(version),
            endpoint.network,
            endpoint.address,
            "grpc",
            tls.handshake_cert if tls else "",
        ]
    )
    if multiplex_asked:
        # Only for a host that asked: an older host would read it as part of the certificate.
        line += "|true" if multiplex else "|false"
    # 7. Ignore SIGINT from the handshake on: the host owns Ctrl-C. Set before
    # the line goes out, since a host that reads it may signal at once.
    interrupts = [0]

    def on_sigint(signum, frame) -> None:
        interrupts[0] += 1
        log.trace("plugin received interrupt signal, ignoring", count=interrupts[0])

    previous_sigint = None
    if threading.current_thread() is threading.main_thread():
        previous_sigint = signal.signal(signal.SIGINT, on_sigint)

    real_stdout, real_stderr = sys.stdout, sys.stderr
    _flush_quietly(real_stdout)
    real_stdout.write(line + "\n")
    real_stdout.flush()

    # 8. Python-level stdout/stderr go to the host through GRPCStdio.
    sys.stdout = make_text_stream(stdio_buffer, STDOUT, "<stdout>")
    sys.stderr = make_text_stream(stdio_buffer, STDERR, "<stderr>")

    # 9. Run until Controller.Shutdown.
    try:
        while not shutdown.wait(0.5):
            pass
    finally:
        stopping.set()
        log.debug("plugin: stopping server")
        stopped = server.stop(0)
        broker.close()
        if mux is not None:
            mux.close()
        stopped.wait(1.0)
        if bridge is not None:
            bridge.close()
        if local is not None:
            local.close()
        endpoint.remove()
        _flush_quietly(sys.stdout)
        _flush_quietly(sys.stderr)
        sys.stdout, sys.stderr = real_stdout, real_stderr

    if config.exit_on_shutdown:
        # Like a Go plugin returning from main: end now, whatever threads
        # (gRPC workers, user threads) are still around. atexit handlers run.
        try:
            atexit._run_exitfuncs()
        except Exception:  # noqa: BLE001
            pass
        _flush_quietly(real_stdout)
        _flush_quietly(real_stderr)
        os._exit(0)
    if previous_sigint is not None:
        signal.signal(signal.SIGINT, previous_sigint)
