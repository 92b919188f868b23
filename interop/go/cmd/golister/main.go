// Command golister is an example hst plugin in Go, on the real go-plugin: it
// lists directories of the workspace through the host's Filesystem service.
// It never touches the disk itself, so the host's capability checks, audit
// log and confinement apply to every file it sees or writes.
//
// Commands (hst.plugin.v1.Commands):
//
//	list [path]          one line per entry, "type size name"; result {path, entries}
//	save [path] [out]    writes that listing to out (under listings/ by the manifest)
//
// plugins/golister/plugin.yaml is its manifest; `npm run build:plugins`
// builds it into plugins/golister/bin/golister.
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"html"
	"path"
	"strings"

	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	hostv1 "hst.local/sdk/gen/hst/host/v1"
	pluginv1 "hst.local/sdk/gen/hst/plugin/v1"
	"hst.local/sdk/hostconn"
)

// The handshake every example plugin's manifest declares.
var handshake = plugin.HandshakeConfig{
	ProtocolVersion:  1,
	MagicCookieKey:   "HST_PLUGIN",
	MagicCookieValue: "hst-example-v1",
}

const (
	defaultPath = "."
	defaultOut  = "listings/listing.txt"
)

// entry is one directory entry as the result JSON shows it.
type entry struct {
	Name string `json:"name"`
	Type string `json:"type"`
	Size int64  `json:"size"`
}

var typeNames = map[hostv1.FileType]string{
	hostv1.FileType_FILE_TYPE_FILE:      "file",
	hostv1.FileType_FILE_TYPE_DIRECTORY: "dir",
	hostv1.FileType_FILE_TYPE_SYMLINK:   "symlink",
}

func typeName(t hostv1.FileType) string {
	if name, ok := typeNames[t]; ok {
		return name
	}
	return "other"
}

func (e entry) line(color bool) string {
	name := e.Name
	if color && e.Type == "dir" {
		name = "\x1b[1;34m" + name + "\x1b[0m"
	}
	return fmt.Sprintf("%s %d %s\n", e.Type, e.Size, name)
}

type commands struct {
	pluginv1.UnimplementedCommandsServer
	link *hostconn.Link
}

// run is one command's output stream.
type run struct {
	stream pluginv1.Commands_RunServer
}

func (r run) output(text string) error {
	return r.stream.Send(&pluginv1.RunCommandResponse{Event: &pluginv1.RunCommandResponse_Output{Output: text}})
}

func (r run) progress(text string) error {
	return r.stream.Send(&pluginv1.RunCommandResponse{Event: &pluginv1.RunCommandResponse_Progress{Progress: text}})
}

func (r run) result(value any, exitCode int32) error {
	data, err := json.Marshal(value)
	if err != nil {
		return err
	}
	return r.stream.Send(&pluginv1.RunCommandResponse{Event: &pluginv1.RunCommandResponse_Result{
		Result: &pluginv1.CommandResult{Json: string(data), ExitCode: exitCode},
	}})
}

// failed ends a run whose host call failed: a failed run is a result, not an RPC error.
func (r run) failed(err error) error {
	message := status.Convert(err).Message()
	if sendErr := r.output(message + "\n"); sendErr != nil {
		return sendErr
	}
	return r.result(map[string]string{"error": message}, 1)
}

func arg(req *pluginv1.RunCommandRequest, name, fallback string) string {
	if v, ok := req.GetArgs()[name]; ok && v != "" {
		return v
	}
	return fallback
}

func (c *commands) Run(req *pluginv1.RunCommandRequest, stream pluginv1.Commands_RunServer) error {
	ctx := stream.Context()
	r := run{stream: stream}
	switch req.GetCommand() {
	case "list":
		return c.list(ctx, r, arg(req, "path", defaultPath), req.GetColor())
	case "save":
		return c.save(ctx, r, arg(req, "path", defaultPath), arg(req, "out", defaultOut))
	default:
		return status.Errorf(codes.NotFound, "no command %q; this plugin has list, save", req.GetCommand())
	}
}

func (c *commands) filesystem(ctx context.Context) (hostv1.FilesystemClient, error) {
	conn, err := c.link.Conn(ctx)
	if err != nil {
		return nil, status.Error(codes.FailedPrecondition, err.Error())
	}
	return hostv1.NewFilesystemClient(conn), nil
}

func (c *commands) readDir(ctx context.Context, dir string) ([]entry, error) {
	fs, err := c.filesystem(ctx)
	if err != nil {
		return nil, err
	}
	res, err := fs.ReadDir(ctx, &hostv1.ReadDirRequest{Path: dir})
	if err != nil {
		return nil, err
	}
	entries := make([]entry, 0, len(res.GetEntries()))
	for _, info := range res.GetEntries() {
		entries = append(entries, entry{Name: info.GetName(), Type: typeName(info.GetType()), Size: info.GetSize()})
	}
	return entries, nil
}

func (c *commands) list(ctx context.Context, r run, dir string, color bool) error {
	entries, err := c.readDir(ctx, dir)
	if err != nil {
		return r.failed(err)
	}
	for _, e := range entries {
		if err := r.output(e.line(color)); err != nil {
			return err
		}
	}
	return r.result(map[string]any{"path": dir, "entries": entries}, 0)
}

func (c *commands) save(ctx context.Context, r run, dir, out string) error {
	if err := r.progress("listing " + dir); err != nil {
		return err
	}
	entries, err := c.readDir(ctx, dir)
	if err != nil {
		return r.failed(err)
	}
	var listing strings.Builder
	for _, e := range entries {
		listing.WriteString(e.line(false))
	}
	if err := r.progress("writing " + out); err != nil {
		return err
	}
	written, err := c.writeFile(ctx, out, []byte(listing.String()))
	if err != nil {
		return r.failed(err)
	}
	if err := r.output(fmt.Sprintf("saved %d entries of %s to %s\n", len(entries), dir, out)); err != nil {
		return err
	}
	return r.result(map[string]any{"path": dir, "out": out, "entries": len(entries), "bytes": written}, 0)
}

// writeFile writes data to out, creating out's directory when it is missing.
func (c *commands) writeFile(ctx context.Context, out string, data []byte) (int64, error) {
	fs, err := c.filesystem(ctx)
	if err != nil {
		return 0, err
	}
	req := &hostv1.WriteFileRequest{Path: out, Data: data}
	res, err := fs.WriteFile(ctx, req)
	if status.Code(err) == codes.NotFound && path.Dir(out) != "." {
		if _, mkErr := fs.Mkdir(ctx, &hostv1.MkdirRequest{Path: path.Dir(out), Recursive: true}); mkErr != nil {
			return 0, mkErr
		}
		res, err = fs.WriteFile(ctx, req)
	}
	if err != nil {
		return 0, err
	}
	return res.GetBytesWritten(), nil
}

// httpHandlers are its route and widget under hst serve: a directory as
// JSON, and the workspace's top level for the dashboard.
func (c *commands) httpHandlers() map[string]hostconn.HTTPHandler {
	return map[string]hostconn.HTTPHandler{
		"listing": func(req *hostconn.HTTPRequest) (*hostconn.HTTPResponse, error) {
			dir := req.Params["*"]
			if dir == "" {
				dir = "."
			}
			entries, err := c.readDir(context.Background(), dir)
			if err != nil {
				return nil, err
			}
			body, err := json.Marshal(map[string]any{"path": dir, "entries": entries})
			if err != nil {
				return nil, err
			}
			return &hostconn.HTTPResponse{Header: map[string]string{"content-type": "application/json"}, Body: body}, nil
		},
		"workspace": func(*hostconn.HTTPRequest) (*hostconn.HTTPResponse, error) {
			entries, err := c.readDir(context.Background(), ".")
			if err != nil {
				return nil, err
			}
			var page strings.Builder
			page.WriteString("<style>body{font:13px system-ui;margin:.6em}ul{margin:0;padding-left:1.2em}</style><ul>")
			for i, e := range entries {
				if i == 12 {
					fmt.Fprintf(&page, "</ul><p>and %d more</p>", len(entries)-12)
					break
				}
				fmt.Fprintf(&page, "<li>%s %d</li>", html.EscapeString(e.Name), e.Size)
			}
			return &hostconn.HTTPResponse{Body: []byte(page.String())}, nil
		},
	}
}

// listerPlugin serves Commands, Http and HostConnection on the plugin's gRPC server.
func main() {
	link := hostconn.New()
	lister := &commands{link: link}
	plugin.Serve(&plugin.ServeConfig{
		HandshakeConfig: handshake,
		Plugins: plugin.PluginSet{"golister": link.Plugin("golister", func(s *grpc.Server) {
			pluginv1.RegisterCommandsServer(s, lister)
			hostconn.RegisterHTTP(s, lister.httpHandlers())
		})},
		GRPCServer: plugin.DefaultGRPCServer,
	})
}
