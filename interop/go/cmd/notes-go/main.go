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
	"strconv"

	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"

	notesv1 "hst.local/interop/gen/acme/notes/v1"
	"hst.local/sdk/hostconn"
)

var handshake = plugin.HandshakeConfig{
	ProtocolVersion:  1,
	MagicCookieKey:   "HST_PLUGIN",
	MagicCookieValue: "hst-example-v1",
}

// commands are put and get, on the Notes client the link gives. A failed
// call ends the run with exit code 1 and the host's message.
func commands(link *hostconn.Link) hostconn.Commands {
	return hostconn.Commands{
		"put": func(run *hostconn.Run) (any, error) {
			notes, err := hostconn.Client(run.Context(), link, notesv1.NewNotesClient)
			if err != nil {
				return nil, err
			}
			name := run.Arg("name", "")
			res, err := notes.Put(run.Context(), &notesv1.PutNoteRequest{Name: name, Text: run.Arg("text", "")})
			if err != nil {
				return nil, err
			}
			return map[string]int64{"revision": res.GetRevision()}, run.Output(name + ": revision " + strconv.FormatInt(res.GetRevision(), 10) + "\n")
		},
		"get": func(run *hostconn.Run) (any, error) {
			notes, err := hostconn.Client(run.Context(), link, notesv1.NewNotesClient)
			if err != nil {
				return nil, err
			}
			res, err := notes.Get(run.Context(), &notesv1.GetNoteRequest{Name: run.Arg("name", "")})
			if err != nil {
				return nil, err
			}
			return map[string]any{"text": res.GetText(), "revision": res.GetRevision(), "writtenBy": res.GetWrittenBy()}, run.Output(res.GetText() + "\n")
		},
	}
}

func main() {
	hostconn.Serve(handshake, "notes-go", func(s *grpc.Server, link *hostconn.Link) {
		hostconn.RegisterCommands(s, commands(link))
	})
}
