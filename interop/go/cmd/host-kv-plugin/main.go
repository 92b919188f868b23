// Command host-kv-plugin is a go-plugin KV plugin ("kv_grpc") that keeps
// nothing itself: Put and Get go through the hst host's Filesystem service,
// reached over the go-plugin broker. It shows the whole contract a Go plugin
// author follows to use host services:
//
//  1. register hostconn on the plugin's gRPC server (it implements
//     hst.plugin.v1.HostConnection/Establish by dialling the broker id the host sends);
//  2. call the hst.host.v1 services on link.Conn(ctx).
//
// The host decides where kv_<key> lands (the plugin's workspace) and logs
// every call under the plugin's identity, which it takes from the connection.
package main

import (
	"context"

	"github.com/hashicorp/go-plugin"
	"github.com/hashicorp/go-plugin/examples/grpc/proto"
	"github.com/hashicorp/go-plugin/examples/grpc/shared"
	"google.golang.org/grpc"

	hostv1 "hst.local/sdk/gen/hst/host/v1"
	"hst.local/sdk/hostconn"
)

type kvServer struct {
	proto.UnimplementedKVServer
	link *hostconn.Link
}

func (k *kvServer) Put(ctx context.Context, req *proto.PutRequest) (*proto.Empty, error) {
	conn, err := k.link.Conn(ctx)
	if err != nil {
		return nil, err
	}
	fs := hostv1.NewFilesystemClient(conn)
	data := append(append([]byte{}, req.Value...), []byte("\n\nWritten from host-kv-plugin (go)")...)
	if _, err := fs.WriteFile(ctx, &hostv1.WriteFileRequest{Path: "kv_" + req.Key, Data: data}); err != nil {
		return nil, err
	}
	return &proto.Empty{}, nil
}

func (k *kvServer) Get(ctx context.Context, req *proto.GetRequest) (*proto.GetResponse, error) {
	conn, err := k.link.Conn(ctx)
	if err != nil {
		return nil, err
	}
	fs := hostv1.NewFilesystemClient(conn)
	res, err := fs.ReadFile(ctx, &hostv1.ReadFileRequest{Path: "kv_" + req.Key})
	if err != nil {
		return nil, err
	}
	return &proto.GetResponse{Value: res.Data}, nil
}

// hostKVPlugin serves KV and HostConnection on the plugin's gRPC server.
func main() {
	link := hostconn.New()
	plugin.Serve(&plugin.ServeConfig{
		HandshakeConfig: shared.Handshake,
		Plugins:         plugin.PluginSet{"kv_grpc": link.Plugin("host-kv-plugin", func(s *grpc.Server) { proto.RegisterKVServer(s, &kvServer{link: link}) })},
		GRPCServer:      plugin.DefaultGRPCServer,
	})
}
