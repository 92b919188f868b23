"""A plugin's exports as a JavaScript module, served as hst.plugin.v1.Module.

The host calls a function, or a method of an object, by the name the
manifest's `exports:` declares, with JSON-like values (google.protobuf.Value):
ServeConfig(exports={"greet": greet, "counter": {"inc": inc, "get": get}}).
What the function returns goes back; what it raises becomes the call's
status with its message. Describe lists the exports, for a host that found
the plugin by its file's name and has no manifest to read them from.
"""

from __future__ import annotations

import json
from typing import Any, Callable, Mapping, Union

import grpc
from google.protobuf import json_format, struct_pb2

from .gen.hst.plugin.v1 import module_pb2, module_pb2_grpc

Exported = Union[Callable[..., Any], Mapping[str, Callable[..., Any]]]


class _ModuleServicer(module_pb2_grpc.ModuleServicer):
    def __init__(self, exports: Mapping[str, Exported]):
        self._exports = dict(exports)

    def Describe(self, request, context):
        exports = [
            module_pb2.ModuleExport(name=name, methods=[] if callable(target) else [m for m, fn in target.items() if callable(fn)])
            for name, target in self._exports.items()
        ]
        return module_pb2.ModuleDescribeResponse(exports=exports)

    def Call(self, request, context):
        target = self._exports.get(request.export)
        if target is None:
            names = ", ".join(self._exports) or "nothing"
            context.abort(grpc.StatusCode.NOT_FOUND, f"this plugin exports no {json.dumps(request.export)}; it exports {names}")
        if callable(target):
            fn = None if request.method else target
        else:
            fn = target.get(request.method)
        if fn is None:
            context.abort(grpc.StatusCode.NOT_FOUND, f"{request.export} has no method {json.dumps(request.method)}")
        args = json_format.MessageToDict(request.args) if request.HasField("args") else []
        try:
            result = fn(*args)
        except Exception as exc:  # the plugin's own failure, reported as its message
            context.abort(grpc.StatusCode.UNKNOWN, str(exc) or type(exc).__name__)
        value = struct_pb2.Value()
        json_format.ParseDict(result, value)
        return module_pb2.ModuleCallResponse(result=value)


def register_module(server, exports: Mapping[str, Exported]) -> None:
    """Serves hst.plugin.v1.Module on `server`; serve() does this for ServeConfig.exports."""
    module_pb2_grpc.add_ModuleServicer_to_server(_ModuleServicer(exports), server)
