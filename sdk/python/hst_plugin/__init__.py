"""hst_plugin: write HashiCorp go-plugin (gRPC) plugins in Python.

    from hst_plugin import HandshakeConfig, ServeConfig, serve

    class MyPlugin:
        def grpc_server(self, broker, server):
            my_pb2_grpc.add_MyServicer_to_server(MyServicer(), server)

    serve(ServeConfig(
        handshake=HandshakeConfig(1, "BASIC_PLUGIN", "hello"),
        plugins={"my_plugin": MyPlugin()},
    ))

Commands (ServeConfig.commands) and host services (host_services()) are
for hst hosts. See README.md beside this package. The generated code of
go-plugin's internal protos lives in hst_plugin.gen.plugin, that of hst's own
protos in hst_plugin.gen.hst (made by generate.py).
"""

from ._broker import BrokerError, GRPCBroker
from ._commands import CommandContext, CommandError, CommandHandler
from ._host_services import HostServices, HostServicesUnavailable, host_services
from ._http import HttpRequest
from ._listener import Endpoint, ListenerError
from ._log import Logger
from ._server import (
    CORE_PROTOCOL_VERSION,
    HEALTH_SERVICE_NAME,
    MAX_MESSAGE_SIZE,
    HandshakeConfig,
    ServeConfig,
    negotiate_version,
    serve,
)
from ._tls import TLSMaterial, generate_cert, raw_std_base64

__version__ = "0.1.0"

__all__ = [
    "BrokerError",
    "CORE_PROTOCOL_VERSION",
    "CommandContext",
    "CommandError",
    "CommandHandler",
    "Endpoint",
    "GRPCBroker",
    "HEALTH_SERVICE_NAME",
    "HandshakeConfig",
    "HostServices",
    "HostServicesUnavailable",
    "HttpRequest",
    "ListenerError",
    "Logger",
    "MAX_MESSAGE_SIZE",
    "ServeConfig",
    "TLSMaterial",
    "generate_cert",
    "host_services",
    "negotiate_version",
    "raw_std_base64",
    "serve",
]
