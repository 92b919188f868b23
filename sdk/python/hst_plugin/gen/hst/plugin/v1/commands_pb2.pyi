from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class RunCommandRequest(_message.Message):
    __slots__ = ("command", "args", "color", "values_json")
    class ArgsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    COMMAND_FIELD_NUMBER: _ClassVar[int]
    ARGS_FIELD_NUMBER: _ClassVar[int]
    COLOR_FIELD_NUMBER: _ClassVar[int]
    VALUES_JSON_FIELD_NUMBER: _ClassVar[int]
    command: str
    args: _containers.ScalarMap[str, str]
    color: bool
    values_json: str
    def __init__(self, command: _Optional[str] = ..., args: _Optional[_Mapping[str, str]] = ..., color: _Optional[bool] = ..., values_json: _Optional[str] = ...) -> None: ...

class RunCommandResponse(_message.Message):
    __slots__ = ("output", "progress", "result")
    OUTPUT_FIELD_NUMBER: _ClassVar[int]
    PROGRESS_FIELD_NUMBER: _ClassVar[int]
    RESULT_FIELD_NUMBER: _ClassVar[int]
    output: str
    progress: str
    result: CommandResult
    def __init__(self, output: _Optional[str] = ..., progress: _Optional[str] = ..., result: _Optional[_Union[CommandResult, _Mapping]] = ...) -> None: ...

class CommandResult(_message.Message):
    __slots__ = ("json", "exit_code")
    JSON_FIELD_NUMBER: _ClassVar[int]
    EXIT_CODE_FIELD_NUMBER: _ClassVar[int]
    json: str
    exit_code: int
    def __init__(self, json: _Optional[str] = ..., exit_code: _Optional[int] = ...) -> None: ...
