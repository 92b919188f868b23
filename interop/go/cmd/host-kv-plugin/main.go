// Command host-kv-plugin is a go-plugin KV plugin ("kv_grpc") that keeps
// nothing itself: Put and Get go through the hst host's Filesystem service,
// reached over the go-plugin broker. It shows the whole contract a Go plugin
// author follows to use host services:
//
//  1. implement hst.plugin.v1.HostConnection/Establish on the plugin's gRPC server;
//  2. in Establish, dial the broker id the host sends (broker.Dial);
//  3. call the hst.host.v1 services on that connection.
//
// The host decides where kv_<key> lands (the plugin's workspace) and logs
// every call under the plugin's identity, which it takes from the connection.
package main

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/hashicorp/go-plugin"
	"github.com/hashicorp/go-plugin/examples/grpc/proto"
	"github.com/hashicorp/go-plugin/examples/grpc/shared"
	"google.golang.org/grpc"

	hostv1 "hst.local/interop/gen/hst/host/v1"
	pluginv1 "hst.local/interop/gen/hst/plugin/v1"
)

// hostLink is the one connection to the host's services, set by Establish.
type hostLink struct {
	mu    sync.Mutex
	conn  *grpc.ClientConn
	ready chan struct{}
}

// establishWait bounds how long a call waits for Establish, which the host
// sends right after connecting.
const establishWait = 10 * time.Second

func (h *hostLink) filesystem(ctx context.Context) (hostv1.FilesystemClient, error) {
	ctx, cancel := context.WithTimeout(ctx, establishWait)
	defer cancel()
	select {
	case <-h.ready:
	case <-ctx.Done():
		return nil, errors.New("host services were never established")
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	return hostv1.NewFilesystemClient(h.conn), nil
}

type hostConnection struct {
	pluginv1.UnimplementedHostConnectionServer
	broker *plugin.GRPCBroker
	link   *hostLink
}

func (s *hostConnection) Establish(_ context.Context, req *pluginv1.EstablishRequest) (*pluginv1.EstablishResponse, error) {
	s.link.mu.Lock()
	defer s.link.mu.Unlock()
	if s.link.conn != nil {
		return nil, errors.New("host services already established")
	}
	conn, err := s.broker.Dial(req.BrokerId)
	if err != nil {
		return nil, fmt.Errorf("dial host services on broker id %d: %w", req.BrokerId, err)
	}
	s.link.conn = conn
	close(s.link.ready)
	return &pluginv1.EstablishResponse{}, nil
}

type kvServer struct {
	proto.UnimplementedKVServer
	link *hostLink
}

func (k *kvServer) Put(ctx context.Context, req *proto.PutRequest) (*proto.Empty, error) {
	fs, err := k.link.filesystem(ctx)
	if err != nil {
		return nil, err
	}
	data := append(append([]byte{}, req.Value...), []byte("\n\nWritten from host-kv-plugin (go)")...)
	if _, err := fs.WriteFile(ctx, &hostv1.WriteFileRequest{Path: "kv_" + req.Key, Data: data}); err != nil {
		return nil, err
	}
	return &proto.Empty{}, nil
}

func (k *kvServer) Get(ctx context.Context, req *proto.GetRequest) (*proto.GetResponse, error) {
	fs, err := k.link.filesystem(ctx)
	if err != nil {
		return nil, err
	}
	res, err := fs.ReadFile(ctx, &hostv1.ReadFileRequest{Path: "kv_" + req.Key})
	if err != nil {
		return nil, err
	}
	return &proto.GetResponse{Value: res.Data}, nil
}

// hostKVPlugin serves KV and HostConnection on the plugin's gRPC server.
type hostKVPlugin struct {
	plugin.NetRPCUnsupportedPlugin
	link *hostLink
}

func (p *hostKVPlugin) GRPCServer(broker *plugin.GRPCBroker, s *grpc.Server) error {
	proto.RegisterKVServer(s, &kvServer{link: p.link})
	pluginv1.RegisterHostConnectionServer(s, &hostConnection{broker: broker, link: p.link})
	return nil
}

func (p *hostKVPlugin) GRPCClient(context.Context, *plugin.GRPCBroker, *grpc.ClientConn) (interface{}, error) {
	return nil, errors.New("host-kv-plugin is a plugin, not a client")
}

func main() {
	plugin.Serve(&plugin.ServeConfig{
		HandshakeConfig: shared.Handshake,
		Plugins:         plugin.PluginSet{"kv_grpc": &hostKVPlugin{link: &hostLink{ready: make(chan struct{})}}},
		GRPCServer:      plugin.DefaultGRPCServer,
	})
}
