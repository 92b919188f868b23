#!/usr/bin/env python3
"""The benchmark's Python plugin (npm run bench), on the hst Python SDK.

It serves only hst.bench.v1.Bench/Echo, which is all the start-up
measurement calls. EchoRequest and EchoResponse are both `bytes payload = 1`,
so the request's encoding is a valid response: the handler returns the bytes
it was given, and this file needs no code generated from bench.proto.
Handshake and plugin name are those of bench/contract.ts.

It finds the SDK at ../../sdk/python relative to this file, so a copy of
both keeping that layout runs anywhere (the cold-start measurement does that).
"""

import os
import sys

_HERE = os.path.dirname(os.path.realpath(__file__))
sys.path.insert(0, os.path.normpath(os.path.join(_HERE, "..", "..", "sdk", "python")))

import grpc  # noqa: E402

from hst_plugin import HandshakeConfig, ServeConfig, serve  # noqa: E402

HANDSHAKE = HandshakeConfig(
    protocol_version=1,
    magic_cookie_key="HST_BENCH_PLUGIN",
    magic_cookie_value="b3f1c2d0-bench",
)


def _echo(request: bytes, context) -> bytes:
    return request


class BenchPlugin:
    def grpc_server(self, broker, server):
        handler = grpc.method_handlers_generic_handler(
            "hst.bench.v1.Bench", {"Echo": grpc.unary_unary_rpc_method_handler(_echo)}
        )
        server.add_generic_rpc_handlers((handler,))


serve(ServeConfig(handshake=HANDSHAKE, plugins={"bench": BenchPlugin()}))
