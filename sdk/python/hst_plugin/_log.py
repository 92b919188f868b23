"""hclog-compatible JSON logging to the process's real stderr.

A go-plugin host reads the plugin's stderr line by line and parses each line
as hclog JSON: `@level`, `@message`, `@module`, `@timestamp` and any other
keys as fields. A Go host panics on a non-string `@message`/`@level`, so
every value written here is a string.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import sys
import threading
from typing import Any, Dict, Optional, TextIO

LEVELS = ("trace", "debug", "info", "warn", "error")
_RANK = {name: i for i, name in enumerate(LEVELS)}
_RANK["warning"] = _RANK["warn"]
_RANK["off"] = len(LEVELS)


def _timestamp(now: Optional[_dt.datetime] = None) -> str:
    """Go layout 2006-01-02T15:04:05.000000Z07:00: local time, 6 fractional digits, Z for UTC."""
    now = now or _dt.datetime.now().astimezone()
    text = now.isoformat(timespec="microseconds")
    if text.endswith("+00:00"):
        text = text[:-6] + "Z"
    return text


def _to_str(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bytes):
        return value.decode("utf-8", "backslashreplace")
    if isinstance(value, BaseException):
        return str(value) or type(value).__name__
    return str(value)


class _Sink:
    """Writes whole lines to a file descriptor, one lock per sink."""

    def __init__(self, stream: Optional[TextIO] = None):
        self._lock = threading.Lock()
        self._stream = stream
        fd = None
        if stream is None:
            real = sys.__stderr__
            try:
                fd = real.fileno() if real is not None else 2
            except (AttributeError, OSError, ValueError):
                fd = 2
        self._fd = fd

    def write_line(self, line: str) -> None:
        data = (line + "\n").encode("utf-8", "backslashreplace")
        with self._lock:
            if self._stream is not None:
                self._stream.write(data.decode("utf-8"))
                self._stream.flush()
                return
            view = memoryview(data)
            while view:
                try:
                    n = os.write(self._fd, view)
                except InterruptedError:
                    continue
                except OSError:
                    return  # stderr gone: nothing sensible left to do
                view = view[n:]


class Logger:
    """A small hclog-style structured logger.

    Logger("kv").info("stored", key="a") writes
    {"@level":"info","@message":"stored","@module":"kv","@timestamp":"...","key":"a"}
    to the real stderr (file descriptor 2), even after serve() has redirected
    sys.stderr into the GRPCStdio stream.
    """

    def __init__(
        self,
        name: str = "plugin",
        level: str = "trace",
        stream: Optional[TextIO] = None,
        fields: Optional[Dict[str, Any]] = None,
        _sink: Optional[_Sink] = None,
    ):
        if level.lower() not in _RANK:
            raise ValueError(f"unknown log level {level!r}; want one of {', '.join(LEVELS)}")
        self.name = name
        self.level = level.lower()
        self._fields = dict(fields or {})
        self._sink = _sink or _Sink(stream)

    def named(self, name: str) -> "Logger":
        """A child logger whose @module is "<parent>.<name>"."""
        full = f"{self.name}.{name}" if self.name else name
        return Logger(full, self.level, fields=self._fields, _sink=self._sink)

    def with_fields(self, **fields: Any) -> "Logger":
        """A logger that adds these fields to every line."""
        merged = dict(self._fields)
        merged.update(fields)
        return Logger(self.name, self.level, fields=merged, _sink=self._sink)

    def enabled(self, level: str) -> bool:
        return _RANK[level] >= _RANK[self.level]

    def log(self, level: str, message: Any, **fields: Any) -> None:
        level = "warn" if level == "warning" else level
        if level not in LEVELS:
            raise ValueError(f"unknown log level {level!r}")
        if not self.enabled(level):
            return
        record: Dict[str, str] = {
            "@level": level,
            "@message": _to_str(message),
        }
        if self.name:
            record["@module"] = self.name
        record["@timestamp"] = _timestamp()
        for key, value in {**self._fields, **fields}.items():
            if key in record:
                key = "_" + key
            record[key] = _to_str(value)
        self._sink.write_line(json.dumps(record, ensure_ascii=False, separators=(",", ":")))

    def trace(self, message: Any, **fields: Any) -> None:
        self.log("trace", message, **fields)

    def debug(self, message: Any, **fields: Any) -> None:
        self.log("debug", message, **fields)

    def info(self, message: Any, **fields: Any) -> None:
        self.log("info", message, **fields)

    def warn(self, message: Any, **fields: Any) -> None:
        self.log("warn", message, **fields)

    warning = warn

    def error(self, message: Any, **fields: Any) -> None:
        self.log("error", message, **fields)
