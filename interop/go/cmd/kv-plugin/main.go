// Command kv-plugin is a real go-plugin KV plugin (contract "kv_grpc" from
// go-plugin's examples/grpc). Our TypeScript host is tested against it, so
// besides the upstream file-backed Put/Get it emits observable side effects:
// GRPCStdio output, hclog lines at every level, and an optional panic.
//
// Environment:
//
//	KV_PLUGIN_VERSIONS  comma-separated app protocol versions to serve (default "1")
//	KV_PANIC_ON_GET     panic when Get is called with exactly this key
package main

import (
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-plugin"
	"github.com/hashicorp/go-plugin/examples/grpc/shared"
)

// kv stores each key in a file named kv_<key> in the working directory, in
// the same format as upstream's plugin-go-grpc.
type kv struct {
	logger hclog.Logger
}

func (k *kv) Put(key string, value []byte) error {
	// os.Stdout/os.Stderr are looked up at call time on purpose: after the
	// handshake go-plugin swaps them for pipes that feed GRPCStdio.
	fmt.Fprintf(os.Stdout, "kv-plugin stdout: put %s\n", key)
	fmt.Fprintf(os.Stderr, "kv-plugin stderr: put %s\n", key)

	k.logger.Trace("kv trace put", "key", key)
	k.logger.Debug("kv debug put", "key", key)
	k.logger.Info("kv info put", "key", key)
	k.logger.Warn("kv warn put", "key", key)
	k.logger.Error("kv error put", "key", key)

	content := fmt.Sprintf("%s\n\nWritten from plugin-go-grpc", value)
	return os.WriteFile("kv_"+key, []byte(content), 0o644)
}

func (k *kv) Get(key string) ([]byte, error) {
	fmt.Fprintf(os.Stdout, "kv-plugin stdout: get %s\n", key)
	fmt.Fprintf(os.Stderr, "kv-plugin stderr: get %s\n", key)

	if p, ok := os.LookupEnv("KV_PANIC_ON_GET"); ok && p == key {
		// An unrecovered panic in a gRPC handler kills the process; the Go
		// runtime writes the trace to fd 2, i.e. the plugin's real stderr,
		// which is what hosts are expected to surface.
		panic("kv plugin panic: boom " + key)
	}
	return os.ReadFile("kv_" + key)
}

// servedVersions parses KV_PLUGIN_VERSIONS, defaulting to version 1.
func servedVersions() ([]int, error) {
	raw := os.Getenv("KV_PLUGIN_VERSIONS")
	if strings.TrimSpace(raw) == "" {
		return []int{1}, nil
	}
	var versions []int
	for _, s := range strings.Split(raw, ",") {
		v, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil {
			return nil, fmt.Errorf("invalid KV_PLUGIN_VERSIONS entry %q: %w", s, err)
		}
		versions = append(versions, v)
	}
	return versions, nil
}

func main() {
	// Created before Serve so it keeps writing to the original stderr; the
	// host parses these JSON lines and re-logs them at the same level.
	logger := hclog.New(&hclog.LoggerOptions{
		Name:       "kv-plugin",
		Level:      hclog.Trace,
		Output:     os.Stderr,
		JSONFormat: true,
	})

	versions, err := servedVersions()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}

	impl := &kv{logger: logger}
	versioned := make(map[int]plugin.PluginSet, len(versions))
	for _, v := range versions {
		versioned[v] = plugin.PluginSet{
			shared.PluginGRPC: &shared.KVGRPCPlugin{Impl: impl},
		}
	}

	// Plugins is left nil so that only VersionedPlugins are offered;
	// HandshakeConfig.ProtocolVersion is then ignored by go-plugin.
	// AutoMTLS needs no configuration here: Serve switches to TLS whenever
	// the host passes PLUGIN_CLIENT_CERT.
	plugin.Serve(&plugin.ServeConfig{
		HandshakeConfig:  shared.Handshake,
		VersionedPlugins: versioned,
		GRPCServer:       plugin.DefaultGRPCServer,
		Logger:           logger,
	})
}
