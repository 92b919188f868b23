#!/usr/bin/env python3
"""KV plugin in Python that keeps nothing itself, for interop tests.

Put and Get go through the hst host's Filesystem service (host_services(),
reached over the go-plugin broker), so the host decides where kv_<key>
lands. The Python twin of interop/go/cmd/host-kv-plugin and
test/fixtures/host-kv-plugin.ts: go-plugin's KV contract (BASIC_PLUGIN=hello,
version 1, "kv_grpc"), values stored as "<value>\\n\\nWritten from
host-kv-plugin (python)".
"""

import os
import sys

_HERE = os.path.dirname(os.path.realpath(__file__))
sys.path.insert(0, os.path.join(_HERE, "gen"))
sys.path.insert(0, os.path.normpath(os.path.join(_HERE, "..", "..", "sdk", "python")))

import grpc  # noqa: E402

import kv_pb2  # noqa: E402
import kv_pb2_grpc  # noqa: E402
from hst_plugin import HandshakeConfig, Logger, ServeConfig, host_services, serve  # noqa: E402
from hst_plugin.gen.hst.host.v1 import filesystem_pb2  # noqa: E402

SUFFIX = b"\n\nWritten from host-kv-plugin (python)"


class KVServicer(kv_pb2_grpc.KVServicer):
    def Get(self, request, context):
        try:
            res = host_services().filesystem.ReadFile(filesystem_pb2.ReadFileRequest(path="kv_" + request.key))
        except grpc.RpcError as err:
            context.abort(err.code(), err.details())
        return kv_pb2.GetResponse(value=res.data)

    def Put(self, request, context):
        data = request.value + SUFFIX
        try:
            host_services().filesystem.WriteFile(filesystem_pb2.WriteFileRequest(path="kv_" + request.key, data=data))
        except grpc.RpcError as err:
            context.abort(err.code(), err.details())
        return kv_pb2.Empty()


def main() -> None:
    serve(
        ServeConfig(
            handshake=HandshakeConfig(protocol_version=1, magic_cookie_key="BASIC_PLUGIN", magic_cookie_value="hello"),
            plugins={"kv_grpc": lambda broker, server: kv_pb2_grpc.add_KVServicer_to_server(KVServicer(), server)},
            logger=Logger("host-kv-plugin"),
        )
    )


if __name__ == "__main__":
    main()
