#!/usr/bin/env python3
"""KV plugin in Python, on the hst Python SDK, for interop tests.

The contract of go-plugin's examples/grpc: handshake BASIC_PLUGIN=hello, app
protocol version 1, plugin name "kv_grpc", service proto.KV. Put(key, value)
writes the file kv_<key> in the working directory containing
"<value>\\n\\nWritten from plugin-python"; Get(key) returns that file's bytes.

For stdio tests it also writes one line to stdout per Put ("put <key>") and
one line to stderr per Get ("get <key>"); the host receives them through
GRPCStdio, not on the process pipes.

It finds the SDK (../../sdk/python) and its generated code (./gen) relative
to this file, so it runs from any working directory.
"""

import os
import sys

_HERE = os.path.dirname(os.path.realpath(__file__))
sys.path.insert(0, os.path.join(_HERE, "gen"))
sys.path.insert(0, os.path.normpath(os.path.join(_HERE, "..", "..", "sdk", "python")))

import grpc  # noqa: E402

import kv_pb2  # noqa: E402
import kv_pb2_grpc  # noqa: E402
from hst_plugin import HandshakeConfig, Logger, ServeConfig, serve  # noqa: E402

HANDSHAKE = HandshakeConfig(
    protocol_version=1,
    magic_cookie_key="BASIC_PLUGIN",
    magic_cookie_value="hello",
)
PLUGIN_NAME = "kv_grpc"
SUFFIX = b"\n\nWritten from plugin-python"


def _filename(key: str, context) -> str:
    # Keys name files in the working directory; refuse anything that would
    # leave it.
    if "/" in key or "\\" in key or "\x00" in key:
        context.abort(grpc.StatusCode.INVALID_ARGUMENT, f"invalid key {key!r}")
    return "kv_" + key


class KVServicer(kv_pb2_grpc.KVServicer):
    def __init__(self, log: Logger):
        self._log = log

    def Get(self, request, context):
        filename = _filename(request.key, context)
        try:
            with open(filename, "rb") as fh:
                value = fh.read()
        except FileNotFoundError:
            context.abort(grpc.StatusCode.NOT_FOUND, f"open {filename}: no such file or directory")
        self._log.debug("get", key=request.key, bytes=len(value))
        print(f"get {request.key}", file=sys.stderr)
        return kv_pb2.GetResponse(value=value)

    def Put(self, request, context):
        filename = _filename(request.key, context)
        with open(filename, "wb") as fh:
            fh.write(request.value + SUFFIX)
        self._log.debug("put", key=request.key, bytes=len(request.value))
        print(f"put {request.key}")
        return kv_pb2.Empty()


class KVPlugin:
    def __init__(self, log: Logger):
        self._log = log

    def grpc_server(self, broker, server):
        kv_pb2_grpc.add_KVServicer_to_server(KVServicer(self._log), server)


def main() -> None:
    log = Logger("kv_plugin")
    network = os.environ.get("KV_PLUGIN_NETWORK", "unix")
    serve(
        ServeConfig(
            handshake=HANDSHAKE,
            plugins={PLUGIN_NAME: KVPlugin(log)},
            network=network,
            logger=log,
        )
    )


if __name__ == "__main__":
    main()
