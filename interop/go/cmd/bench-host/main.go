// Command bench-host is the benchmark's go-plugin host (npm run bench): it
// reads a job (bench/job.ts) on stdin, starts the plugin named there with
// go-plugin's own Client (AutoMTLS as asked), runs the job's tasks timed
// with Go's clock, and prints one JSON report on stdout. It exits 1, with
// the reason on stderr, when anything fails.
package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"runtime/debug"
	"strconv"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"

	"hst.local/interop/bench"
	benchv1 "hst.local/interop/gen/hst/bench/v1"
)

// The handshake and plugin name of bench/contract.ts.
var handshake = plugin.HandshakeConfig{ProtocolVersion: 1, MagicCookieKey: "HST_BENCH_PLUGIN", MagicCookieValue: "b3f1c2d0-bench"}

const pluginName = "bench"

// mTLSLog is what go-plugin's Client logs (at debug) when it sets up AutoMTLS.
var mTLSLog = []byte("configuring client automatic mTLS")

// muxLog is what go-plugin's Client logs (at debug) when its connection is multiplexed.
var muxLog = []byte("client muxer connected")

// startBatch: plugins started at once for a fleet, as bench/fleet.ts.
const startBatch = 4

// benchClientPlugin gives the generated Bench client on go-plugin's connection.
type benchClientPlugin struct{ plugin.NetRPCUnsupportedPlugin }

func (benchClientPlugin) GRPCServer(*plugin.GRPCBroker, *grpc.Server) error {
	return errors.New("bench-host only dispenses")
}

func (benchClientPlugin) GRPCClient(_ context.Context, _ *plugin.GRPCBroker, c *grpc.ClientConn) (interface{}, error) {
	return benchv1.NewBenchClient(c), nil
}

// logWatch is the host logger's output: it notes whether go-plugin
// configured AutoMTLS or multiplexing and drops everything else.
type logWatch struct {
	mu   sync.Mutex
	seen bool
	mux  bool
}

func (w *logWatch) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.seen = w.seen || bytes.Contains(p, mTLSLog)
	w.mux = w.mux || bytes.Contains(p, muxLog)
	return len(p), nil
}

type benchPlugin struct {
	client *plugin.Client
	bench  benchv1.BenchClient
	pid    int
	log    *logWatch
}

func start(target bench.Target) (*benchPlugin, error) {
	if len(target.Command) == 0 {
		return nil, errors.New("plugin target has an empty command")
	}
	log := &logWatch{}
	cmd := exec.Command(target.Command[0], target.Command[1:]...)
	client := plugin.NewClient(&plugin.ClientConfig{
		HandshakeConfig:     handshake,
		Plugins:             plugin.PluginSet{pluginName: benchClientPlugin{}},
		Cmd:                 cmd,
		AllowedProtocols:    []plugin.Protocol{plugin.ProtocolGRPC},
		AutoMTLS:            target.AutoMTLS,
		GRPCBrokerMultiplex: target.Multiplex,
		StartTimeout:        60 * time.Second,
		Logger:              hclog.New(&hclog.LoggerOptions{Name: "bench-host", Level: hclog.Debug, Output: log}),
		SyncStdout:          io.Discard,
		SyncStderr:          io.Discard,
	})
	rpc, err := client.Client()
	if err != nil {
		client.Kill()
		return nil, fmt.Errorf("start %v: %w", target.Command, err)
	}
	raw, err := rpc.Dispense(pluginName)
	if err != nil {
		client.Kill()
		return nil, fmt.Errorf("dispense %s: %w", pluginName, err)
	}
	return &benchPlugin{client: client, bench: raw.(benchv1.BenchClient), pid: cmd.Process.Pid, log: log}, nil
}

func (p *benchPlugin) echo(payload []byte) error {
	_, err := p.bench.Echo(context.Background(), &benchv1.EchoRequest{Payload: payload})
	return err
}

func randomPayload(n int) []byte {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return b
}

// hostDescription names what this binary was really built with.
func hostDescription() string {
	versions := map[string]string{}
	if info, ok := debug.ReadBuildInfo(); ok {
		for _, dep := range info.Deps {
			versions[dep.Path] = dep.Version
		}
	}
	return fmt.Sprintf("go-plugin %s (grpc-go %s, %s)", versions["github.com/hashicorp/go-plugin"], versions["google.golang.org/grpc"], runtime.Version())
}

func main() {
	var job bench.Job
	if err := json.NewDecoder(os.Stdin).Decode(&job); err != nil {
		fmt.Fprintln(os.Stderr, "bench-host: reading the job:", err)
		os.Exit(1)
	}
	report, err := run(job)
	plugin.CleanupClients()
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench-host:", err)
		os.Exit(1)
	}
	if err := json.NewEncoder(os.Stdout).Encode(report); err != nil {
		fmt.Fprintln(os.Stderr, "bench-host: writing the report:", err)
		os.Exit(1)
	}
}

func run(job bench.Job) (*bench.Report, error) {
	if job.Target.Kind != "plugin" {
		return nil, fmt.Errorf("target %q: bench-host runs plugins only", job.Target.Kind)
	}
	report := &bench.Report{Results: []bench.TaskResult{}, Checks: bench.Checks{Host: hostDescription()}}
	var conn *benchPlugin
	for _, t := range job.Tasks {
		if t.Kind == "latency" || t.Kind == "throughput" {
			p, err := connect(job.Target, report)
			if err != nil {
				return nil, err
			}
			conn = p
			defer conn.client.Kill()
			break
		}
	}
	for _, t := range job.Tasks {
		r, err := runTask(t, job.Target, conn)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", t.Kind, err)
		}
		report.Results = append(report.Results, r)
	}
	return report, nil
}

// connect starts the plugin and checks what it and go-plugin say about the connection.
func connect(target bench.Target, report *bench.Report) (*benchPlugin, error) {
	p, err := start(target)
	if err != nil {
		return nil, err
	}
	info, err := p.bench.Info(context.Background(), &benchv1.InfoRequest{})
	if err != nil {
		p.client.Kill()
		return nil, fmt.Errorf("info: %w", err)
	}
	p.log.mu.Lock()
	logged := p.log.seen
	muxed := p.log.mux
	p.log.mu.Unlock()
	report.Checks.Plugin = &bench.PluginCheck{Language: info.Language, Runtime: info.Runtime, TLS: info.Tls}
	report.Checks.AutoMTLSLogged = &logged
	report.Checks.Multiplexed = &muxed
	if muxed != target.Multiplex {
		p.client.Kill()
		return nil, fmt.Errorf("multiplexing asked %v, but go-plugin logged it %v", target.Multiplex, muxed)
	}
	if info.Tls != target.AutoMTLS || logged != target.AutoMTLS {
		p.client.Kill()
		return nil, fmt.Errorf("AutoMTLS asked %v, but go-plugin logged it %v and the plugin reports TLS %v", target.AutoMTLS, logged, info.Tls)
	}
	probe := randomPayload(64)
	res, err := p.bench.Echo(context.Background(), &benchv1.EchoRequest{Payload: probe})
	if err != nil || !bytes.Equal(res.Payload, probe) {
		p.client.Kill()
		return nil, fmt.Errorf("echo check failed: %v", err)
	}
	return p, nil
}

func runTask(t bench.Task, target bench.Target, conn *benchPlugin) (bench.TaskResult, error) {
	switch t.Kind {
	case "latency":
		payload := randomPayload(t.Payload)
		samples, err := bench.TimeEach(func() error { return conn.echo(payload) }, t.Warmup, t.Calls)
		return bench.TaskResult{SamplesNs: samples}, err
	case "throughput":
		payload := randomPayload(t.Payload)
		r, err := bench.KeepInFlight(func() error { return conn.echo(payload) }, t.InFlight, ms(t.DurationMs), ms(t.WarmupMs), false)
		return bench.TaskResult{Calls: r.Calls, ElapsedNs: int64(r.Elapsed)}, err
	case "start":
		samples, err := timeStarts(target, t.Starts)
		return bench.TaskResult{SamplesNs: samples}, err
	case "fleet":
		return fleet(target, t)
	}
	return bench.TaskResult{}, fmt.Errorf("unknown task kind %q", t.Kind)
}

func ms(n int) time.Duration { return time.Duration(n) * time.Millisecond }

// timeStarts times each start from before the plugin process exists to the
// first Echo answer; stopping it is not timed.
func timeStarts(target bench.Target, starts int) ([]int64, error) {
	payload := randomPayload(64)
	samples := make([]int64, 0, starts)
	for i := 0; i < starts; i++ {
		begin := time.Now()
		p, err := start(target)
		if err != nil {
			return nil, err
		}
		err = p.echo(payload)
		elapsed := time.Since(begin)
		p.client.Kill()
		if err != nil {
			return nil, err
		}
		samples = append(samples, int64(elapsed))
	}
	return samples, nil
}

// fleet is bench/fleet.ts in Go: many plugins at once, memory when idle,
// then latency with one call in flight to each.
func fleet(target bench.Target, t bench.Task) (bench.TaskResult, error) {
	var r bench.TaskResult
	var err error
	if r.HostRssBeforeBytes, err = bench.RssBytes("self"); err != nil {
		return r, err
	}
	var plugins []*benchPlugin
	defer func() {
		for _, p := range plugins {
			p.client.Kill()
		}
	}()
	for started := 0; started < t.Plugins; started += startBatch {
		n := min(startBatch, t.Plugins-started)
		batch := make([]*benchPlugin, n)
		errs := make([]error, n)
		var wg sync.WaitGroup
		for i := range batch {
			wg.Add(1)
			go func() {
				defer wg.Done()
				batch[i], errs[i] = start(target)
			}()
		}
		wg.Wait()
		for i, p := range batch {
			if p != nil {
				plugins = append(plugins, p)
			}
			if errs[i] != nil {
				return r, errs[i]
			}
		}
	}
	payload := randomPayload(64)
	var wg sync.WaitGroup
	errs := make([]error, len(plugins))
	for i, p := range plugins {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := 0; j < t.Warmup && errs[i] == nil; j++ {
				errs[i] = p.echo(payload)
			}
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return r, err
	}
	time.Sleep(ms(t.SettleMs))
	if r.HostRssBytes, err = bench.RssBytes("self"); err != nil {
		return r, err
	}
	if r.HostPssBytes, err = bench.PssBytes("self"); err != nil {
		return r, err
	}
	for _, p := range plugins {
		rss, err := bench.RssBytes(strconv.Itoa(p.pid))
		if err != nil {
			return r, err
		}
		pss, err := bench.PssBytes(strconv.Itoa(p.pid))
		if err != nil {
			return r, err
		}
		r.PluginRssBytes = append(r.PluginRssBytes, rss)
		r.PluginPssBytes = append(r.PluginPssBytes, pss)
	}
	runs := make([]bench.Throughput, len(plugins))
	begin := time.Now()
	for i, p := range plugins {
		wg.Add(1)
		go func() {
			defer wg.Done()
			runs[i], errs[i] = bench.KeepInFlight(func() error { return p.echo(payload) }, 1, ms(t.DurationMs), 0, true)
		}()
	}
	wg.Wait()
	r.ElapsedNs = int64(time.Since(begin))
	for _, run := range runs {
		r.Calls += run.Calls
		r.SamplesNs = append(r.SamplesNs, run.Samples...)
	}
	return r, errors.Join(errs...)
}
