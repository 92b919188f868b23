/**
 * The Go skeleton of `hst new`: the source goes into the repository's one Go
 * module (interop/go/cmd/<name>), which has go-plugin, the code generated from
 * proto/hst and the hostconn package; the plugin directory holds the manifest,
 * whose command is the binary bin/<name>. Under the repository's plugins/,
 * `npm run build:plugins` builds it (a binary plugin with source in
 * interop/go/cmd/<name>); elsewhere `go build` does.
 */
import { join } from 'node:path';
import { HANDSHAKE, hstRun, manifest, pathFrom, readme, shown, type Skeleton, type TemplateContext } from './common.js';

function mainFile(ctx: TemplateContext): string {
  return `// Command ${ctx.name} is an hst plugin in Go, on go-plugin.
//
//	hello [name]   greets name (default "world"); result {"greeting": ...}
//	files          lists the workspace root through the host; result {"files": [...]}
//
// Every file it sees comes through the host's Filesystem service, which checks
// each call against its manifest, ${shown(ctx, join(ctx.pluginDir, 'plugin.yaml'))}.
// main_test.go tests the commands without a host.
package main

import (
	"context"
	"encoding/json"

	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	hostv1 "hst.local/interop/gen/hst/host/v1"
	pluginv1 "hst.local/interop/gen/hst/plugin/v1"
	"hst.local/interop/hostconn"
)

// The handshake plugin.yaml declares.
var handshake = plugin.HandshakeConfig{
	ProtocolVersion:  ${HANDSHAKE.protocolVersion},
	MagicCookieKey:   "${HANDSHAKE.key}",
	MagicCookieValue: "${HANDSHAKE.value}",
}

// commands serves hst.plugin.v1.Commands.
type commands struct {
	pluginv1.UnimplementedCommandsServer
	// filesystem gives the host's Filesystem service; tests give a fake one.
	filesystem func(context.Context) (hostv1.FilesystemClient, error)
}

func (c *commands) Run(req *pluginv1.RunCommandRequest, stream pluginv1.Commands_RunServer) error {
	switch req.GetCommand() {
	case "hello":
		return hello(stream, req.GetArgs()["name"])
	case "files":
		return c.files(stream)
	default:
		return status.Errorf(codes.NotFound, "no command %q; this plugin has hello, files", req.GetCommand())
	}
}

func hello(stream pluginv1.Commands_RunServer, name string) error {
	if name == "" {
		name = "world"
	}
	greeting := "hello, " + name
	if err := output(stream, greeting+"\\n"); err != nil {
		return err
	}
	return result(stream, map[string]string{"greeting": greeting}, 0)
}

func (c *commands) files(stream pluginv1.Commands_RunServer) error {
	ctx := stream.Context()
	fs, err := c.filesystem(ctx)
	if err != nil {
		return failed(stream, err)
	}
	res, err := fs.ReadDir(ctx, &hostv1.ReadDirRequest{Path: "."})
	if err != nil {
		return failed(stream, err)
	}
	files := make([]string, 0, len(res.GetEntries()))
	for _, entry := range res.GetEntries() {
		name := entry.GetName()
		if entry.GetType() == hostv1.FileType_FILE_TYPE_DIRECTORY {
			name += "/"
		}
		files = append(files, name)
		if err := output(stream, name+"\\n"); err != nil {
			return err
		}
	}
	return result(stream, map[string][]string{"files": files}, 0)
}

func output(stream pluginv1.Commands_RunServer, text string) error {
	return stream.Send(&pluginv1.RunCommandResponse{Event: &pluginv1.RunCommandResponse_Output{Output: text}})
}

func result(stream pluginv1.Commands_RunServer, value any, exitCode int32) error {
	data, err := json.Marshal(value)
	if err != nil {
		return err
	}
	return stream.Send(&pluginv1.RunCommandResponse{Event: &pluginv1.RunCommandResponse_Result{
		Result: &pluginv1.CommandResult{Json: string(data), ExitCode: exitCode},
	}})
}

// failed ends a run whose host call was refused or failed: exit code 1 and the
// host's message, as a result rather than an RPC error.
func failed(stream pluginv1.Commands_RunServer, err error) error {
	message := status.Convert(err).Message()
	if sendErr := output(stream, message+"\\n"); sendErr != nil {
		return sendErr
	}
	return result(stream, map[string]string{"error": message}, 1)
}

func main() {
	// The link receives host services; link.Plugin serves HostConnection next to Commands.
	link := hostconn.New()
	filesystem := func(ctx context.Context) (hostv1.FilesystemClient, error) {
		conn, err := link.Conn(ctx)
		if err != nil {
			return nil, status.Error(codes.FailedPrecondition, err.Error())
		}
		return hostv1.NewFilesystemClient(conn), nil
	}
	plugin.Serve(&plugin.ServeConfig{
		HandshakeConfig: handshake,
		Plugins: plugin.PluginSet{${JSON.stringify(ctx.name)}: link.Plugin(${JSON.stringify(ctx.name)}, func(s *grpc.Server) {
			pluginv1.RegisterCommandsServer(s, &commands{filesystem: filesystem})
		})},
		GRPCServer: plugin.DefaultGRPCServer,
	})
}
`;
}

function testFile(ctx: TemplateContext): string {
  return `package main

// The commands of ${ctx.name}, run without a host: a recorder stands in for the
// host's end of the stream and a fake for its Filesystem service.

import (
	"context"
	"encoding/json"
	"reflect"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	hostv1 "hst.local/interop/gen/hst/host/v1"
	pluginv1 "hst.local/interop/gen/hst/plugin/v1"
)

// recorder keeps what a command sends.
type recorder struct {
	grpc.ServerStream // only Send and Context are used
	outputs           []string
	result            *pluginv1.CommandResult
}

func (r *recorder) Context() context.Context { return context.Background() }

func (r *recorder) Send(event *pluginv1.RunCommandResponse) error {
	if out, ok := event.GetEvent().(*pluginv1.RunCommandResponse_Output); ok {
		r.outputs = append(r.outputs, out.Output)
	}
	if res := event.GetResult(); res != nil {
		r.result = res
	}
	return nil
}

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

func withFilesystem(fs hostv1.FilesystemClient) *commands {
	return &commands{filesystem: func(context.Context) (hostv1.FilesystemClient, error) { return fs, nil }}
}

// run runs a command and checks that it ended with exitCode; it returns the outputs and the result.
func run(t *testing.T, c *commands, command string, args map[string]string, exitCode int32) ([]string, map[string]any) {
	t.Helper()
	r := &recorder{}
	if err := c.Run(&pluginv1.RunCommandRequest{Command: command, Args: args}, r); err != nil {
		t.Fatalf("%s: %v", command, err)
	}
	if r.result == nil {
		t.Fatalf("%s sent no result", command)
	}
	if r.result.GetExitCode() != exitCode {
		t.Fatalf("%s ended with exit code %d, want %d (result %s)", command, r.result.GetExitCode(), exitCode, r.result.GetJson())
	}
	var value map[string]any
	if err := json.Unmarshal([]byte(r.result.GetJson()), &value); err != nil {
		t.Fatalf("%s: result %q: %v", command, r.result.GetJson(), err)
	}
	return r.outputs, value
}

func check(t *testing.T, what string, got, want any) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%s = %#v, want %#v", what, got, want)
	}
}

func TestHelloGreetsByName(t *testing.T) {
	outputs, value := run(t, &commands{}, "hello", map[string]string{"name": "gopher"}, 0)
	check(t, "output", outputs, []string{"hello, gopher\\n"})
	check(t, "result", value, map[string]any{"greeting": "hello, gopher"})
}

func TestHelloGreetsTheWorldByDefault(t *testing.T) {
	outputs, value := run(t, &commands{}, "hello", nil, 0)
	check(t, "output", outputs, []string{"hello, world\\n"})
	check(t, "result", value, map[string]any{"greeting": "hello, world"})
}

func TestFilesListsTheWorkspaceRoot(t *testing.T) {
	fs := &fakeFilesystem{entries: []*hostv1.FileInfo{
		{Name: "docs", Type: hostv1.FileType_FILE_TYPE_DIRECTORY},
		{Name: "notes.txt", Type: hostv1.FileType_FILE_TYPE_FILE},
	}}
	outputs, value := run(t, withFilesystem(fs), "files", nil, 0)
	check(t, "paths read", fs.paths, []string{"."})
	check(t, "output", outputs, []string{"docs/\\n", "notes.txt\\n"})
	check(t, "result", value, map[string]any{"files": []any{"docs/", "notes.txt"}})
}

func TestFilesReportsARefusedHostCall(t *testing.T) {
	message := "Filesystem/ReadDir .: denied by default deny"
	fs := &fakeFilesystem{err: status.Error(codes.PermissionDenied, message)}
	outputs, value := run(t, withFilesystem(fs), "files", nil, 1)
	check(t, "output", outputs, []string{message + "\\n"})
	check(t, "result", value, map[string]any{"error": message})
}

func TestAnUnknownCommandIsNotFound(t *testing.T) {
	err := (&commands{}).Run(&pluginv1.RunCommandRequest{Command: "nope"}, &recorder{})
	if status.Code(err) != codes.NotFound {
		t.Fatalf("err = %v, want NOT_FOUND", err)
	}
}
`;
}

export function goSkeleton(ctx: TemplateContext): Skeleton {
  const source = join(ctx.goModule, 'cmd', ctx.name);
  const binary = join(ctx.pluginDir, 'bin', ctx.name);
  const inRepoModule = ctx.goModule === join(ctx.repo, 'interop', 'go');
  // build-plugins.mjs builds binary plugins under plugins/ from interop/go/cmd/<name>.
  const byScript = ctx.inRepoPlugins && inRepoModule;
  const module = shown(ctx, ctx.goModule);
  const build = byScript ? 'npm run build:plugins' : `cd ${module} && go build -o ${pathFrom(ctx, ctx.goModule, binary)} ./cmd/${ctx.name}`;
  const test = `cd ${module} && go test ./cmd/${ctx.name}`;
  const at = (file: string) => join(ctx.pluginDir, file);
  return {
    language: 'Go',
    dirs: [ctx.pluginDir, source],
    files: [
      {
        path: at('plugin.yaml'),
        content: manifest(ctx, { runtime: 'binary', command: `bin/${ctx.name}`, notes: [`${ctx.name}: an hst plugin in Go. Source: ${shown(ctx, source)}`, `Build: ${build}`] }),
      },
      {
        path: at('README.md'),
        content: readme(ctx, {
          language: 'Go',
          about: `A [go-plugin](https://github.com/hashicorp/go-plugin) plugin. Its source is \`${shown(ctx, join(source, 'main.go'))}\`, in the Go module \`${module}\`, which has go-plugin, the Go code generated from \`proto/hst\` and the \`hostconn\` package that connects it to the host's services. The build puts the binary at \`bin/${ctx.name}\` (git-ignored), the manifest's \`command\`.`,
          build: byScript ? `${build}   # every plugin; only this one: node scripts/build-plugins.mjs ${ctx.name}` : build,
          test,
          files: [
            ['plugin.yaml', 'the manifest: how to start it, its handshake, capabilities and commands'],
            [shown(ctx, join(source, 'main.go')), 'the plugin: `Run` dispatches the commands'],
            [shown(ctx, join(source, 'main_test.go')), 'tests of the commands, with a fake host'],
            [`bin/${ctx.name}`, 'the built plugin'],
          ],
          change: 'Add a `case` for it to `Run` in `main.go`, and a test to `main_test.go`. For another host service, give `commands` a client for it the way it has `filesystem` (`hostv1.New<Service>Client(conn)` on the link\'s connection).',
        }),
      },
      { path: at('.gitignore'), content: '/bin/\n' },
      { path: join(source, 'main.go'), content: mainFile(ctx) },
      { path: join(source, 'main_test.go'), content: testFile(ctx) },
    ],
    links: [],
    needs: [{ path: join(ctx.goModule, 'go.mod'), what: 'the Go module with go-plugin and the generated hst code' }],
    next: [build, hstRun(ctx, 'hello'), test],
  };
}
