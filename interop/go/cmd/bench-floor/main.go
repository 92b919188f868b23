// Command bench-floor is the Go side of the benchmark's floor (npm run
// bench): a bare unix-socket ping-pong between two Go processes, driven by
// the same tasks and loops as the plugin pairs. It reads a job on stdin,
// starts itself with -echo as the peer (which prints its socket path, then
// sends back every byte it receives, unparsed), and prints one JSON report.
// bench/floor-echo.ts and bench/floor-client.ts are the Node twin.
package main

import (
	"bufio"
	"crypto/rand"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"time"

	"hst.local/interop/bench"
)

func main() {
	echo := flag.Bool("echo", false, "be the echo peer")
	flag.Parse()
	if *echo {
		if err := serveEcho(); err != nil {
			fmt.Fprintln(os.Stderr, "bench-floor -echo:", err)
			os.Exit(1)
		}
		return
	}
	var job bench.Job
	if err := json.NewDecoder(os.Stdin).Decode(&job); err != nil {
		fmt.Fprintln(os.Stderr, "bench-floor: reading the job:", err)
		os.Exit(1)
	}
	report, err := run(job)
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench-floor:", err)
		os.Exit(1)
	}
	if err := json.NewEncoder(os.Stdout).Encode(report); err != nil {
		fmt.Fprintln(os.Stderr, "bench-floor: writing the report:", err)
		os.Exit(1)
	}
}

// serveEcho listens, prints the socket path, and echoes until stdin closes.
func serveEcho() error {
	dir, err := os.MkdirTemp("", "hst-bench-floor-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "echo.sock")
	ln, err := net.Listen("unix", path)
	if err != nil {
		return err
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				_, _ = io.Copy(c, c)
			}()
		}
	}()
	fmt.Println(path)
	// The client holds our stdin open for as long as it wants us.
	_, _ = io.Copy(io.Discard, os.Stdin)
	return nil
}

// floorConn offers the call shape of a plugin's Echo: a call writes its
// payload and returns when that many bytes have come back; calls in flight
// are answered in order by one reader.
type floorConn struct {
	conn    net.Conn
	writeMu sync.Mutex
	queue   chan *pending
}

type pending struct {
	n    int
	done chan error
}

// maxInFlight bounds the calls waiting for their answer.
const maxInFlight = 1024

func dialFloor(path string) (*floorConn, error) {
	conn, err := net.Dial("unix", path)
	if err != nil {
		return nil, err
	}
	f := &floorConn{conn: conn, queue: make(chan *pending, maxInFlight)}
	go f.read()
	return f, nil
}

func (f *floorConn) read() {
	buf := make([]byte, 64*1024)
	for p := range f.queue {
		var err error
		for left := p.n; left > 0 && err == nil; {
			var n int
			n, err = f.conn.Read(buf[:min(len(buf), left)])
			left -= n
		}
		p.done <- err
	}
}

func (f *floorConn) echo(payload []byte) error {
	p := &pending{n: len(payload), done: make(chan error, 1)}
	f.writeMu.Lock()
	f.queue <- p
	_, err := f.conn.Write(payload)
	f.writeMu.Unlock()
	if err != nil {
		return err
	}
	return <-p.done
}

func run(job bench.Job) (*bench.Report, error) {
	if job.Target.Kind != "floor" {
		return nil, fmt.Errorf("target %q: bench-floor runs the floor only", job.Target.Kind)
	}
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	peer := exec.Command(self, "-echo")
	peer.Stderr = os.Stderr
	stdin, err := peer.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := peer.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := peer.Start(); err != nil {
		return nil, err
	}
	defer func() {
		stdin.Close()
		_ = peer.Wait()
	}()
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		return nil, errors.New("the echo peer exited before it listened")
	}
	conn, err := dialFloor(strings.TrimSpace(line))
	if err != nil {
		return nil, err
	}
	defer conn.conn.Close()

	report := &bench.Report{Results: []bench.TaskResult{}, Checks: bench.Checks{Host: runtime.Version() + " net"}}
	for _, t := range job.Tasks {
		payload := make([]byte, t.Payload)
		_, _ = rand.Read(payload)
		call := func() error { return conn.echo(payload) }
		var r bench.TaskResult
		switch t.Kind {
		case "latency":
			r.SamplesNs, err = bench.TimeEach(call, t.Warmup, t.Calls)
		case "throughput":
			var tp bench.Throughput
			tp, err = bench.KeepInFlight(call, t.InFlight, time.Duration(t.DurationMs)*time.Millisecond, time.Duration(t.WarmupMs)*time.Millisecond, false)
			r.Calls, r.ElapsedNs = tp.Calls, int64(tp.Elapsed)
		default:
			err = fmt.Errorf("the floor has no %q task", t.Kind)
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", t.Kind, err)
		}
		report.Results = append(report.Results, r)
	}
	return report, nil
}
