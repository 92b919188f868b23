/**
 * The Go skeleton of `hst new`: a Go module of its own in the plugin's
 * directory, on the Go SDK (module hst.local/sdk: go-plugin with host
 * services, commands and the generated clients), which its go.mod takes by a
 * `replace` from the hst package that made it, so nothing of hst is
 * downloaded. `go build -o bin/<name> .` makes the manifest's command.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { HANDSHAKE, hstRun, manifest, pathFrom, readme, type Skeleton, type TemplateContext } from './common.js';

/** The SDK's module path, which the package's sdk/go/go.mod declares. */
const SDK_MODULE = 'hst.local/sdk';

function mainFile(ctx: TemplateContext): string {
  return `// Command ${ctx.name} is an hst plugin in Go, on go-plugin and hst's Go SDK.
//
//	hello [name]   greets name (default "world"); result {"greeting": ...}
//	files          lists the workspace root through the host; result {"files": [...]}
//
// Every file it sees comes through the host's Filesystem service, which checks
// each call against plugin.yaml. main_test.go tests the commands without a host.
package main

import (
	"context"

	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"

	hostv1 "${SDK_MODULE}/gen/hst/host/v1"
	"${SDK_MODULE}/hostconn"
)

// The handshake plugin.yaml declares.
var handshake = plugin.HandshakeConfig{
	ProtocolVersion:  ${HANDSHAKE.protocolVersion},
	MagicCookieKey:   "${HANDSHAKE.key}",
	MagicCookieValue: "${HANDSHAKE.value}",
}

// filesystemFunc gives the host's Filesystem service; tests give a fake one.
type filesystemFunc func(context.Context) (hostv1.FilesystemClient, error)

// commands are the commands plugin.yaml declares.
func commands(filesystem filesystemFunc) hostconn.Commands {
	return hostconn.Commands{
		"hello": hello,
		"files": func(run *hostconn.Run) (any, error) { return files(run, filesystem) },
	}
}

func hello(run *hostconn.Run) (any, error) {
	greeting := "hello, " + run.Arg("name", "world")
	if err := run.Output(greeting + "\\n"); err != nil {
		return nil, err
	}
	return map[string]string{"greeting": greeting}, nil
}

// files lists the workspace root. A refused or failed host call is returned
// as it is: the run ends with exit code 1 and the host's message.
func files(run *hostconn.Run, filesystem filesystemFunc) (any, error) {
	ctx := run.Context()
	fs, err := filesystem(ctx)
	if err != nil {
		return nil, err
	}
	res, err := fs.ReadDir(ctx, &hostv1.ReadDirRequest{Path: "."})
	if err != nil {
		return nil, err
	}
	names := make([]string, 0, len(res.GetEntries()))
	for _, entry := range res.GetEntries() {
		name := entry.GetName()
		if entry.GetType() == hostv1.FileType_FILE_TYPE_DIRECTORY {
			name += "/"
		}
		names = append(names, name)
		if err := run.Output(name + "\\n"); err != nil {
			return nil, err
		}
	}
	return map[string][]string{"files": names}, nil
}

func main() {
	hostconn.Serve(handshake, ${JSON.stringify(ctx.name)}, func(s *grpc.Server, link *hostconn.Link) {
		hostconn.RegisterCommands(s, commands(func(ctx context.Context) (hostv1.FilesystemClient, error) {
			return hostconn.Client(ctx, link, hostv1.NewFilesystemClient)
		}))
	})
}
`;
}

function testFile(ctx: TemplateContext): string {
  return `package main

// The commands of ${ctx.name}, run without a host: hostconntest plays the
// host's end of a run, and a fake stands in for its Filesystem service.

import (
	"context"
	"reflect"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	hostv1 "${SDK_MODULE}/gen/hst/host/v1"
	"${SDK_MODULE}/hostconn/hostconntest"
)

// fakeFilesystem answers ReadDir with its entries, or with err.
type fakeFilesystem struct {
	hostv1.FilesystemClient // only ReadDir is used
	entries                 []*hostv1.FileInfo
	err                     error
	paths                   []string
}

func (f *fakeFilesystem) ReadDir(_ context.Context, req *hostv1.ReadDirRequest, _ ...grpc.CallOption) (*hostv1.ReadDirResponse, error) {
	f.paths = append(f.paths, req.GetPath())
	if f.err != nil {
		return nil, f.err
	}
	return &hostv1.ReadDirResponse{Entries: f.entries}, nil
}

func run(t *testing.T, fs hostv1.FilesystemClient, command string, args map[string]string) hostconntest.Result {
	t.Helper()
	filesystem := func(context.Context) (hostv1.FilesystemClient, error) { return fs, nil }
	result, err := hostconntest.Run(context.Background(), commands(filesystem), command, args)
	if err != nil {
		t.Fatalf("%s: %v", command, err)
	}
	return result
}

func check(t *testing.T, what string, got, want any) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%s = %#v, want %#v", what, got, want)
	}
}

func TestHelloGreetsByName(t *testing.T) {
	check(t, "run", run(t, nil, "hello", map[string]string{"name": "gopher"}), hostconntest.Result{Output: []string{"hello, gopher\\n"}, JSON: \`{"greeting":"hello, gopher"}\`})
}

func TestHelloGreetsTheWorldByDefault(t *testing.T) {
	check(t, "run", run(t, nil, "hello", nil), hostconntest.Result{Output: []string{"hello, world\\n"}, JSON: \`{"greeting":"hello, world"}\`})
}

func TestFilesListsTheWorkspaceRoot(t *testing.T) {
	fs := &fakeFilesystem{entries: []*hostv1.FileInfo{
		{Name: "docs", Type: hostv1.FileType_FILE_TYPE_DIRECTORY},
		{Name: "notes.txt", Type: hostv1.FileType_FILE_TYPE_FILE},
	}}
	check(t, "run", run(t, fs, "files", nil), hostconntest.Result{Output: []string{"docs/\\n", "notes.txt\\n"}, JSON: \`{"files":["docs/","notes.txt"]}\`})
	check(t, "paths read", fs.paths, []string{"."})
}

func TestFilesReportsARefusedHostCall(t *testing.T) {
	message := "Filesystem/ReadDir .: denied by default deny"
	fs := &fakeFilesystem{err: status.Error(codes.PermissionDenied, message)}
	check(t, "run", run(t, fs, "files", nil), hostconntest.Result{Output: []string{message + "\\n"}, JSON: \`{"error":"\` + message + \`"}\`, ExitCode: 1})
}

func TestAnUnknownCommandIsNotFound(t *testing.T) {
	_, err := hostconntest.Run(context.Background(), commands(nil), "nope", nil)
	check(t, "code", status.Code(err), codes.NotFound)
}
`;
}

/** A file of the SDK, or nothing when it is missing (needs refuses the skeleton then, before anything is written). */
function sdkFile(sdk: string, name: string): string {
  try {
    return readFileSync(join(sdk, name), 'utf8');
  } catch {
    return '';
  }
}

/** The SDK's own go.mod as this plugin's: its requirements (and go.sum beside it), plus the SDK itself from the package. */
function goMod(ctx: TemplateContext, sdk: string): string {
  const sdkMod = sdkFile(sdk, 'go.mod');
  if (!sdkMod.startsWith(`module ${SDK_MODULE}\n`)) return '';
  return `module ${ctx.name}
${sdkMod.slice(`module ${SDK_MODULE}\n`.length).trimEnd()}

require ${SDK_MODULE} v0.0.0

// hst's Go SDK, from the hst package that made this plugin.
replace ${SDK_MODULE} => ${pathFrom(ctx.pluginDir, sdk)}
`;
}

export function goSkeleton(ctx: TemplateContext): Skeleton {
  const sdk = join(ctx.packageRoot, 'sdk', 'go');
  const build = `go build -o bin/${ctx.name} .`;
  const at = (file: string) => join(ctx.pluginDir, file);
  return {
    language: 'Go',
    dirs: [ctx.pluginDir],
    files: [
      { path: at('plugin.yaml'), content: manifest(ctx, { runtime: 'binary', command: `bin/${ctx.name}`, notes: [`${ctx.name}: an hst plugin in Go. Build: ${build}`] }) },
      {
        path: at('README.md'),
        content: readme(ctx, {
          language: 'Go',
          about: `A [go-plugin](https://github.com/hashicorp/go-plugin) plugin on hst's Go SDK (\`${SDK_MODULE}\`: \`hostconn\` serves it with host services and commands, \`gen/hst/host/v1\` has the services' clients). \`go.mod\` takes the SDK from the hst package that made the plugin (\`replace ${SDK_MODULE} => ${pathFrom(ctx.pluginDir, sdk)}\`); go-plugin and gRPC come from the Go module proxy. The build puts the binary at \`bin/${ctx.name}\`, the manifest's \`command\`.`,
          build,
          test: 'go test ./...',
          files: [
            ['plugin.yaml', 'the manifest: how to start it, its handshake, capabilities and commands'],
            ['main.go', 'the plugin: one function per command, served by `hostconn.Serve`'],
            ['main_test.go', 'tests of the commands, with a fake host'],
            ['go.mod, go.sum', 'the module: go-plugin, gRPC and the SDK'],
            [`bin/${ctx.name}`, 'the built plugin'],
          ],
          change: 'Add a function `func(run *hostconn.Run) (any, error)` to `commands` in `main.go` (`run.Arg`, `run.Values`, `run.Output`; return a `*hostconn.CommandError` for another exit code), and a test to `main_test.go`. For another host service, `hostconn.Client(ctx, link, hostv1.New<Service>Client)`.',
        }),
      },
      { path: at('.gitignore'), content: '/bin/\n' },
      { path: at('main.go'), content: mainFile(ctx) },
      { path: at('main_test.go'), content: testFile(ctx) },
      { path: at('go.mod'), content: goMod(ctx, sdk) },
      { path: at('go.sum'), content: sdkFile(sdk, 'go.sum') },
    ],
    needs: [{ path: join(sdk, 'go.mod'), what: "hst's Go SDK" }],
    next: [build, hstRun(ctx, 'hello'), 'go test ./...'],
  };
}
