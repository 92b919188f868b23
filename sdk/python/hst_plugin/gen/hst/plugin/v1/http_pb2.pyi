from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class HttpRequest(_message.Message):
    __slots__ = ("handler", "method", "path", "params", "query", "headers", "body", "kind")
    class ParamsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    HANDLER_FIELD_NUMBER: _ClassVar[int]
    METHOD_FIELD_NUMBER: _ClassVar[int]
    PATH_FIELD_NUMBER: _ClassVar[int]
    PARAMS_FIELD_NUMBER: _ClassVar[int]
    QUERY_FIELD_NUMBER: _ClassVar[int]
    HEADERS_FIELD_NUMBER: _ClassVar[int]
    BODY_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    handler: str
    method: str
    path: str
    params: _containers.ScalarMap[str, str]
    query: _containers.RepeatedCompositeFieldContainer[HttpField]
    headers: _containers.RepeatedCompositeFieldContainer[HttpField]
    body: bytes
    kind: str
    def __init__(self, handler: _Optional[str] = ..., method: _Optional[str] = ..., path: _Optional[str] = ..., params: _Optional[_Mapping[str, str]] = ..., query: _Optional[_Iterable[_Union[HttpField, _Mapping]]] = ..., headers: _Optional[_Iterable[_Union[HttpField, _Mapping]]] = ..., body: _Optional[bytes] = ..., kind: _Optional[str] = ...) -> None: ...

class HttpField(_message.Message):
    __slots__ = ("name", "value")
    NAME_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    name: str
    value: str
    def __init__(self, name: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...

class HttpResponse(_message.Message):
    __slots__ = ("head", "body")
    HEAD_FIELD_NUMBER: _ClassVar[int]
    BODY_FIELD_NUMBER: _ClassVar[int]
    head: HttpResponseHead
    body: bytes
    def __init__(self, head: _Optional[_Union[HttpResponseHead, _Mapping]] = ..., body: _Optional[bytes] = ...) -> None: ...

class HttpResponseHead(_message.Message):
    __slots__ = ("status", "headers")
    STATUS_FIELD_NUMBER: _ClassVar[int]
    HEADERS_FIELD_NUMBER: _ClassVar[int]
    status: int
    headers: _containers.RepeatedCompositeFieldContainer[HttpField]
    def __init__(self, status: _Optional[int] = ..., headers: _Optional[_Iterable[_Union[HttpField, _Mapping]]] = ...) -> None: ...
