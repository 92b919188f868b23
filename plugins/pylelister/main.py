#!/usr/bin/env python3
"""pylelister: an example hst plugin in Python, on sdk/python.

It lists directories of the workspace through the host's Filesystem service
and never touches the disk itself, so the host's capability checks, audit log
and confinement apply to every file it sees or writes.

Commands (hst.plugin.v1.Commands):

    list [path]          one line per entry, "type size name"; result {path, entries}
    save [path] [out]    writes that listing to out (under listings/ by the manifest)

It finds the SDK (../../sdk/python) relative to this file.
"""

import html
import os
import posixpath
import sys

_HERE = os.path.dirname(os.path.realpath(__file__))
sys.path.insert(0, os.path.normpath(os.path.join(_HERE, "..", "..", "sdk", "python")))

import grpc  # noqa: E402

from hst_plugin import (  # noqa: E402
    CommandContext,
    CommandError,
    HandshakeConfig,
    HostServicesUnavailable,
    Logger,
    HttpRequest,
    ServeConfig,
    host_services,
    serve,
)
from hst_plugin.gen.hst.host.v1 import filesystem_pb2  # noqa: E402

# The handshake every example plugin's manifest declares.
HANDSHAKE = HandshakeConfig(protocol_version=1, magic_cookie_key="HST_PLUGIN", magic_cookie_value="hst-example-v1")

DEFAULT_PATH = "."
DEFAULT_OUT = "listings/listing.txt"

TYPE_NAMES = {
    filesystem_pb2.FILE_TYPE_FILE: "file",
    filesystem_pb2.FILE_TYPE_DIRECTORY: "dir",
    filesystem_pb2.FILE_TYPE_SYMLINK: "symlink",
}


def _filesystem():
    try:
        return host_services().filesystem
    except HostServicesUnavailable as exc:
        raise CommandError(str(exc)) from exc


def _host_failure(exc: grpc.RpcError) -> CommandError:
    # A failed host call is a failed run (exit code 1), with the host's own message.
    return CommandError(exc.details() or str(exc.code()))


def read_dir(path: str) -> list:
    try:
        response = _filesystem().ReadDir(filesystem_pb2.ReadDirRequest(path=path))
    except grpc.RpcError as exc:
        raise _host_failure(exc) from exc
    return [{"name": e.name, "type": TYPE_NAMES.get(e.type, "other"), "size": e.size} for e in response.entries]


def line(entry: dict, color: bool) -> str:
    name = entry["name"]
    if color and entry["type"] == "dir":
        name = f"\x1b[1;34m{name}\x1b[0m"
    return f"{entry['type']} {entry['size']} {name}\n"


def write_file(path: str, data: bytes) -> int:
    """Writes data to path, creating path's directory when it is missing."""
    fs = _filesystem()
    request = filesystem_pb2.WriteFileRequest(path=path, data=data)
    try:
        try:
            return fs.WriteFile(request).bytes_written
        except grpc.RpcError as exc:
            parent = posixpath.dirname(path)
            if exc.code() != grpc.StatusCode.NOT_FOUND or parent in ("", "."):
                raise
            fs.Mkdir(filesystem_pb2.MkdirRequest(path=parent, recursive=True))
            return fs.WriteFile(request).bytes_written
    except grpc.RpcError as exc:
        raise _host_failure(exc) from exc


def list_command(ctx: CommandContext) -> dict:
    path = ctx.args.get("path") or DEFAULT_PATH
    entries = read_dir(path)
    for entry in entries:
        ctx.output(line(entry, ctx.color))
    return {"path": path, "entries": entries}


def save_command(ctx: CommandContext) -> dict:
    path = ctx.args.get("path") or DEFAULT_PATH
    out = ctx.args.get("out") or DEFAULT_OUT
    ctx.progress(f"listing {path}")
    entries = read_dir(path)
    ctx.progress(f"writing {out}")
    written = write_file(out, "".join(line(e, False) for e in entries).encode())
    ctx.output(f"saved {len(entries)} entries of {path} to {out}\n")
    return {"path": path, "out": out, "entries": len(entries), "bytes": written}


def listing_route(request: HttpRequest) -> dict:
    """GET /plugins/pylelister/listing/<dir>: a directory's entries as JSON."""
    path = request.params.get("*") or DEFAULT_PATH
    return {"json": {"path": path, "entries": read_dir(path)}}


def workspace_widget(request: HttpRequest) -> str:
    """The workspace's top level, for the dashboard."""
    entries = read_dir(DEFAULT_PATH)
    rows = "".join(f"<li>{html.escape(e['name'])}{'/' if e['type'] == 'dir' else ''}</li>" for e in entries[:12])
    more = f"<p>and {len(entries) - 12} more</p>" if len(entries) > 12 else ""
    return f"<style>body{{font:13px system-ui;margin:.6em}}ul{{margin:0;padding-left:1.2em}}</style><ul>{rows}</ul>{more}"


def main() -> None:
    serve(
        ServeConfig(
            handshake=HANDSHAKE,
            commands={"list": list_command, "save": save_command},
            http={"listing": listing_route, "workspace": workspace_widget},
            logger=Logger("pylelister"),
        )
    )


if __name__ == "__main__":
    main()
