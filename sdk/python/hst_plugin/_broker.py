"""plugin.GRPCBroker, plugin side.

The host opens one StartStream per connection. Over it, each side announces
listeners by service id (ConnInfo{service_id, network, address}); the other
side dials them. Ids travel inside application RPC arguments. With broker
multiplexing (_mux.py) nothing is announced: a dialer knocks for the id
(ConnInfo{service_id, knock}), and once acknowledged opens a yamux stream.

* broker.dial(id) waits up to 5 s for the host's ConnInfo for id and returns
  a grpc.Channel to it, with the main connection's TLS material.
* broker.accept_and_serve(id, register) opens a new listener, serves a new
  grpc.Server on it (services added by register(server)) and announces it.
* A ConnInfo nobody dials within 5 s is dropped; a second ConnInfo for an id
  that is still pending is dropped.
* Multiplexed, dial() returns at once: each connection the channel makes
  knocks (as go-plugin's dialer does), and a failed knock is logged.
"""

from __future__ import annotations

import queue
import threading
import time
from concurrent import futures
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import grpc

from . import _listener
from ._local import Local
from ._log import Logger
from ._mux import Multiplexer
from .gen.plugin import grpc_broker_pb2, grpc_broker_pb2_grpc

PENDING_TIMEOUT = 5.0
DIAL_TIMEOUT = 5.0


class BrokerError(Exception):
    pass


class GRPCBroker:
    """The plugin's side of go-plugin's connection broker."""

    def __init__(
        self,
        logger: Logger,
        bridge,  # _bridge.TLSBridge with AutoMTLS, else None
        network: str,
        channel_options: Sequence[Tuple[str, object]],
        server_options: Sequence[Tuple[str, object]],
        local: Optional[Local] = None,
        mux: Optional[Multiplexer] = None,
    ):
        """`mux` when broker multiplexing is on; it needs `local` too."""
        self._log = logger
        self._local = local
        self._mux = mux
        self._bridge = bridge
        self._network = network
        self._channel_options = list(channel_options)
        self._server_options = list(server_options)
        self._lock = threading.Condition()
        self._pending: Dict[int, grpc_broker_pb2.ConnInfo] = {}
        self._next_id = 0
        self._outbox: "queue.Queue[grpc_broker_pb2.ConnInfo]" = queue.Queue()
        self._servers: List[Tuple[grpc.Server, _listener.Endpoint]] = []
        self._channels: List[grpc.Channel] = []
        self._closed = threading.Event()

    # ----- public API -------------------------------------------------------

    def next_id(self) -> int:
        """A fresh service id (1, 2, ...) for this side of the connection."""
        with self._lock:
            self._next_id = (self._next_id + 1) & 0xFFFFFFFF
            return self._next_id

    def dial(
        self,
        service_id: int,
        timeout: float = DIAL_TIMEOUT,
        options: Optional[Sequence[Tuple[str, object]]] = None,
    ) -> grpc.Channel:
        """Wait for the host's ConnInfo for service_id and return a channel to that listener.

        Raises BrokerError("timeout waiting for connection info") after
        `timeout` seconds. With AutoMTLS the channel presents the plugin's
        certificate and trusts only the host's, with target name "localhost".
        The channel connects lazily; use grpc.channel_ready_future() to wait.
        Multiplexed, there is no ConnInfo to wait for: each connection the
        channel makes knocks for service_id and becomes one yamux stream.
        """
        if self._closed.is_set():
            raise BrokerError("broker closed")
        if self._mux is not None:
            network, address = "unix", self._mux.dial_endpoint(service_id)
        else:
            info = self._wait_for(service_id, timeout)
            network, address = info.network, info.address
        if network == "unix":
            target = f"unix:{address}"
        elif network == "tcp":
            target = address
        else:
            raise BrokerError(f"unknown address type: {address}")
        opts = list(self._channel_options) + list(options or ())
        if self._bridge is not None:
            # TLS (own certificate, trust = host certificate, server name
            # "localhost") is done by the bridge; grpc talks plaintext to it.
            target = self._bridge.forward(network, address)
        channel = grpc.insecure_channel(target, options=opts)
        self._log.trace("broker: dialed", service_id=service_id, network=network, address=address)
        with self._lock:
            self._channels.append(channel)
        return channel

    def _wait_for(self, service_id: int, timeout: float) -> grpc_broker_pb2.ConnInfo:
        deadline = time.monotonic() + timeout
        with self._lock:
            while service_id not in self._pending:
                remaining = deadline - time.monotonic()
                if remaining <= 0 or self._closed.is_set():
                    raise BrokerError(
                        "broker closed" if self._closed.is_set() else "timeout waiting for connection info"
                    )
                self._lock.wait(remaining)
            return self._pending.pop(service_id)

    def accept_and_serve(
        self,
        service_id: int,
        register: Callable[[grpc.Server], None],
        max_workers: int = 16,
    ) -> grpc.Server:
        """Serve a new gRPC server for service_id and announce it to the host.

        register(server) adds the services. Multiplexed, nothing is
        announced: the server takes the streams the host knocks for. Returns the started server; it is
        stopped when the broker closes (on Shutdown) or when you stop it.
        Unlike go-plugin's AcceptAndServe this does not block.
        """
        if self._closed.is_set():
            raise BrokerError("broker closed")
        server = grpc.server(
            futures.ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix=f"hst-broker-{service_id}"),
            options=self._server_options,
        )
        register(server)
        if self._mux is not None:
            endpoint = _listener.Endpoint("unix", _listener.open_private(server, self._local, self._bridge))
        else:
            endpoint = _listener.open_endpoint(server, self._network, self._bridge)
        server.start()
        with self._lock:
            self._servers.append((server, endpoint))
        if self._mux is not None:
            self._mux.serve(service_id, endpoint.address)
        else:
            self._send(
                grpc_broker_pb2.ConnInfo(service_id=service_id, network=endpoint.network, address=endpoint.address)
            )
        self._log.trace("broker: serving", service_id=service_id, network=endpoint.network, address=endpoint.address)
        return server

    def close(self) -> None:
        """Stop broker servers, close dialed channels, end the stream."""
        self._closed.set()
        with self._lock:
            servers, self._servers = self._servers, []
            channels, self._channels = self._channels, []
            self._lock.notify_all()
        events = [server.stop(0) for server, _ in servers]
        for event in events:
            event.wait(1.0)
        for _, endpoint in servers:
            endpoint.remove()
        for channel in channels:
            try:
                channel.close()
            except Exception:  # noqa: BLE001 - closing is best effort
                pass

    # ----- stream plumbing --------------------------------------------------

    def _send(self, info: grpc_broker_pb2.ConnInfo) -> None:
        self._outbox.put(info)

    def _received(self, info: grpc_broker_pb2.ConnInfo) -> None:
        if info.HasField("knock") and info.knock.knock:
            self._received_knock(info.service_id, info.knock)
            return
        with self._lock:
            if info.service_id in self._pending:
                self._log.trace("broker: dropping duplicate connection info", service_id=info.service_id)
                return
            self._pending[info.service_id] = info
            self._lock.notify_all()
        timer = threading.Timer(PENDING_TIMEOUT, self._expire, (info.service_id, info))
        timer.daemon = True
        timer.start()

    def _received_knock(self, service_id: int, knock: grpc_broker_pb2.ConnInfo.Knock) -> None:
        if knock.ack:
            if self._mux is not None:
                self._mux.acknowledged(service_id, knock.error)
            return
        error = self._mux.admit(service_id) if self._mux is not None else "gRPC broker multiplexing was not negotiated on this connection"
        self._send(
            grpc_broker_pb2.ConnInfo(
                service_id=service_id, knock=grpc_broker_pb2.ConnInfo.Knock(knock=True, ack=True, error=error)
            )
        )

    def send_knock(self, service_id: int) -> None:
        """Asks the host to take the next stream we open as a connection to its service_id (the multiplexer's knock)."""
        self._send(grpc_broker_pb2.ConnInfo(service_id=service_id, knock=grpc_broker_pb2.ConnInfo.Knock(knock=True)))

    def _expire(self, service_id: int, info: grpc_broker_pb2.ConnInfo) -> None:
        with self._lock:
            if self._pending.get(service_id) is info:
                del self._pending[service_id]
                self._log.trace("broker: connection info expired undialled", service_id=service_id)


class BrokerServicer(grpc_broker_pb2_grpc.GRPCBrokerServicer):
    """plugin.GRPCBroker/StartStream: one long-lived bidirectional stream per connection."""

    def __init__(self, broker: GRPCBroker, poll: float = 0.1):
        self._broker = broker
        self._poll = poll

    def StartStream(self, request_iterator, context):
        broker = self._broker
        done = threading.Event()

        def read() -> None:
            try:
                for info in request_iterator:
                    broker._received(info)
            except grpc.RpcError:
                pass
            except Exception as exc:  # noqa: BLE001
                broker._log.debug("broker: stream read failed", error=exc)
            finally:
                done.set()

        threading.Thread(target=read, name="hst-broker-recv", daemon=True).start()
        while context.is_active() and not done.is_set() and not broker._closed.is_set():
            try:
                info = broker._outbox.get(timeout=self._poll)
            except queue.Empty:
                continue
            yield info
