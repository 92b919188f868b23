from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class TempEntryKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    TEMP_ENTRY_KIND_UNSPECIFIED: _ClassVar[TempEntryKind]
    TEMP_ENTRY_KIND_FILE: _ClassVar[TempEntryKind]
    TEMP_ENTRY_KIND_DIRECTORY: _ClassVar[TempEntryKind]
    TEMP_ENTRY_KIND_SYMLINK: _ClassVar[TempEntryKind]
    TEMP_ENTRY_KIND_OTHER: _ClassVar[TempEntryKind]
TEMP_ENTRY_KIND_UNSPECIFIED: TempEntryKind
TEMP_ENTRY_KIND_FILE: TempEntryKind
TEMP_ENTRY_KIND_DIRECTORY: TempEntryKind
TEMP_ENTRY_KIND_SYMLINK: TempEntryKind
TEMP_ENTRY_KIND_OTHER: TempEntryKind

class CreateTempFileRequest(_message.Message):
    __slots__ = ("prefix", "suffix")
    PREFIX_FIELD_NUMBER: _ClassVar[int]
    SUFFIX_FIELD_NUMBER: _ClassVar[int]
    prefix: str
    suffix: str
    def __init__(self, prefix: _Optional[str] = ..., suffix: _Optional[str] = ...) -> None: ...

class CreateTempFileResponse(_message.Message):
    __slots__ = ("path",)
    PATH_FIELD_NUMBER: _ClassVar[int]
    path: str
    def __init__(self, path: _Optional[str] = ...) -> None: ...

class CreateTempDirRequest(_message.Message):
    __slots__ = ("prefix", "suffix")
    PREFIX_FIELD_NUMBER: _ClassVar[int]
    SUFFIX_FIELD_NUMBER: _ClassVar[int]
    prefix: str
    suffix: str
    def __init__(self, prefix: _Optional[str] = ..., suffix: _Optional[str] = ...) -> None: ...

class CreateTempDirResponse(_message.Message):
    __slots__ = ("path",)
    PATH_FIELD_NUMBER: _ClassVar[int]
    path: str
    def __init__(self, path: _Optional[str] = ...) -> None: ...

class ListTempRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class TempEntry(_message.Message):
    __slots__ = ("path", "kind", "size")
    PATH_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    SIZE_FIELD_NUMBER: _ClassVar[int]
    path: str
    kind: TempEntryKind
    size: int
    def __init__(self, path: _Optional[str] = ..., kind: _Optional[_Union[TempEntryKind, str]] = ..., size: _Optional[int] = ...) -> None: ...

class ListTempResponse(_message.Message):
    __slots__ = ("entries", "truncated")
    ENTRIES_FIELD_NUMBER: _ClassVar[int]
    TRUNCATED_FIELD_NUMBER: _ClassVar[int]
    entries: _containers.RepeatedCompositeFieldContainer[TempEntry]
    truncated: bool
    def __init__(self, entries: _Optional[_Iterable[_Union[TempEntry, _Mapping]]] = ..., truncated: _Optional[bool] = ...) -> None: ...

class RemoveTempRequest(_message.Message):
    __slots__ = ("path",)
    PATH_FIELD_NUMBER: _ClassVar[int]
    path: str
    def __init__(self, path: _Optional[str] = ...) -> None: ...

class RemoveTempResponse(_message.Message):
    __slots__ = ("removed",)
    REMOVED_FIELD_NUMBER: _ClassVar[int]
    removed: int
    def __init__(self, removed: _Optional[int] = ...) -> None: ...

class CleanupTempRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class CleanupTempResponse(_message.Message):
    __slots__ = ("removed",)
    REMOVED_FIELD_NUMBER: _ClassVar[int]
    removed: int
    def __init__(self, removed: _Optional[int] = ...) -> None: ...
