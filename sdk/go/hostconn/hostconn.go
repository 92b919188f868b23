// Package hostconn is the Go side of hst's host services, for go-plugin
// plugins: register it on the plugin's gRPC server and it answers the
// host's hst.plugin.v1.HostConnection/Establish by dialling the broker id
// the host names; Conn then gives that one connection to the host's
// services for the life of the plugin.
package hostconn

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	pluginv1 "hst.local/sdk/gen/hst/plugin/v1"
)

// EstablishWait bounds how long Conn waits for the host's Establish, which
// the host sends right after it connects.
const EstablishWait = 10 * time.Second

// Link is the plugin's connection to the host's services.
type Link struct {
	mu    sync.Mutex
	conn  *grpc.ClientConn
	ready chan struct{}
}

// New returns a Link waiting for the host.
func New() *Link {
	return &Link{ready: make(chan struct{})}
}

// Register serves HostConnection on the plugin's server; call it from the
// plugin's GRPCServer with the broker go-plugin passes there.
func (l *Link) Register(broker *plugin.GRPCBroker, s *grpc.Server) {
	pluginv1.RegisterHostConnectionServer(s, &establisher{broker: broker, link: l})
}

// Conn waits for the host to establish host services and returns the connection.
func (l *Link) Conn(ctx context.Context) (*grpc.ClientConn, error) {
	ctx, cancel := context.WithTimeout(ctx, EstablishWait)
	defer cancel()
	select {
	case <-l.ready:
	case <-ctx.Done():
		return nil, errors.New("host services were never established")
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.conn, nil
}

type establisher struct {
	pluginv1.UnimplementedHostConnectionServer
	broker *plugin.GRPCBroker
	link   *Link
}

func (s *establisher) Establish(_ context.Context, req *pluginv1.EstablishRequest) (*pluginv1.EstablishResponse, error) {
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

// Client is a client of one host service on the link's connection, e.g.
// Client(ctx, link, hostv1.NewFilesystemClient). It waits for the host as Conn
// does; a host that never establishes is FAILED_PRECONDITION.
func Client[T any](ctx context.Context, l *Link, newClient func(grpc.ClientConnInterface) T) (T, error) {
	conn, err := l.Conn(ctx)
	if err != nil {
		var none T
		return none, status.Error(codes.FailedPrecondition, err.Error())
	}
	return newClient(conn), nil
}

// Serve runs a plugin that uses host services until the host stops it:
// go-plugin's plugin.Serve with the handshake its manifest declares and one
// gRPC plugin called name, whose server gets HostConnection beside what
// register adds (RegisterCommands, RegisterModule, RegisterHTTP, or any
// service of its own). register gets the link to reach the host's services.
func Serve(handshake plugin.HandshakeConfig, name string, register func(s *grpc.Server, link *Link)) {
	link := New()
	plugin.Serve(&plugin.ServeConfig{
		HandshakeConfig: handshake,
		Plugins:         plugin.PluginSet{name: link.Plugin(name, func(s *grpc.Server) { register(s, link) })},
		GRPCServer:      plugin.DefaultGRPCServer,
	})
}

// Plugin is the plugin side of a go-plugin GRPCPlugin for a plugin that
// uses host services: its GRPCServer registers HostConnection next to the
// services `register` adds. It is never dispensed by a host of ours, so it
// has no client side.
func (l *Link) Plugin(name string, register func(s *grpc.Server)) plugin.Plugin {
	return &serverPlugin{name: name, link: l, register: register}
}

type serverPlugin struct {
	plugin.NetRPCUnsupportedPlugin
	name     string
	link     *Link
	register func(s *grpc.Server)
}

func (p *serverPlugin) GRPCServer(broker *plugin.GRPCBroker, s *grpc.Server) error {
	p.register(s)
	p.link.Register(broker, s)
	return nil
}

func (p *serverPlugin) GRPCClient(context.Context, *plugin.GRPCBroker, *grpc.ClientConn) (interface{}, error) {
	return nil, fmt.Errorf("%s is a plugin, not a client", p.name)
}
