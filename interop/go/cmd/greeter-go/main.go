// Command greeter-go is a plugin as a JavaScript module (examples/modules):
// the application imports it (`import greeter from 'plugin:greeter-go'`)
// and calls its exports; it serves them as hst.plugin.v1.Module, with
// JSON-like values as google.protobuf.Value.
//
// examples/modules/plugins/greeter-go/plugin.yaml is its manifest; `npm run
// build:plugins` builds it into that directory's bin/greeter-go.
package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/structpb"

	pluginv1 "hst.local/interop/gen/hst/plugin/v1"
	"hst.local/interop/hostconn"
)

const language = "Go"

var handshake = plugin.HandshakeConfig{
	ProtocolVersion:  1,
	MagicCookieKey:   "HST_PLUGIN",
	MagicCookieValue: "hst-example-v1",
}

// exported is one function of the module: JSON-like arguments in, a JSON-like value out.
type exported func(args []any) (any, error)

func name(args []any) string {
	if len(args) > 0 {
		if s, ok := args[0].(string); ok {
			return s
		}
	}
	return ""
}

var exports = map[string]map[string]exported{
	"greet": {"": func(args []any) (any, error) { return fmt.Sprintf("hello, %s, from %s", name(args), language), nil }},
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

type module struct {
	pluginv1.UnimplementedModuleServer
}

func (module) Call(_ context.Context, req *pluginv1.ModuleCallRequest) (*pluginv1.ModuleCallResponse, error) {
	methods, ok := exports[req.GetExport()]
	if !ok {
		return nil, status.Errorf(codes.NotFound, "this plugin exports no %q", req.GetExport())
	}
	fn, ok := methods[req.GetMethod()]
	if !ok {
		return nil, status.Errorf(codes.NotFound, "%s has no method %q", req.GetExport(), req.GetMethod())
	}
	result, err := fn(req.GetArgs().AsSlice())
	if err != nil {
		return nil, status.Error(codes.Unknown, err.Error())
	}
	value, err := structpb.NewValue(result)
	if err != nil {
		return nil, status.Errorf(codes.Internal, "the result is not JSON-like: %v", err)
	}
	return &pluginv1.ModuleCallResponse{Result: value}, nil
}

func main() {
	link := hostconn.New()
	plugin.Serve(&plugin.ServeConfig{
		HandshakeConfig: handshake,
		Plugins:         plugin.PluginSet{"greeter-go": link.Plugin("greeter-go", func(s *grpc.Server) { pluginv1.RegisterModuleServer(s, module{}) })},
		GRPCServer:      plugin.DefaultGRPCServer,
	})
}
