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
	link *hostconn.Link
}

// run maps each command plugin.yaml declares to its function.
func (c *commands) run() hostconn.Commands {
	return hostconn.Commands{
		"list": func(run *hostconn.Run) (any, error) {
			return c.list(run, run.Arg("path", defaultPath))
		},
		"save": func(run *hostconn.Run) (any, error) {
			return c.save(run, run.Arg("path", defaultPath), run.Arg("out", defaultOut))
		},
	}
}

func (c *commands) filesystem(ctx context.Context) (hostv1.FilesystemClient, error) {
	return hostconn.Client(ctx, c.link, hostv1.NewFilesystemClient)
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

func (c *commands) list(run *hostconn.Run, dir string) (any, error) {
	entries, err := c.readDir(run.Context(), dir)
	if err != nil {
		return nil, err
	}
	for _, e := range entries {
		if err := run.Output(e.line(run.Color())); err != nil {
			return nil, err
		}
	}
	return map[string]any{"path": dir, "entries": entries}, nil
}

func (c *commands) save(run *hostconn.Run, dir, out string) (any, error) {
	if err := run.Progress("listing " + dir); err != nil {
		return nil, err
	}
	entries, err := c.readDir(run.Context(), dir)
	if err != nil {
		return nil, err
	}
	var listing strings.Builder
	for _, e := range entries {
		listing.WriteString(e.line(false))
	}
	if err := run.Progress("writing " + out); err != nil {
		return nil, err
	}
	written, err := c.writeFile(run.Context(), out, []byte(listing.String()))
	if err != nil {
		return nil, err
	}
	if err := run.Output(fmt.Sprintf("saved %d entries of %s to %s\n", len(entries), dir, out)); err != nil {
		return nil, err
	}
	return map[string]any{"path": dir, "out": out, "entries": len(entries), "bytes": written}, nil
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

// main serves Commands, Http and HostConnection on the plugin's gRPC server.
func main() {
	hostconn.Serve(handshake, "golister", func(s *grpc.Server, link *hostconn.Link) {
		lister := &commands{link: link}
		hostconn.RegisterCommands(s, lister.run())
		hostconn.RegisterHTTP(s, lister.httpHandlers())
	})
}
