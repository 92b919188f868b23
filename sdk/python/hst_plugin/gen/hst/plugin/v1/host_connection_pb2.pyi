from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Optional as _Optional

DESCRIPTOR: _descriptor.FileDescriptor

class EstablishRequest(_message.Message):
    __slots__ = ("broker_id", "client_id")
    BROKER_ID_FIELD_NUMBER: _ClassVar[int]
    CLIENT_ID_FIELD_NUMBER: _ClassVar[int]
    broker_id: int
    client_id: str
    def __init__(self, broker_id: _Optional[int] = ..., client_id: _Optional[str] = ...) -> None: ...

class EstablishResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...
