/**
 * The Python skeleton of `hst new`: main.py on hst's Python SDK (the package
 * hst-plugin, `import hst_plugin`), installed with pip from the hst package
 * that made the plugin, and a unittest file that runs the command handlers
 * with a fake host. Nothing to build.
 */
import { join } from 'node:path';
import { HANDSHAKE, hstRun, manifest, pathFrom, readme, type Skeleton, type TemplateContext } from './common.js';

function mainFile(ctx: TemplateContext): string {
  return `#!/usr/bin/env python3
"""${ctx.name}: an hst plugin in Python, on hst's Python SDK (hst_plugin).

Commands (hst.plugin.v1.Commands), declared in plugin.yaml:

    hello [name]   greets name (default "world"); result {"greeting": ...}
    files          lists the workspace root through the host; result {"files": [...]}

Every file it sees comes through the host's Filesystem service, which checks
each call against plugin.yaml. test_main.py tests the commands without a host.
"""

import grpc

from hst_plugin import CommandContext, CommandError, HandshakeConfig, Logger, ServeConfig, host_services, serve
from hst_plugin.gen.hst.host.v1 import filesystem_pb2

# The handshake plugin.yaml declares.
HANDSHAKE = HandshakeConfig(protocol_version=${HANDSHAKE.protocolVersion}, magic_cookie_key="${HANDSHAKE.key}", magic_cookie_value="${HANDSHAKE.value}")


def filesystem():
    """The host's Filesystem service; tests replace this function."""
    return host_services().filesystem


def hello(ctx: CommandContext) -> dict:
    greeting = f"hello, {ctx.args.get('name') or 'world'}"
    ctx.output(greeting + "\\n")
    return {"greeting": greeting}


def files(ctx: CommandContext) -> dict:
    try:
        response = filesystem().ReadDir(filesystem_pb2.ReadDirRequest(path="."))
    except grpc.RpcError as exc:
        # A refused or failed host call ends the run with exit code 1 and the host's message.
        raise CommandError(exc.details() or str(exc.code())) from exc
    names = [e.name + "/" if e.type == filesystem_pb2.FILE_TYPE_DIRECTORY else e.name for e in response.entries]
    for name in names:
        ctx.output(name + "\\n")
    return {"files": names}


def main() -> None:
    serve(ServeConfig(handshake=HANDSHAKE, commands={"hello": hello, "files": files}, logger=Logger(${JSON.stringify(ctx.name)})))


if __name__ == "__main__":
    main()
`;
}

function testFile(ctx: TemplateContext): string {
  return `"""Tests of ${ctx.name}'s commands, with a fake host: python3 -m unittest"""

import unittest
from unittest import mock

import grpc

from hst_plugin.gen.hst.host.v1 import filesystem_pb2

import main


class Context:
    """What a command gets: its arguments, and output that is kept here."""

    def __init__(self, **args):
        self.args = args
        self.color = False
        self.printed = []

    def output(self, text):
        self.printed.append(text)

    def progress(self, text):
        pass


class Filesystem:
    """The host's Filesystem service, answering ReadDir with its entries or raising error."""

    def __init__(self, entries=(), error=None):
        self.entries = list(entries)
        self.error = error
        self.paths = []

    def ReadDir(self, request):
        self.paths.append(request.path)
        if self.error is not None:
            raise self.error
        return filesystem_pb2.ReadDirResponse(entries=self.entries)


class Refused(grpc.RpcError):
    def code(self):
        return grpc.StatusCode.PERMISSION_DENIED

    def details(self):
        return "Filesystem/ReadDir .: denied by default deny"


class HelloTest(unittest.TestCase):
    def test_greets_by_name(self):
        ctx = Context(name="Ada")
        self.assertEqual(main.hello(ctx), {"greeting": "hello, Ada"})
        self.assertEqual(ctx.printed, ["hello, Ada\\n"])

    def test_greets_the_world_by_default(self):
        ctx = Context()
        self.assertEqual(main.hello(ctx), {"greeting": "hello, world"})
        self.assertEqual(ctx.printed, ["hello, world\\n"])


class FilesTest(unittest.TestCase):
    def test_lists_the_workspace_root(self):
        fs = Filesystem(
            [
                filesystem_pb2.FileInfo(name="docs", type=filesystem_pb2.FILE_TYPE_DIRECTORY),
                filesystem_pb2.FileInfo(name="notes.txt", type=filesystem_pb2.FILE_TYPE_FILE),
            ]
        )
        ctx = Context()
        with mock.patch.object(main, "filesystem", return_value=fs):
            self.assertEqual(main.files(ctx), {"files": ["docs/", "notes.txt"]})
        self.assertEqual(fs.paths, ["."])
        self.assertEqual(ctx.printed, ["docs/\\n", "notes.txt\\n"])

    def test_a_refused_host_call_fails_the_run_with_the_hosts_message(self):
        with mock.patch.object(main, "filesystem", return_value=Filesystem(error=Refused())):
            with self.assertRaises(main.CommandError) as caught:
                main.files(Context())
        self.assertEqual(str(caught.exception), "Filesystem/ReadDir .: denied by default deny")
        self.assertEqual(caught.exception.exit_code, 1)


if __name__ == "__main__":
    unittest.main()
`;
}

export function pythonSkeleton(ctx: TemplateContext): Skeleton {
  const at = (file: string) => join(ctx.pluginDir, file);
  const sdk = join(ctx.packageRoot, 'sdk', 'python');
  const install = `pip install ${pathFrom(ctx.pluginDir, sdk)}`;
  const test = 'python3 -m unittest';
  return {
    language: 'Python',
    dirs: [ctx.pluginDir],
    files: [
      { path: at('plugin.yaml'), content: manifest(ctx, { runtime: 'python', command: 'main.py', notes: [`${ctx.name}: an hst plugin in Python, on hst's Python SDK: ${install}`] }) },
      {
        path: at('README.md'),
        content: readme(ctx, {
          language: 'Python',
          about: `It runs on hst's Python SDK (\`hst_plugin\`, the pip package \`hst-plugin\`), which comes with the hst package that made the plugin; the host starts it as \`python3 main.py\` (\`runtime: python\`), so install the SDK for the \`python3\` the host finds on its PATH (a virtual environment works: activate it first). Python 3.11 or later.`,
          build: `${install}   # the SDK and its packages (grpcio, protobuf, cryptography); there is nothing to compile\n${install.replace('pip install ', 'pip install -e ')}   # instead, to work on the SDK itself`,
          test,
          files: [
            ['plugin.yaml', 'the manifest: how to start it, its handshake, capabilities and commands'],
            ['main.py', 'the plugin: one function per command, given to `serve()`'],
            ['test_main.py', 'tests of the commands, with a fake host'],
          ],
          change: 'Write a function taking the context (`ctx.args`, `ctx.values`, `ctx.output()`, `ctx.progress()`) and returning the result, add it to `commands` in `main()`, and test it in `test_main.py`. Raise `CommandError(message, exit_code)` for another exit code. Host services are `host_services().<service>` (`filesystem`, `kv`, `environment`, ...), with messages from `hst_plugin.gen.hst.host.v1.<file>_pb2`.',
        }),
      },
      { path: at('main.py'), content: mainFile(ctx), mode: 0o755 },
      { path: at('test_main.py'), content: testFile(ctx) },
      { path: at('.gitignore'), content: '__pycache__/\n' },
    ],
    needs: [{ path: join(sdk, 'pyproject.toml'), what: "hst's Python SDK" }],
    next: [install, hstRun(ctx, 'hello'), test],
  };
}
