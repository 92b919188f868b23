from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class KeyValueChangeKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    KEY_VALUE_CHANGE_KIND_UNSPECIFIED: _ClassVar[KeyValueChangeKind]
    KEY_VALUE_CHANGE_KIND_PUT: _ClassVar[KeyValueChangeKind]
    KEY_VALUE_CHANGE_KIND_DELETE: _ClassVar[KeyValueChangeKind]
    KEY_VALUE_CHANGE_KIND_EXPIRE: _ClassVar[KeyValueChangeKind]
KEY_VALUE_CHANGE_KIND_UNSPECIFIED: KeyValueChangeKind
KEY_VALUE_CHANGE_KIND_PUT: KeyValueChangeKind
KEY_VALUE_CHANGE_KIND_DELETE: KeyValueChangeKind
KEY_VALUE_CHANGE_KIND_EXPIRE: KeyValueChangeKind

class KeyValueGetRequest(_message.Message):
    __slots__ = ("key",)
    KEY_FIELD_NUMBER: _ClassVar[int]
    key: str
    def __init__(self, key: _Optional[str] = ...) -> None: ...

class KeyValueGetResponse(_message.Message):
    __slots__ = ("found", "value", "version", "expires_at_ms")
    FOUND_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    EXPIRES_AT_MS_FIELD_NUMBER: _ClassVar[int]
    found: bool
    value: bytes
    version: int
    expires_at_ms: int
    def __init__(self, found: _Optional[bool] = ..., value: _Optional[bytes] = ..., version: _Optional[int] = ..., expires_at_ms: _Optional[int] = ...) -> None: ...

class KeyValuePutRequest(_message.Message):
    __slots__ = ("key", "value", "ttl_ms")
    KEY_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    TTL_MS_FIELD_NUMBER: _ClassVar[int]
    key: str
    value: bytes
    ttl_ms: int
    def __init__(self, key: _Optional[str] = ..., value: _Optional[bytes] = ..., ttl_ms: _Optional[int] = ...) -> None: ...

class KeyValuePutResponse(_message.Message):
    __slots__ = ("version",)
    VERSION_FIELD_NUMBER: _ClassVar[int]
    version: int
    def __init__(self, version: _Optional[int] = ...) -> None: ...

class KeyValueDeleteRequest(_message.Message):
    __slots__ = ("key",)
    KEY_FIELD_NUMBER: _ClassVar[int]
    key: str
    def __init__(self, key: _Optional[str] = ...) -> None: ...

class KeyValueDeleteResponse(_message.Message):
    __slots__ = ("existed",)
    EXISTED_FIELD_NUMBER: _ClassVar[int]
    existed: bool
    def __init__(self, existed: _Optional[bool] = ...) -> None: ...

class KeyValueListRequest(_message.Message):
    __slots__ = ("prefix", "page_size", "page_token")
    PREFIX_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    prefix: str
    page_size: int
    page_token: str
    def __init__(self, prefix: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class KeyValueListEntry(_message.Message):
    __slots__ = ("key", "version", "size", "expires_at_ms")
    KEY_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    SIZE_FIELD_NUMBER: _ClassVar[int]
    EXPIRES_AT_MS_FIELD_NUMBER: _ClassVar[int]
    key: str
    version: int
    size: int
    expires_at_ms: int
    def __init__(self, key: _Optional[str] = ..., version: _Optional[int] = ..., size: _Optional[int] = ..., expires_at_ms: _Optional[int] = ...) -> None: ...

class KeyValueListResponse(_message.Message):
    __slots__ = ("entries", "next_page_token")
    ENTRIES_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    entries: _containers.RepeatedCompositeFieldContainer[KeyValueListEntry]
    next_page_token: str
    def __init__(self, entries: _Optional[_Iterable[_Union[KeyValueListEntry, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class KeyValueCompareAndSwapRequest(_message.Message):
    __slots__ = ("key", "expected_version", "value", "ttl_ms")
    KEY_FIELD_NUMBER: _ClassVar[int]
    EXPECTED_VERSION_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    TTL_MS_FIELD_NUMBER: _ClassVar[int]
    key: str
    expected_version: int
    value: bytes
    ttl_ms: int
    def __init__(self, key: _Optional[str] = ..., expected_version: _Optional[int] = ..., value: _Optional[bytes] = ..., ttl_ms: _Optional[int] = ...) -> None: ...

class KeyValueCompareAndSwapResponse(_message.Message):
    __slots__ = ("swapped", "version")
    SWAPPED_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    swapped: bool
    version: int
    def __init__(self, swapped: _Optional[bool] = ..., version: _Optional[int] = ...) -> None: ...

class KeyValueWatchRequest(_message.Message):
    __slots__ = ("prefix", "include_values")
    PREFIX_FIELD_NUMBER: _ClassVar[int]
    INCLUDE_VALUES_FIELD_NUMBER: _ClassVar[int]
    prefix: str
    include_values: bool
    def __init__(self, prefix: _Optional[str] = ..., include_values: _Optional[bool] = ...) -> None: ...

class KeyValueWatchResponse(_message.Message):
    __slots__ = ("started", "key", "kind", "version", "value")
    STARTED_FIELD_NUMBER: _ClassVar[int]
    KEY_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    started: bool
    key: str
    kind: KeyValueChangeKind
    version: int
    value: bytes
    def __init__(self, started: _Optional[bool] = ..., key: _Optional[str] = ..., kind: _Optional[_Union[KeyValueChangeKind, str]] = ..., version: _Optional[int] = ..., value: _Optional[bytes] = ...) -> None: ...
