"""Host services: the hst host's hst.host.v1 services, for a Python plugin.

serve() registers hst.plugin.v1.HostConnection for every plugin, so a plugin
implements nothing itself. When the host calls Establish(broker_id,
client_id), the plugin dials that broker id; host_services() waits for that
and returns stubs for every hst.host.v1 service on that one channel, for the
life of the plugin (no reconnects). The broker closes the channel on Shutdown.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Optional

import grpc

from ._broker import BrokerError, GRPCBroker
from .gen.hst.host.v1 import (
    environment_pb2_grpc,
    events_pb2_grpc,
    filesystem_pb2_grpc,
    handles_pb2_grpc,
    http_pb2_grpc,
    kv_pb2_grpc,
    log_pb2_grpc,
    permissions_pb2_grpc,
    processes_pb2_grpc,
    system_pb2_grpc,
    temp_pb2_grpc,
)
from .gen.hst.plugin.v1 import host_connection_pb2, host_connection_pb2_grpc

ESTABLISH_WAIT = 10.0


class HostServicesUnavailable(Exception):
    """The host did not establish host services (it has none, or it is not an hst host)."""


@dataclass(frozen=True)
class HostServices:
    """Stubs for the host's services; messages are in hst_plugin.gen.hst.host.v1.<file>_pb2."""

    # The host's id for this plugin instance, for the plugin's own logs.
    client_id: str
    channel: grpc.Channel
    filesystem: filesystem_pb2_grpc.FilesystemStub
    handles: handles_pb2_grpc.FileHandlesStub
    environment: environment_pb2_grpc.EnvironmentStub
    processes: processes_pb2_grpc.ProcessesStub
    temp: temp_pb2_grpc.TempStub
    system: system_pb2_grpc.SystemStub
    kv: kv_pb2_grpc.KeyValueStub
    events: events_pb2_grpc.EventsStub
    log: log_pb2_grpc.LogStub
    http: http_pb2_grpc.HttpStub
    permissions: permissions_pb2_grpc.PermissionsStub

    @classmethod
    def on(cls, channel: grpc.Channel, client_id: str) -> "HostServices":
        return cls(
            client_id=client_id,
            channel=channel,
            filesystem=filesystem_pb2_grpc.FilesystemStub(channel),
            handles=handles_pb2_grpc.FileHandlesStub(channel),
            environment=environment_pb2_grpc.EnvironmentStub(channel),
            processes=processes_pb2_grpc.ProcessesStub(channel),
            temp=temp_pb2_grpc.TempStub(channel),
            system=system_pb2_grpc.SystemStub(channel),
            kv=kv_pb2_grpc.KeyValueStub(channel),
            events=events_pb2_grpc.EventsStub(channel),
            log=log_pb2_grpc.LogStub(channel),
            http=http_pb2_grpc.HttpStub(channel),
            permissions=permissions_pb2_grpc.PermissionsStub(channel),
        )


class HostLink:
    """The plugin's one connection to the host's services."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._established = threading.Event()
        self._services: Optional[HostServices] = None

    def register(self, broker: GRPCBroker, server) -> None:
        """Serves hst.plugin.v1.HostConnection on `server`; serve() does this for every plugin."""
        host_connection_pb2_grpc.add_HostConnectionServicer_to_server(_Establisher(self, broker), server)

    def wait(self, timeout: float = ESTABLISH_WAIT) -> HostServices:
        if not self._established.wait(timeout):
            raise HostServicesUnavailable(f"the host did not establish host services within {timeout:g} s")
        assert self._services is not None
        return self._services

    def _establish(self, broker: GRPCBroker, broker_id: int, client_id: str, context) -> None:
        with self._lock:
            if self._services is not None:
                context.abort(grpc.StatusCode.ALREADY_EXISTS, "host services are already established for this plugin")
            try:
                channel = broker.dial(broker_id)
            except BrokerError as exc:
                context.abort(grpc.StatusCode.UNAVAILABLE, f"dial host services on broker id {broker_id}: {exc}")
            self._services = HostServices.on(channel, client_id)
        self._established.set()


class _Establisher(host_connection_pb2_grpc.HostConnectionServicer):
    def __init__(self, link: HostLink, broker: GRPCBroker):
        self._link = link
        self._broker = broker

    def Establish(self, request, context):
        self._link._establish(self._broker, request.broker_id, request.client_id, context)
        return host_connection_pb2.EstablishResponse()


# One per process, like the plugin's one connection to its host.
_LINK = HostLink()


def host_services(timeout: float = ESTABLISH_WAIT) -> HostServices:
    """Waits for the host to establish host services, then gives the stubs.

    Call it from a servicer or command, not before serve(): the host
    establishes host services after it has connected. Raises
    HostServicesUnavailable after `timeout` seconds without them.
    """
    return _LINK.wait(timeout)
