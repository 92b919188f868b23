// Command notes-go is the Go plugin of examples/notes: it calls Notes,
// a host service the application added to hst, on the same connection and
// under the same capability checks as hst's own services.
//
//	put <name> <text>   writes a note; result {revision}
//	get <name>          reads it back; result {text, revision, writtenBy}
//
// examples/notes/plugins/notes-go/plugin.yaml is its manifest; `npm run
// build:plugins` builds it into that directory's bin/notes-go.
package main

import (
	"context"
	"encoding/json"
	"strconv"

	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	notesv1 "hst.local/interop/gen/acme/notes/v1"
	pluginv1 "hst.local/sdk/gen/hst/plugin/v1"
	"hst.local/sdk/hostconn"
)

var handshake = plugin.HandshakeConfig{
	ProtocolVersion:  1,
	MagicCookieKey:   "HST_PLUGIN",
	MagicCookieValue: "hst-example-v1",
}

type commands struct {
	pluginv1.UnimplementedCommandsServer
	link *hostconn.Link
}

func send(stream pluginv1.Commands_RunServer, output string, result any, exitCode int32) error {
	if err := stream.Send(&pluginv1.RunCommandResponse{Event: &pluginv1.RunCommandResponse_Output{Output: output + "\n"}}); err != nil {
		return err
	}
	data, err := json.Marshal(result)
	if err != nil {
		return err
	}
	return stream.Send(&pluginv1.RunCommandResponse{Event: &pluginv1.RunCommandResponse_Result{
		Result: &pluginv1.CommandResult{Json: string(data), ExitCode: exitCode},
	}})
}

// failed ends a run whose host call failed: a failed run is a result with the host's message, not an RPC error.
func failed(stream pluginv1.Commands_RunServer, err error) error {
	message := status.Convert(err).Message()
	return send(stream, message, map[string]string{"error": message}, 1)
}

func (c *commands) notes(ctx context.Context) (notesv1.NotesClient, error) {
	conn, err := c.link.Conn(ctx)
	if err != nil {
		return nil, status.Error(codes.FailedPrecondition, err.Error())
	}
	return notesv1.NewNotesClient(conn), nil
}

func (c *commands) Run(req *pluginv1.RunCommandRequest, stream pluginv1.Commands_RunServer) error {
	ctx := stream.Context()
	notes, err := c.notes(ctx)
	if err != nil {
		return err
	}
	args := req.GetArgs()
	switch req.GetCommand() {
	case "put":
		res, err := notes.Put(ctx, &notesv1.PutNoteRequest{Name: args["name"], Text: args["text"]})
		if err != nil {
			return failed(stream, err)
		}
		return send(stream, args["name"]+": revision "+strconv.FormatInt(res.GetRevision(), 10), map[string]int64{"revision": res.GetRevision()}, 0)
	case "get":
		res, err := notes.Get(ctx, &notesv1.GetNoteRequest{Name: args["name"]})
		if err != nil {
			return failed(stream, err)
		}
		return send(stream, res.GetText(), map[string]any{"text": res.GetText(), "revision": res.GetRevision(), "writtenBy": res.GetWrittenBy()}, 0)
	default:
		return status.Errorf(codes.NotFound, "no command %q; this plugin has put, get", req.GetCommand())
	}
}

func main() {
	link := hostconn.New()
	plugin.Serve(&plugin.ServeConfig{
		HandshakeConfig: handshake,
		Plugins:         plugin.PluginSet{"notes-go": link.Plugin("notes-go", func(s *grpc.Server) { pluginv1.RegisterCommandsServer(s, &commands{link: link}) })},
		GRPCServer:      plugin.DefaultGRPCServer,
	})
}
