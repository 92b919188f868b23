"""A plugin's HTTP routes and dashboard widgets, served as hst.plugin.v1.Http.

`hst serve` hands each request under /plugins/<name>/ to the handler the
manifest's `routes:` or `widgets:` names (ServeConfig(http={"status": fn})).
A handler takes an HttpRequest and returns a str (HTML), bytes, or a dict
{"status", "headers", "body" or "json"}, where "body" may also be an
iterable of str/bytes chunks, sent as they come.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Mapping, Tuple
from urllib.parse import urlencode

import grpc

from .gen.hst.plugin.v1 import http_pb2, http_pb2_grpc


@dataclass
class HttpRequest:
    kind: str  # "route" or "widget"
    handler: str
    method: str
    path: str  # under /plugins/<name>, from "/"
    params: Dict[str, str]
    query: List[Tuple[str, str]]
    headers: Dict[str, str]  # lower-case names
    body: bytes

    def text(self) -> str:
        return self.body.decode("utf-8")

    def json(self) -> Any:
        return json.loads(self.body)

    def query_string(self) -> str:
        return urlencode(self.query)


HttpHandler = Callable[[HttpRequest], Any]


def _chunk(value: Any) -> bytes:
    return value.encode("utf-8") if isinstance(value, str) else bytes(value)


def _head(status: int, headers: Mapping[str, str]) -> http_pb2.HttpResponse:
    fields = [http_pb2.HttpField(name=k.lower(), value=str(v)) for k, v in headers.items()]
    return http_pb2.HttpResponse(head=http_pb2.HttpResponseHead(status=status, headers=fields))


class _HttpServicer(http_pb2_grpc.HttpServicer):
    def __init__(self, handlers: Mapping[str, HttpHandler]):
        self._handlers = dict(handlers)

    def Handle(self, request, context):
        handler = self._handlers.get(request.handler)
        if handler is None:
            names = ", ".join(self._handlers) or "none"
            context.abort(grpc.StatusCode.NOT_FOUND, f"no http handler {json.dumps(request.handler)}; this plugin has {names}")
        view = HttpRequest(
            kind="widget" if request.kind == "widget" else "route",
            handler=request.handler,
            method=request.method,
            path=request.path,
            params=dict(request.params),
            query=[(f.name, f.value) for f in request.query],
            headers={f.name: f.value for f in request.headers},
            body=bytes(request.body),
        )
        try:
            result = handler(view)
        except Exception as exc:  # the plugin's own failure, reported as its message
            context.abort(grpc.StatusCode.UNKNOWN, str(exc) or type(exc).__name__)
        if isinstance(result, (str, bytes, bytearray)):
            kind = "text/html; charset=utf-8" if isinstance(result, str) else "application/octet-stream"
            yield _head(200, {"content-type": kind})
            yield http_pb2.HttpResponse(body=_chunk(result))
            return
        headers = {k.lower(): v for k, v in (result.get("headers") or {}).items()}
        status = int(result.get("status") or 200)
        if "json" in result:
            headers.setdefault("content-type", "application/json")
            yield _head(status, headers)
            yield http_pb2.HttpResponse(body=json.dumps(result["json"]).encode("utf-8"))
            return
        headers.setdefault("content-type", "text/html; charset=utf-8")
        yield _head(status, headers)
        body = result.get("body")
        if body is None:
            return
        if isinstance(body, (str, bytes, bytearray)):
            yield http_pb2.HttpResponse(body=_chunk(body))
            return
        for chunk in body:
            yield http_pb2.HttpResponse(body=_chunk(chunk))


def register_http(server, handlers: Mapping[str, HttpHandler]) -> None:
    """Serves hst.plugin.v1.Http on `server`; serve() does this for ServeConfig.http."""
    http_pb2_grpc.add_HttpServicer_to_server(_HttpServicer(handlers), server)
