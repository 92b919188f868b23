from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class HttpHeader(_message.Message):
    __slots__ = ("name", "value")
    NAME_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    name: str
    value: str
    def __init__(self, name: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...

class FetchRequest(_message.Message):
    __slots__ = ("method", "url", "headers", "body", "timeout_ms", "max_response_bytes", "follow_redirects")
    METHOD_FIELD_NUMBER: _ClassVar[int]
    URL_FIELD_NUMBER: _ClassVar[int]
    HEADERS_FIELD_NUMBER: _ClassVar[int]
    BODY_FIELD_NUMBER: _ClassVar[int]
    TIMEOUT_MS_FIELD_NUMBER: _ClassVar[int]
    MAX_RESPONSE_BYTES_FIELD_NUMBER: _ClassVar[int]
    FOLLOW_REDIRECTS_FIELD_NUMBER: _ClassVar[int]
    method: str
    url: str
    headers: _containers.RepeatedCompositeFieldContainer[HttpHeader]
    body: bytes
    timeout_ms: int
    max_response_bytes: int
    follow_redirects: bool
    def __init__(self, method: _Optional[str] = ..., url: _Optional[str] = ..., headers: _Optional[_Iterable[_Union[HttpHeader, _Mapping]]] = ..., body: _Optional[bytes] = ..., timeout_ms: _Optional[int] = ..., max_response_bytes: _Optional[int] = ..., follow_redirects: _Optional[bool] = ...) -> None: ...

class FetchResponseHead(_message.Message):
    __slots__ = ("status", "status_text", "headers", "url", "redirects")
    STATUS_FIELD_NUMBER: _ClassVar[int]
    STATUS_TEXT_FIELD_NUMBER: _ClassVar[int]
    HEADERS_FIELD_NUMBER: _ClassVar[int]
    URL_FIELD_NUMBER: _ClassVar[int]
    REDIRECTS_FIELD_NUMBER: _ClassVar[int]
    status: int
    status_text: str
    headers: _containers.RepeatedCompositeFieldContainer[HttpHeader]
    url: str
    redirects: int
    def __init__(self, status: _Optional[int] = ..., status_text: _Optional[str] = ..., headers: _Optional[_Iterable[_Union[HttpHeader, _Mapping]]] = ..., url: _Optional[str] = ..., redirects: _Optional[int] = ...) -> None: ...

class FetchResponse(_message.Message):
    __slots__ = ("head", "data", "truncated")
    HEAD_FIELD_NUMBER: _ClassVar[int]
    DATA_FIELD_NUMBER: _ClassVar[int]
    TRUNCATED_FIELD_NUMBER: _ClassVar[int]
    head: FetchResponseHead
    data: bytes
    truncated: bool
    def __init__(self, head: _Optional[_Union[FetchResponseHead, _Mapping]] = ..., data: _Optional[bytes] = ..., truncated: _Optional[bool] = ...) -> None: ...
