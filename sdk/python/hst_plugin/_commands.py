"""A plugin's commands, served through hst.plugin.v1.Commands.

Each command is a function taking a CommandContext (its arguments, and a way
to write output and progress) and returning a result, sent to the host as
JSON for `--json`. Raising ends the run with exit code 1 and the error's
message as output; CommandError sets another exit code. A command the plugin
does not have is NOT_FOUND.
"""

from __future__ import annotations

import json
import queue
import threading
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Optional

import grpc

from ._log import Logger
from .gen.hst.plugin.v1 import commands_pb2, commands_pb2_grpc


class CommandError(Exception):
    """Ends a command with this message and exit code."""

    def __init__(self, message: str, exit_code: int = 1):
        super().__init__(message)
        self.exit_code = exit_code


@dataclass
class CommandContext:
    # The arguments as given, as text.
    args: Mapping[str, str]
    # The person's terminal shows colours (ANSI escapes are welcome).
    color: bool
    # Set when the host cancels the run; long commands should check it.
    cancelled: threading.Event
    _events: "queue.Queue[Optional[commands_pb2.RunCommandResponse]]" = field(repr=False)
    # The same arguments as values of the types the manifest declares (type: int
    # arrives as an int, bool as a bool, json parsed); the text from an older host.
    values: Mapping[str, Any] = field(default_factory=dict)

    def output(self, text: str) -> None:
        self._events.put(commands_pb2.RunCommandResponse(output=text))

    def progress(self, text: str) -> None:
        """A progress line that replaces the previous one."""
        self._events.put(commands_pb2.RunCommandResponse(progress=text))


CommandHandler = Callable[[CommandContext], Any]


def _result(value: Any, exit_code: int) -> commands_pb2.RunCommandResponse:
    return commands_pb2.RunCommandResponse(
        result=commands_pb2.CommandResult(json=json.dumps(value), exit_code=exit_code)
    )


class CommandsServicer(commands_pb2_grpc.CommandsServicer):
    def __init__(self, commands: Mapping[str, CommandHandler], logger: Logger):
        self._commands = dict(commands)
        self._log = logger

    def Run(self, request, context):
        handler = self._commands.get(request.command)
        if handler is None:
            names = ", ".join(self._commands) or "none"
            context.abort(
                grpc.StatusCode.NOT_FOUND,
                f"no command {json.dumps(request.command, ensure_ascii=False)}; this plugin has {names}",
            )
        events: "queue.Queue[Optional[commands_pb2.RunCommandResponse]]" = queue.Queue()
        cancelled = threading.Event()
        context.add_callback(cancelled.set)
        values = json.loads(request.values_json) if request.values_json else dict(request.args)
        ctx = CommandContext(args=dict(request.args), color=request.color, cancelled=cancelled, _events=events, values=values)

        def work() -> None:
            try:
                value = handler(ctx)
                try:
                    events.put(_result(value, 0))
                except (TypeError, ValueError) as exc:
                    raise CommandError(f"the result of {request.command} is not JSON: {exc}") from exc
            except CommandError as exc:
                ctx.output(f"{exc}\n")
                events.put(_result({"error": str(exc)}, exc.exit_code))
            except Exception as exc:  # noqa: BLE001 - any failure is the run's result, not the server's
                self._log.error("command failed", command=request.command, error=exc)
                ctx.output(f"{exc}\n")
                events.put(_result({"error": str(exc)}, 1))
            finally:
                events.put(None)

        # Output streams while the command runs, so it runs beside this stream.
        threading.Thread(target=work, name=f"hst-command-{request.command}", daemon=True).start()
        while True:
            event = events.get()
            if event is None:
                return
            yield event


def register_commands(server, commands: Mapping[str, CommandHandler], logger: Logger) -> None:
    """Serves hst.plugin.v1.Commands on `server`; serve() does this for ServeConfig.commands."""
    commands_pb2_grpc.add_CommandsServicer_to_server(CommandsServicer(commands, logger), server)
