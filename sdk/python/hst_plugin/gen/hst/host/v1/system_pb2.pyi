from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class HostnameRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class HostnameResponse(_message.Message):
    __slots__ = ("hostname",)
    HOSTNAME_FIELD_NUMBER: _ClassVar[int]
    hostname: str
    def __init__(self, hostname: _Optional[str] = ...) -> None: ...

class OsInfoRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class OsInfoResponse(_message.Message):
    __slots__ = ("platform", "release", "arch", "type", "version")
    PLATFORM_FIELD_NUMBER: _ClassVar[int]
    RELEASE_FIELD_NUMBER: _ClassVar[int]
    ARCH_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    platform: str
    release: str
    arch: str
    type: str
    version: str
    def __init__(self, platform: _Optional[str] = ..., release: _Optional[str] = ..., arch: _Optional[str] = ..., type: _Optional[str] = ..., version: _Optional[str] = ...) -> None: ...

class CpuInfoRequest(_message.Message):
    __slots__ = ("include_times",)
    INCLUDE_TIMES_FIELD_NUMBER: _ClassVar[int]
    include_times: bool
    def __init__(self, include_times: _Optional[bool] = ...) -> None: ...

class CpuTimes(_message.Message):
    __slots__ = ("user_ms", "nice_ms", "sys_ms", "idle_ms", "irq_ms")
    USER_MS_FIELD_NUMBER: _ClassVar[int]
    NICE_MS_FIELD_NUMBER: _ClassVar[int]
    SYS_MS_FIELD_NUMBER: _ClassVar[int]
    IDLE_MS_FIELD_NUMBER: _ClassVar[int]
    IRQ_MS_FIELD_NUMBER: _ClassVar[int]
    user_ms: int
    nice_ms: int
    sys_ms: int
    idle_ms: int
    irq_ms: int
    def __init__(self, user_ms: _Optional[int] = ..., nice_ms: _Optional[int] = ..., sys_ms: _Optional[int] = ..., idle_ms: _Optional[int] = ..., irq_ms: _Optional[int] = ...) -> None: ...

class CpuInfoResponse(_message.Message):
    __slots__ = ("count", "model", "speed_mhz", "times")
    COUNT_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    SPEED_MHZ_FIELD_NUMBER: _ClassVar[int]
    TIMES_FIELD_NUMBER: _ClassVar[int]
    count: int
    model: str
    speed_mhz: int
    times: _containers.RepeatedCompositeFieldContainer[CpuTimes]
    def __init__(self, count: _Optional[int] = ..., model: _Optional[str] = ..., speed_mhz: _Optional[int] = ..., times: _Optional[_Iterable[_Union[CpuTimes, _Mapping]]] = ...) -> None: ...

class MemoryInfoRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class MemoryInfoResponse(_message.Message):
    __slots__ = ("total", "free", "available")
    TOTAL_FIELD_NUMBER: _ClassVar[int]
    FREE_FIELD_NUMBER: _ClassVar[int]
    AVAILABLE_FIELD_NUMBER: _ClassVar[int]
    total: int
    free: int
    available: int
    def __init__(self, total: _Optional[int] = ..., free: _Optional[int] = ..., available: _Optional[int] = ...) -> None: ...

class UptimeRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class UptimeResponse(_message.Message):
    __slots__ = ("seconds",)
    SECONDS_FIELD_NUMBER: _ClassVar[int]
    seconds: float
    def __init__(self, seconds: _Optional[float] = ...) -> None: ...

class LoadAverageRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class LoadAverageResponse(_message.Message):
    __slots__ = ("one", "five", "fifteen")
    ONE_FIELD_NUMBER: _ClassVar[int]
    FIVE_FIELD_NUMBER: _ClassVar[int]
    FIFTEEN_FIELD_NUMBER: _ClassVar[int]
    one: float
    five: float
    fifteen: float
    def __init__(self, one: _Optional[float] = ..., five: _Optional[float] = ..., fifteen: _Optional[float] = ...) -> None: ...

class NowRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class NowResponse(_message.Message):
    __slots__ = ("unix_ms", "iso", "timezone", "utc_offset_minutes")
    UNIX_MS_FIELD_NUMBER: _ClassVar[int]
    ISO_FIELD_NUMBER: _ClassVar[int]
    TIMEZONE_FIELD_NUMBER: _ClassVar[int]
    UTC_OFFSET_MINUTES_FIELD_NUMBER: _ClassVar[int]
    unix_ms: int
    iso: str
    timezone: str
    utc_offset_minutes: int
    def __init__(self, unix_ms: _Optional[int] = ..., iso: _Optional[str] = ..., timezone: _Optional[str] = ..., utc_offset_minutes: _Optional[int] = ...) -> None: ...

class UserInfoRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class UserInfoResponse(_message.Message):
    __slots__ = ("username", "uid", "gid", "shell")
    USERNAME_FIELD_NUMBER: _ClassVar[int]
    UID_FIELD_NUMBER: _ClassVar[int]
    GID_FIELD_NUMBER: _ClassVar[int]
    SHELL_FIELD_NUMBER: _ClassVar[int]
    username: str
    uid: int
    gid: int
    shell: str
    def __init__(self, username: _Optional[str] = ..., uid: _Optional[int] = ..., gid: _Optional[int] = ..., shell: _Optional[str] = ...) -> None: ...
