from hst_plugin.gen.hst.host.v1 import filesystem_pb2 as _filesystem_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Whence(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    WHENCE_START: _ClassVar[Whence]
    WHENCE_CURRENT: _ClassVar[Whence]
    WHENCE_END: _ClassVar[Whence]
WHENCE_START: Whence
WHENCE_CURRENT: Whence
WHENCE_END: Whence

class OpenRequest(_message.Message):
    __slots__ = ("path", "read", "write", "append", "create", "exclusive", "truncate", "perm")
    PATH_FIELD_NUMBER: _ClassVar[int]
    READ_FIELD_NUMBER: _ClassVar[int]
    WRITE_FIELD_NUMBER: _ClassVar[int]
    APPEND_FIELD_NUMBER: _ClassVar[int]
    CREATE_FIELD_NUMBER: _ClassVar[int]
    EXCLUSIVE_FIELD_NUMBER: _ClassVar[int]
    TRUNCATE_FIELD_NUMBER: _ClassVar[int]
    PERM_FIELD_NUMBER: _ClassVar[int]
    path: str
    read: bool
    write: bool
    append: bool
    create: bool
    exclusive: bool
    truncate: bool
    perm: int
    def __init__(self, path: _Optional[str] = ..., read: _Optional[bool] = ..., write: _Optional[bool] = ..., append: _Optional[bool] = ..., create: _Optional[bool] = ..., exclusive: _Optional[bool] = ..., truncate: _Optional[bool] = ..., perm: _Optional[int] = ...) -> None: ...

class OpenResponse(_message.Message):
    __slots__ = ("handle",)
    HANDLE_FIELD_NUMBER: _ClassVar[int]
    handle: str
    def __init__(self, handle: _Optional[str] = ...) -> None: ...

class CloseRequest(_message.Message):
    __slots__ = ("handle",)
    HANDLE_FIELD_NUMBER: _ClassVar[int]
    handle: str
    def __init__(self, handle: _Optional[str] = ...) -> None: ...

class CloseResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ReadRequest(_message.Message):
    __slots__ = ("handle", "n")
    HANDLE_FIELD_NUMBER: _ClassVar[int]
    N_FIELD_NUMBER: _ClassVar[int]
    handle: str
    n: int
    def __init__(self, handle: _Optional[str] = ..., n: _Optional[int] = ...) -> None: ...

class ReadResponse(_message.Message):
    __slots__ = ("data", "eof")
    DATA_FIELD_NUMBER: _ClassVar[int]
    EOF_FIELD_NUMBER: _ClassVar[int]
    data: bytes
    eof: bool
    def __init__(self, data: _Optional[bytes] = ..., eof: _Optional[bool] = ...) -> None: ...

class ReadAtRequest(_message.Message):
    __slots__ = ("handle", "offset", "n")
    HANDLE_FIELD_NUMBER: _ClassVar[int]
    OFFSET_FIELD_NUMBER: _ClassVar[int]
    N_FIELD_NUMBER: _ClassVar[int]
    handle: str
    offset: int
    n: int
    def __init__(self, handle: _Optional[str] = ..., offset: _Optional[int] = ..., n: _Optional[int] = ...) -> None: ...

class ReadAtResponse(_message.Message):
    __slots__ = ("data", "eof")
    DATA_FIELD_NUMBER: _ClassVar[int]
    EOF_FIELD_NUMBER: _ClassVar[int]
    data: bytes
    eof: bool
    def __init__(self, data: _Optional[bytes] = ..., eof: _Optional[bool] = ...) -> None: ...

class WriteRequest(_message.Message):
    __slots__ = ("handle", "data")
    HANDLE_FIELD_NUMBER: _ClassVar[int]
    DATA_FIELD_NUMBER: _ClassVar[int]
    handle: str
    data: bytes
    def __init__(self, handle: _Optional[str] = ..., data: _Optional[bytes] = ...) -> None: ...

class WriteResponse(_message.Message):
    __slots__ = ("bytes_written",)
    BYTES_WRITTEN_FIELD_NUMBER: _ClassVar[int]
    bytes_written: int
    def __init__(self, bytes_written: _Optional[int] = ...) -> None: ...

class WriteAtRequest(_message.Message):
    __slots__ = ("handle", "offset", "data")
    HANDLE_FIELD_NUMBER: _ClassVar[int]
    OFFSET_FIELD_NUMBER: _ClassVar[int]
    DATA_FIELD_NUMBER: _ClassVar[int]
    handle: str
    offset: int
    data: bytes
    def __init__(self, handle: _Optional[str] = ..., offset: _Optional[int] = ..., data: _Optional[bytes] = ...) -> None: ...

class WriteAtResponse(_message.Message):
    __slots__ = ("bytes_written",)
    BYTES_WRITTEN_FIELD_NUMBER: _ClassVar[int]
    bytes_written: int
    def __init__(self, bytes_written: _Optional[int] = ...) -> None: ...

class SeekRequest(_message.Message):
    __slots__ = ("handle", "offset", "whence")
    HANDLE_FIELD_NUMBER: _ClassVar[int]
    OFFSET_FIELD_NUMBER: _ClassVar[int]
    WHENCE_FIELD_NUMBER: _ClassVar[int]
    handle: str
    offset: int
    whence: Whence
    def __init__(self, handle: _Optional[str] = ..., offset: _Optional[int] = ..., whence: _Optional[_Union[Whence, str]] = ...) -> None: ...

class SeekResponse(_message.Message):
    __slots__ = ("position",)
    POSITION_FIELD_NUMBER: _ClassVar[int]
    position: int
    def __init__(self, position: _Optional[int] = ...) -> None: ...

class SyncRequest(_message.Message):
    __slots__ = ("handle",)
    HANDLE_FIELD_NUMBER: _ClassVar[int]
    handle: str
    def __init__(self, handle: _Optional[str] = ...) -> None: ...

class SyncResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class TruncateHandleRequest(_message.Message):
    __slots__ = ("handle", "size")
    HANDLE_FIELD_NUMBER: _ClassVar[int]
    SIZE_FIELD_NUMBER: _ClassVar[int]
    handle: str
    size: int
    def __init__(self, handle: _Optional[str] = ..., size: _Optional[int] = ...) -> None: ...

class TruncateHandleResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class StatHandleRequest(_message.Message):
    __slots__ = ("handle",)
    HANDLE_FIELD_NUMBER: _ClassVar[int]
    handle: str
    def __init__(self, handle: _Optional[str] = ...) -> None: ...

class StatHandleResponse(_message.Message):
    __slots__ = ("info",)
    INFO_FIELD_NUMBER: _ClassVar[int]
    info: _filesystem_pb2.FileInfo
    def __init__(self, info: _Optional[_Union[_filesystem_pb2.FileInfo, _Mapping]] = ...) -> None: ...

class ReadLinesRequest(_message.Message):
    __slots__ = ("handle", "max_lines")
    HANDLE_FIELD_NUMBER: _ClassVar[int]
    MAX_LINES_FIELD_NUMBER: _ClassVar[int]
    handle: str
    max_lines: int
    def __init__(self, handle: _Optional[str] = ..., max_lines: _Optional[int] = ...) -> None: ...

class ReadLinesResponse(_message.Message):
    __slots__ = ("line",)
    LINE_FIELD_NUMBER: _ClassVar[int]
    line: str
    def __init__(self, line: _Optional[str] = ...) -> None: ...

class ListHandlesRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class HandleInfo(_message.Message):
    __slots__ = ("handle", "path", "read", "write", "append", "position")
    HANDLE_FIELD_NUMBER: _ClassVar[int]
    PATH_FIELD_NUMBER: _ClassVar[int]
    READ_FIELD_NUMBER: _ClassVar[int]
    WRITE_FIELD_NUMBER: _ClassVar[int]
    APPEND_FIELD_NUMBER: _ClassVar[int]
    POSITION_FIELD_NUMBER: _ClassVar[int]
    handle: str
    path: str
    read: bool
    write: bool
    append: bool
    position: int
    def __init__(self, handle: _Optional[str] = ..., path: _Optional[str] = ..., read: _Optional[bool] = ..., write: _Optional[bool] = ..., append: _Optional[bool] = ..., position: _Optional[int] = ...) -> None: ...

class ListHandlesResponse(_message.Message):
    __slots__ = ("handles",)
    HANDLES_FIELD_NUMBER: _ClassVar[int]
    handles: _containers.RepeatedCompositeFieldContainer[HandleInfo]
    def __init__(self, handles: _Optional[_Iterable[_Union[HandleInfo, _Mapping]]] = ...) -> None: ...
