package hostconn

import (
	"context"
	"sort"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/structpb"

	pluginv1 "hst.local/sdk/gen/hst/plugin/v1"
)

// ModuleFunc is one exported function or method: JSON-like arguments in
// (string, float64, bool, nil, []any, map[string]any), a JSON-like value out.
// Its error's message reaches the caller; a status error keeps its code.
type ModuleFunc func(args []any) (any, error)

// ModuleExports names a plugin's exports as a JavaScript module: a function
// is the entry "" of its map, an object's methods are the other entries.
type ModuleExports map[string]map[string]ModuleFunc

// Function is the ModuleExports entry of an exported function.
func Function(fn ModuleFunc) map[string]ModuleFunc { return map[string]ModuleFunc{"": fn} }

// RegisterModule serves hst.plugin.v1.Module on s: Call runs an export,
// Describe lists them (for a host that found the plugin by its file's name).
func RegisterModule(s *grpc.Server, exports ModuleExports) {
	pluginv1.RegisterModuleServer(s, module{exports: exports})
}

type module struct {
	pluginv1.UnimplementedModuleServer
	exports ModuleExports
}

func (m module) Describe(context.Context, *pluginv1.ModuleDescribeRequest) (*pluginv1.ModuleDescribeResponse, error) {
	names := make([]string, 0, len(m.exports))
	for name := range m.exports {
		names = append(names, name)
	}
	sort.Strings(names)
	resp := &pluginv1.ModuleDescribeResponse{}
	for _, name := range names {
		methods := []string{}
		for method := range m.exports[name] {
			if method != "" {
				methods = append(methods, method)
			}
		}
		sort.Strings(methods)
		resp.Exports = append(resp.Exports, &pluginv1.ModuleExport{Name: name, Methods: methods})
	}
	return resp, nil
}

func (m module) Call(_ context.Context, req *pluginv1.ModuleCallRequest) (*pluginv1.ModuleCallResponse, error) {
	methods, ok := m.exports[req.GetExport()]
	if !ok {
		return nil, status.Errorf(codes.NotFound, "this plugin exports no %q", req.GetExport())
	}
	fn, ok := methods[req.GetMethod()]
	if !ok {
		return nil, status.Errorf(codes.NotFound, "%s has no method %q", req.GetExport(), req.GetMethod())
	}
	result, err := fn(req.GetArgs().AsSlice())
	if err != nil {
		if _, isStatus := status.FromError(err); isStatus {
			return nil, err
		}
		return nil, status.Error(codes.Unknown, err.Error())
	}
	value, err := structpb.NewValue(result)
	if err != nil {
		return nil, status.Errorf(codes.Internal, "the result is not JSON-like: %v", err)
	}
	return &pluginv1.ModuleCallResponse{Result: value}, nil
}
