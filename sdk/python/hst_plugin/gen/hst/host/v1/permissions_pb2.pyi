from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable
from typing import ClassVar as _ClassVar, Optional as _Optional

DESCRIPTOR: _descriptor.FileDescriptor

class PermissionsQueryRequest(_message.Message):
    __slots__ = ("kind", "resource")
    KIND_FIELD_NUMBER: _ClassVar[int]
    RESOURCE_FIELD_NUMBER: _ClassVar[int]
    kind: str
    resource: str
    def __init__(self, kind: _Optional[str] = ..., resource: _Optional[str] = ...) -> None: ...

class PermissionsQueryResponse(_message.Message):
    __slots__ = ("allowed", "rule")
    ALLOWED_FIELD_NUMBER: _ClassVar[int]
    RULE_FIELD_NUMBER: _ClassVar[int]
    allowed: bool
    rule: str
    def __init__(self, allowed: _Optional[bool] = ..., rule: _Optional[str] = ...) -> None: ...

class PermissionsRequestRequest(_message.Message):
    __slots__ = ("capability", "reason")
    CAPABILITY_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    capability: str
    reason: str
    def __init__(self, capability: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class PermissionsRequestResponse(_message.Message):
    __slots__ = ("granted",)
    GRANTED_FIELD_NUMBER: _ClassVar[int]
    granted: bool
    def __init__(self, granted: _Optional[bool] = ...) -> None: ...

class PermissionsListRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class PermissionsListResponse(_message.Message):
    __slots__ = ("capabilities",)
    CAPABILITIES_FIELD_NUMBER: _ClassVar[int]
    capabilities: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, capabilities: _Optional[_Iterable[str]] = ...) -> None: ...
