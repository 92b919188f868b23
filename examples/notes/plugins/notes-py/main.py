#!/usr/bin/env python3
"""notes-py: the Python plugin of examples/notes, on sdk/python.

It calls Notes, a host service the application added to hst, on the host
connection every plugin has, under the same capability checks as hst's own
services.

    put <name> <text>   writes a note; result {revision}
    get <name>          reads it back; result {text, revision, writtenBy}

The SDK is found relative to this file (the repository's sdk/python); the
Notes stubs are in ./gen (sdk/python/generate.py writes them).
"""

import os
import sys

_HERE = os.path.dirname(os.path.realpath(__file__))
sys.path.insert(0, os.path.normpath(os.path.join(_HERE, "..", "..", "..", "..", "sdk", "python")))
sys.path.insert(0, os.path.join(_HERE, "gen"))

import grpc  # noqa: E402

from acme.notes.v1 import notes_pb2, notes_pb2_grpc  # noqa: E402
from hst_plugin import (  # noqa: E402
    CommandContext,
    CommandError,
    HandshakeConfig,
    HostServicesUnavailable,
    Logger,
    ServeConfig,
    host_services,
    serve,
)

HANDSHAKE = HandshakeConfig(protocol_version=1, magic_cookie_key="HST_PLUGIN", magic_cookie_value="hst-example-v1")


def _notes() -> notes_pb2_grpc.NotesStub:
    try:
        return notes_pb2_grpc.NotesStub(host_services().channel)
    except HostServicesUnavailable as exc:
        raise CommandError(str(exc)) from exc


def _call(method, request):
    # A refused or failed host call is a failed run with the host's own message.
    try:
        return method(request)
    except grpc.RpcError as exc:
        raise CommandError(exc.details() or str(exc.code())) from exc


def put_command(ctx: CommandContext) -> dict:
    name = ctx.args.get("name", "")
    response = _call(_notes().Put, notes_pb2.PutNoteRequest(name=name, text=ctx.args.get("text", "")))
    ctx.output(f"{name}: revision {response.revision}\n")
    return {"revision": response.revision}


def get_command(ctx: CommandContext) -> dict:
    note = _call(_notes().Get, notes_pb2.GetNoteRequest(name=ctx.args.get("name", "")))
    ctx.output(f"{note.text}\n")
    return {"text": note.text, "revision": note.revision, "writtenBy": note.written_by}


def main() -> None:
    serve(ServeConfig(handshake=HANDSHAKE, commands={"put": put_command, "get": get_command}, logger=Logger("notes-py")))


if __name__ == "__main__":
    main()
