// Command host is a configurable go-plugin host. Our tests use it to load
// plugins written in TypeScript through the real Go client, run a scripted
// list of operations, and report everything observable as one JSON object on
// stdout: negotiated version, per-op results, GRPCStdio output, the host's
// own log, and how the plugin behaved on Kill.
//
// Usage:
//
//	host [flags] -- <plugin command> [args...]
//
// The plugin command is exec'd directly, without a shell. The exit status is
// 0 whenever a report was printed (even if an operation failed) and 2 for
// flag misuse.
//
// This binary links both go-plugin example proto packages, which register the
// same "proto/kv.proto" file; build it with build.sh (or set
// GOLANG_PROTOBUF_REGISTRATION_CONFLICT=ignore for `go run`), otherwise
// protobuf panics at init.
package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-plugin"
	bidishared "github.com/hashicorp/go-plugin/examples/bidirectional/shared"
	kvshared "github.com/hashicorp/go-plugin/examples/grpc/shared"
)

// forcedKillLog is what go-plugin's Client.Kill logs (at WARN) when the
// plugin did not exit within its grace period after the connection closed.
const forcedKillLog = "plugin failed to exit gracefully"

// syncBuffer is a bytes.Buffer safe for concurrent use: go-plugin writes
// SyncStdout/SyncStderr and log output from its own goroutines.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// op is one scripted -do operation.
type op struct {
	name  string // "put" or "get"
	key   string
	value string // only for put
}

// opList collects repeatable -do flags in order.
type opList []op

func (l *opList) String() string { return fmt.Sprint(*l) }

func (l *opList) Set(s string) error {
	name, rest, ok := strings.Cut(s, "=")
	if !ok {
		return fmt.Errorf("want put=KEY=VALUE or get=KEY, got %q", s)
	}
	switch name {
	case "put":
		key, value, ok := strings.Cut(rest, "=")
		if !ok {
			return fmt.Errorf("want put=KEY=VALUE, got %q", s)
		}
		*l = append(*l, op{name: name, key: key, value: value})
	case "get":
		*l = append(*l, op{name: name, key: rest})
	default:
		return fmt.Errorf("unknown op %q (want put or get)", name)
	}
	return nil
}

// store adapts both contracts to string-valued put/get so the op loop and
// the report do not care which one is loaded.
type store interface {
	put(key, value string) error
	get(key string) (string, error)
}

type kvStore struct{ kv kvshared.KV }

func (s kvStore) put(key, value string) error { return s.kv.Put(key, []byte(value)) }

func (s kvStore) get(key string) (string, error) {
	v, err := s.kv.Get(key)
	return string(v), err
}

// addHelper is the host-side service the counter plugin calls back over the
// broker.
type addHelper struct{}

func (addHelper) Sum(a, b int64) (int64, error) { return a + b, nil }

type counterStore struct{ c bidishared.Counter }

func (s counterStore) put(key, value string) error {
	n, err := strconv.ParseInt(value, 10, 64)
	if err != nil {
		return err
	}
	return s.c.Put(key, n, addHelper{})
}

func (s counterStore) get(key string) (string, error) {
	n, err := s.c.Get(key)
	return strconv.FormatInt(n, 10), err
}

// contract describes what to dispense and how to wrap it.
type contract struct {
	pluginName string
	plugins    plugin.PluginSet
	wrap       func(any) (store, error)
}

var contracts = map[string]contract{
	"kv": {
		pluginName: kvshared.PluginGRPC,
		plugins:    plugin.PluginSet{kvshared.PluginGRPC: &kvshared.KVGRPCPlugin{}},
		wrap: func(raw any) (store, error) {
			kv, ok := raw.(kvshared.KV)
			if !ok {
				return nil, fmt.Errorf("dispensed %T does not implement KV", raw)
			}
			return kvStore{kv}, nil
		},
	},
	"counter": {
		pluginName: "counter",
		plugins:    plugin.PluginSet{"counter": &bidishared.CounterPlugin{}},
		wrap: func(raw any) (store, error) {
			c, ok := raw.(bidishared.Counter)
			if !ok {
				return nil, fmt.Errorf("dispensed %T does not implement Counter", raw)
			}
			return counterStore{c}, nil
		},
	},
}

type opResult struct {
	Op    string  `json:"op"`
	Key   string  `json:"key"`
	OK    bool    `json:"ok"`
	Value *string `json:"value,omitempty"` // pointer so an empty get value is still reported
	Error string  `json:"error,omitempty"`
}

type report struct {
	NegotiatedVersion int        `json:"negotiatedVersion"`
	Protocol          string     `json:"protocol"`
	Pid               int        `json:"pid"`
	Results           []opResult `json:"results"`
	Stdout            string     `json:"stdout"`
	Stderr            string     `json:"stderr"`
	// PluginStderr is the plugin's raw stderr as the host saw it (the
	// channel hclog lines and panics travel on), not GRPCStdio data.
	PluginStderr    string  `json:"pluginStderr"`
	KillMs          float64 `json:"killMs"`
	ForcedKill      bool    `json:"forcedKill"`
	ExitedAfterKill bool    `json:"exitedAfterKill"`
	HostLog         string  `json:"hostLog"`
	Error           string  `json:"error,omitempty"`
}

type config struct {
	contract     contract
	versions     []int
	autoMTLS     bool
	multiplex    bool
	cookieKey    string
	cookieValue  string
	ops          opList
	stdioWait    time.Duration
	startTimeout time.Duration
	opTimeout    time.Duration
	command      []string
}

func parseFlags(args []string) (*config, error) {
	fs := flag.NewFlagSet("host", flag.ContinueOnError)
	fs.SetOutput(io.Discard) // errors are reported once, by main
	var (
		cfg          config
		contractName = fs.String("contract", "kv", "plugin contract: kv or counter")
		versions     = fs.String("versions", "1", "comma-separated app protocol versions to offer")
		cookie       = fs.String("cookie", "BASIC_PLUGIN=hello", "magic cookie as KEY=VALUE")
	)
	fs.BoolVar(&cfg.autoMTLS, "auto-mtls", false, "enable AutoMTLS")
	fs.BoolVar(&cfg.multiplex, "multiplex", false, "ask for gRPC broker multiplexing (GRPCBrokerMultiplex)")
	fs.Var(&cfg.ops, "do", "operation put=KEY=VALUE or get=KEY (repeatable, run in order)")
	fs.DurationVar(&cfg.stdioWait, "stdio-wait", 300*time.Millisecond, "pause after the ops so GRPCStdio data arrives before Kill")
	fs.DurationVar(&cfg.startTimeout, "start-timeout", 20*time.Second, "plugin start timeout")
	fs.DurationVar(&cfg.opTimeout, "op-timeout", 10*time.Second, "give up on a single op after this long")

	if err := fs.Parse(args); err != nil {
		return nil, err
	}

	c, ok := contracts[*contractName]
	if !ok {
		return nil, fmt.Errorf("unknown -contract %q (want kv or counter)", *contractName)
	}
	cfg.contract = c

	for _, s := range strings.Split(*versions, ",") {
		v, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil {
			return nil, fmt.Errorf("invalid -versions entry %q", s)
		}
		cfg.versions = append(cfg.versions, v)
	}

	var found bool
	cfg.cookieKey, cfg.cookieValue, found = strings.Cut(*cookie, "=")
	if !found || cfg.cookieKey == "" {
		return nil, fmt.Errorf("invalid -cookie %q (want KEY=VALUE)", *cookie)
	}

	// Reject bad counter values up front so they count as flag misuse rather
	// than as a failed op.
	if *contractName == "counter" {
		for _, o := range cfg.ops {
			if o.name != "put" {
				continue
			}
			if _, err := strconv.ParseInt(o.value, 10, 64); err != nil {
				return nil, fmt.Errorf("counter put value %q is not an int64", o.value)
			}
		}
	}

	cfg.command = fs.Args()
	if len(cfg.command) == 0 {
		return nil, errors.New("missing plugin command after --")
	}
	return &cfg, nil
}

func main() {
	cfg, err := parseFlags(os.Args[1:])
	if err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "host:", err)
		}
		fmt.Fprintln(os.Stderr, "usage: host [-contract kv|counter] [-versions 1,2] [-auto-mtls] [-multiplex] [-cookie K=V] [-do put=K=V|get=K]... [-stdio-wait D] [-start-timeout D] [-op-timeout D] -- <plugin command> [args...]")
		os.Exit(2)
	}

	enc := json.NewEncoder(os.Stdout)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(run(cfg)); err != nil {
		fmt.Fprintln(os.Stderr, "host: writing report:", err)
		os.Exit(1)
	}
}

// run drives one plugin lifecycle and never fails as a whole: every problem
// ends up in the report.
func run(cfg *config) *report {
	var stdout, stderr, rawStderr, hostLog syncBuffer
	logger := hclog.New(&hclog.LoggerOptions{
		Name:       "host",
		Level:      hclog.Trace,
		Output:     &hostLog,
		JSONFormat: true,
	})

	// Every offered version maps to the same plugin set. Plugins is left nil
	// so go-plugin does not add HandshakeConfig.ProtocolVersion to the offer.
	versioned := make(map[int]plugin.PluginSet, len(cfg.versions))
	for _, v := range cfg.versions {
		versioned[v] = cfg.contract.plugins
	}

	cmd := exec.Command(cfg.command[0], cfg.command[1:]...)
	client := plugin.NewClient(&plugin.ClientConfig{
		HandshakeConfig: plugin.HandshakeConfig{
			ProtocolVersion:  uint(cfg.versions[0]),
			MagicCookieKey:   cfg.cookieKey,
			MagicCookieValue: cfg.cookieValue,
		},
		VersionedPlugins:    versioned,
		Cmd:                 cmd,
		AllowedProtocols:    []plugin.Protocol{plugin.ProtocolGRPC},
		AutoMTLS:            cfg.autoMTLS,
		GRPCBrokerMultiplex: cfg.multiplex,
		StartTimeout:        cfg.startTimeout,
		SyncStdout:          &stdout,
		SyncStderr:          &stderr,
		Stderr:              &rawStderr,
		Logger:              logger,
	})

	rep := &report{Results: []opResult{}}
	if s, err := connect(client, cfg.contract); err != nil {
		rep.Error = err.Error()
	} else {
		rep.NegotiatedVersion = client.NegotiatedVersion()
		rep.Protocol = string(client.Protocol())
		rep.Results = runOps(s, cfg.ops, cfg.opTimeout)
		for _, r := range rep.Results {
			if !r.OK && rep.Error == "" {
				rep.Error = fmt.Sprintf("%s %s: %s", r.Op, r.Key, r.Error)
			}
		}
		time.Sleep(cfg.stdioWait)
	}

	// cmd.Process is set once go-plugin has started the process, even when
	// the handshake later failed or timed out.
	if cmd.Process != nil {
		rep.Pid = cmd.Process.Pid
	}

	start := time.Now()
	client.Kill()
	rep.KillMs = float64(time.Since(start).Microseconds()) / 1000

	if rep.Pid != 0 {
		// go-plugin reaps the child, so once Kill returns a vanished pid
		// means the plugin really is gone.
		rep.ExitedAfterKill = errors.Is(syscall.Kill(rep.Pid, 0), syscall.ESRCH)
	}

	rep.Stdout = stdout.String()
	rep.Stderr = stderr.String()
	rep.PluginStderr = rawStderr.String()
	rep.HostLog = hostLog.String()
	rep.ForcedKill = strings.Contains(rep.HostLog, forcedKillLog)
	return rep
}

// connect starts the plugin, performs the handshake and dispenses the
// contract's plugin.
func connect(client *plugin.Client, c contract) (store, error) {
	rpcClient, err := client.Client()
	if err != nil {
		return nil, fmt.Errorf("start: %w", err)
	}
	raw, err := rpcClient.Dispense(c.pluginName)
	if err != nil {
		return nil, fmt.Errorf("dispense %s: %w", c.pluginName, err)
	}
	return c.wrap(raw)
}

// runOps executes every op in order, recording failures instead of stopping.
// The upstream shared clients use context.Background(), so a plugin that
// never answers is bounded by a timeout here; the abandoned call unblocks
// once Kill closes the connection.
func runOps(s store, ops opList, timeout time.Duration) []opResult {
	results := make([]opResult, 0, len(ops))
	for _, o := range ops {
		r := opResult{Op: o.name, Key: o.key}
		value, err := withTimeout(timeout, func() (string, error) {
			if o.name == "put" {
				return "", s.put(o.key, o.value)
			}
			return s.get(o.key)
		})
		if err != nil {
			r.Error = err.Error()
		} else {
			r.OK = true
			if o.name == "get" {
				r.Value = &value
			}
		}
		results = append(results, r)
	}
	return results
}

func withTimeout(d time.Duration, f func() (string, error)) (string, error) {
	type outcome struct {
		v   string
		err error
	}
	ch := make(chan outcome, 1) // buffered so a late answer never blocks the sender
	go func() {
		v, err := f()
		ch <- outcome{v, err}
	}()
	select {
	case o := <-ch:
		return o.v, o.err
	case <-time.After(d):
		return "", fmt.Errorf("timed out after %s", d)
	}
}
