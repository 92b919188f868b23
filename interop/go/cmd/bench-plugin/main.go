// Command bench-plugin is the benchmark's go-plugin Go plugin (npm run
// bench): it serves hst.bench.v1.Bench, and its Drive calls the hst host's
// services through sdk/go/hostconn with the generated clients, timed
// with Go's clock. The handshake and plugin name match bench/contract.ts.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"
	"google.golang.org/grpc/peer"

	"hst.local/interop/bench"
	benchv1 "hst.local/interop/gen/hst/bench/v1"
	hostv1 "hst.local/sdk/gen/hst/host/v1"
	"hst.local/sdk/hostconn"
)

// fsReadChunk is the chunk the hst host streams files in (defaultLimits.streamChunkBytes).
const fsReadChunk = 64 * 1024

var handshake = plugin.HandshakeConfig{ProtocolVersion: 1, MagicCookieKey: "HST_BENCH_PLUGIN", MagicCookieValue: "b3f1c2d0-bench"}

type server struct {
	benchv1.UnimplementedBenchServer
	link *hostconn.Link
}

func (s *server) Echo(_ context.Context, req *benchv1.EchoRequest) (*benchv1.EchoResponse, error) {
	return &benchv1.EchoResponse{Payload: req.Payload}, nil
}

func (s *server) Info(ctx context.Context, _ *benchv1.InfoRequest) (*benchv1.InfoResponse, error) {
	p, _ := peer.FromContext(ctx)
	tls := p != nil && p.AuthInfo != nil && p.AuthInfo.AuthType() == "tls"
	return &benchv1.InfoResponse{Language: "go", Runtime: runtime.Version(), Pid: int64(os.Getpid()), Tls: tls}, nil
}

func (s *server) Drive(ctx context.Context, req *benchv1.DriveRequest) (*benchv1.DriveResponse, error) {
	var received atomic.Int64
	call, err := s.operation(ctx, req.Op, req.Path, &received)
	if err != nil {
		return nil, err
	}
	for i := 0; i < int(req.Warmup); i++ {
		if err := call(); err != nil {
			return nil, err
		}
	}
	received.Store(0)
	if req.DurationMs > 0 {
		t, err := bench.KeepInFlight(call, max(1, int(req.InFlight)), time.Duration(req.DurationMs)*time.Millisecond, 0, false)
		if err != nil {
			return nil, err
		}
		return &benchv1.DriveResponse{Calls: t.Calls, ElapsedNs: int64(t.Elapsed), Bytes: received.Load()}, nil
	}
	samples, err := bench.TimeEach(call, 0, int(req.Calls))
	if err != nil {
		return nil, err
	}
	return &benchv1.DriveResponse{SamplesNs: samples, Bytes: received.Load()}, nil
}

func (s *server) operation(ctx context.Context, op benchv1.DriveOp, path string, received *atomic.Int64) (func() error, error) {
	if op == benchv1.DriveOp_DRIVE_OP_FS_READ {
		return func() error { return readDirectly(path, received) }, nil
	}
	conn, err := s.link.Conn(ctx)
	if err != nil {
		return nil, err
	}
	fs := hostv1.NewFilesystemClient(conn)
	switch op {
	case benchv1.DriveOp_DRIVE_OP_STAT:
		return func() error {
			_, err := fs.Stat(ctx, &hostv1.StatRequest{Path: path})
			return err
		}, nil
	case benchv1.DriveOp_DRIVE_OP_READ_FILE:
		return func() error {
			res, err := fs.ReadFile(ctx, &hostv1.ReadFileRequest{Path: path})
			if err == nil {
				received.Add(int64(len(res.Data)))
			}
			return err
		}, nil
	case benchv1.DriveOp_DRIVE_OP_READ_FILE_STREAM:
		return func() error {
			stream, err := fs.ReadFileStream(ctx, &hostv1.ReadFileStreamRequest{Path: path})
			if err != nil {
				return err
			}
			for {
				chunk, err := stream.Recv()
				if errors.Is(err, io.EOF) {
					return nil
				}
				if err != nil {
					return err
				}
				received.Add(int64(len(chunk.Data)))
			}
		}, nil
	}
	return nil, fmt.Errorf("drive: unknown op %v", op)
}

func readDirectly(path string, received *atomic.Int64) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	buf := make([]byte, fsReadChunk)
	for {
		n, err := f.Read(buf)
		received.Add(int64(n))
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

func main() {
	link := hostconn.New()
	plugin.Serve(&plugin.ServeConfig{
		HandshakeConfig: handshake,
		Plugins:         plugin.PluginSet{"bench": link.Plugin("bench-plugin", func(s *grpc.Server) { benchv1.RegisterBenchServer(s, &server{link: link}) })},
		GRPCServer:      plugin.DefaultGRPCServer,
	})
}
