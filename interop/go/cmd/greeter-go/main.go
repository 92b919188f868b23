// Command greeter-go is a plugin as a JavaScript module (examples/modules):
// the application imports it (`import greeter from 'plugin:greeter-go'`)
// and calls its exports; it serves them as hst.plugin.v1.Module, with
// JSON-like values as google.protobuf.Value.
//
// examples/modules/plugins/greeter-go/plugin.yaml is its manifest; `npm run
// build:plugins` builds it into that directory's bin/greeter-go.
package main

import (
	"errors"
	"fmt"

	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"

	"hst.local/sdk/hostconn"
)

const language = "Go"

var handshake = plugin.HandshakeConfig{
	ProtocolVersion:  1,
	MagicCookieKey:   "HST_PLUGIN",
	MagicCookieValue: "hst-example-v1",
}

func name(args []any) string {
	if len(args) > 0 {
		if s, ok := args[0].(string); ok {
			return s
		}
	}
	return ""
}

var exports = hostconn.ModuleExports{
	"greet": hostconn.Function(func(args []any) (any, error) { return fmt.Sprintf("hello, %s, from %s", name(args), language), nil }),
	"phrases": {
		"hello": func(args []any) (any, error) {
			return map[string]any{"text": "hello, " + name(args), "language": language}, nil
		},
		"goodbye": func(args []any) (any, error) {
			if name(args) == "" {
				return nil, errors.New("goodbye to whom? give a name")
			}
			return map[string]any{"text": "goodbye, " + name(args), "language": language}, nil
		},
		"languages": func([]any) (any, error) { return []any{language}, nil },
	},
}

func main() {
	hostconn.Serve(handshake, "greeter-go", func(s *grpc.Server, _ *hostconn.Link) { hostconn.RegisterModule(s, exports) })
}
