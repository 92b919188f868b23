"""The commands servicer as the host drives it: each run's events in order, failures as results."""

import json
import unittest

import grpc

from hst_plugin import CommandError, Logger
from hst_plugin._commands import CommandsServicer
from hst_plugin.gen.hst.plugin.v1 import commands_pb2


class Aborted(Exception):
    pass


class FakeContext:
    """The servicer's view of one RPC: cancellation callbacks, and abort."""

    def __init__(self):
        self.callbacks = []
        self.aborted = None

    def add_callback(self, callback):
        self.callbacks.append(callback)
        return True

    def abort(self, code, details):
        self.aborted = (code, details)
        raise Aborted(details)


def run(commands, command, args=None, values=None):
    request = commands_pb2.RunCommandRequest(command=command, args=args or {}, values_json=json.dumps(values) if values is not None else "")
    events = list(CommandsServicer(commands, Logger("test")).Run(request, FakeContext()))
    outputs = [e.output for e in events if e.WhichOneof("event") == "output"]
    progress = [e.progress for e in events if e.WhichOneof("event") == "progress"]
    results = [e.result for e in events if e.WhichOneof("event") == "result"]
    assert len(results) == 1 and events[-1].WhichOneof("event") == "result", events
    return outputs, progress, json.loads(results[0].json), results[0].exit_code


class CommandsTest(unittest.TestCase):
    def test_output_progress_and_result_in_order(self):
        def greet(ctx):
            ctx.progress("greeting")
            ctx.output(f"hello, {ctx.args['name']}\n")
            return {"greeting": f"hello, {ctx.args['name']}"}

        self.assertEqual(run({"greet": greet}, "greet", {"name": "Ada"}), (["hello, Ada\n"], ["greeting"], {"greeting": "hello, Ada"}, 0))

    def test_typed_values_come_from_the_hosts_json(self):
        seen = {}
        run({"count": lambda ctx: seen.update(ctx.values)}, "count", {"n": "3"}, {"n": 3})
        self.assertEqual(seen, {"n": 3})

    def test_command_error_sets_the_exit_code(self):
        def check(ctx):
            raise CommandError("2 problems", exit_code=3)

        self.assertEqual(run({"check": check}, "check"), (["2 problems\n"], [], {"error": "2 problems"}, 3))

    def test_any_other_exception_is_exit_code_1(self):
        def broken(ctx):
            raise RuntimeError("disk on fire")

        self.assertEqual(run({"broken": broken}, "broken"), (["disk on fire\n"], [], {"error": "disk on fire"}, 1))

    def test_a_result_that_is_not_json_fails_the_run(self):
        outputs, _, value, code = run({"bad": lambda ctx: object()}, "bad")
        self.assertEqual(code, 1)
        self.assertIn("is not JSON", value["error"])

    def test_an_unknown_command_is_not_found_naming_the_others(self):
        context = FakeContext()
        request = commands_pb2.RunCommandRequest(command="nope")
        with self.assertRaises(Aborted):
            list(CommandsServicer({"a": None, "b": None}, Logger("test")).Run(request, context))
        self.assertEqual(context.aborted, (grpc.StatusCode.NOT_FOUND, 'no command "nope"; this plugin has a, b'))


if __name__ == "__main__":
    unittest.main()
