// Command yamux-peer is the Go end of test/interop/yamux.test.ts: the real
// github.com/hashicorp/yamux (the version go-plugin uses), with its default
// config, over a unix socket.
//
// Usage:
//
//	yamux-peer server [-http2] <socket>
//	    Listens on <socket>, prints "listening" when it does, takes one
//	    connection as the yamux server and echoes every stream it accepts
//	    (half-closing after the peer does) until the session ends. With
//	    -http2 it serves each stream as an HTTP/2 (h2c) connection instead,
//	    answering every request with its body and the body's SHA-256 in
//	    the x-sha256 header.
//	yamux-peer client [-streams N] [-bytes M] [-http2] <socket>
//	    Dials <socket> as the yamux client, opens N streams at once, sends M
//	    random bytes on each, half-closes, and checks that the same bytes
//	    come back. With -http2 it POSTs M bytes over one stream as HTTP/2
//	    and checks the echo. Prints one line saying what it did (with the
//	    throughput) and exits 0, or prints why it failed and exits 1.
package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/hashicorp/yamux"
	"golang.org/x/net/http2"
)

func main() {
	if len(os.Args) < 2 {
		usage()
	}
	var err error
	switch os.Args[1] {
	case "server":
		err = server(os.Args[2:])
	case "client":
		err = client(os.Args[2:])
	default:
		usage()
	}
	if err != nil {
		fmt.Println("yamux-peer:", err)
		os.Exit(1)
	}
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: yamux-peer server [-http2] <socket> | client [-streams N] [-bytes M] [-http2] <socket>")
	os.Exit(2)
}

func server(args []string) error {
	flags := flag.NewFlagSet("server", flag.ExitOnError)
	serveHTTP2 := flags.Bool("http2", false, "serve each stream as h2c")
	_ = flags.Parse(args)
	if flags.NArg() != 1 {
		usage()
	}
	listener, err := net.Listen("unix", flags.Arg(0))
	if err != nil {
		return err
	}
	fmt.Println("listening")
	conn, err := listener.Accept()
	listener.Close()
	if err != nil {
		return err
	}
	session, err := yamux.Server(conn, nil)
	if err != nil {
		return err
	}
	h2 := &http2.Server{}
	for {
		stream, err := session.AcceptStream()
		if err != nil {
			// The client closing the session is how a run ends.
			if session.IsClosed() {
				return nil
			}
			return fmt.Errorf("accept: %w", err)
		}
		if *serveHTTP2 {
			go h2.ServeConn(stream, &http2.ServeConnOpts{Handler: http.HandlerFunc(echoHandler)})
			continue
		}
		go func() {
			_, _ = io.Copy(stream, stream)
			stream.Close() // FIN after the peer's FIN
		}()
	}
}

func echoHandler(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	sum := sha256.Sum256(body)
	w.Header().Set("x-sha256", hex.EncodeToString(sum[:]))
	_, _ = w.Write(body)
}

func client(args []string) error {
	flags := flag.NewFlagSet("client", flag.ExitOnError)
	streams := flags.Int("streams", 16, "streams to open at once")
	size := flags.Int("bytes", 8<<20, "bytes to send on each stream")
	overHTTP2 := flags.Bool("http2", false, "POST the bytes over one stream as HTTP/2 instead")
	_ = flags.Parse(args)
	if flags.NArg() != 1 {
		usage()
	}
	conn, err := net.Dial("unix", flags.Arg(0))
	if err != nil {
		return err
	}
	session, err := yamux.Client(conn, nil)
	if err != nil {
		return err
	}
	defer session.Close()
	if *overHTTP2 {
		return post(session, *size)
	}
	start := time.Now()
	errs := make(chan error, *streams)
	for i := range *streams {
		go func() { errs <- echo(session, uint64(i), *size) }()
	}
	var failures []error
	for range *streams {
		if err := <-errs; err != nil {
			failures = append(failures, err)
		}
	}
	if len(failures) > 0 {
		return errors.Join(failures...)
	}
	elapsed := time.Since(start)
	mib := float64(*streams) * float64(*size) / (1 << 20)
	fmt.Printf("echoed %d streams x %d bytes in %d ms (%.0f MiB/s each way)\n", *streams, *size, elapsed.Milliseconds(), mib/elapsed.Seconds())
	return nil
}

// echo sends size seeded-random bytes on a new stream, in writes of random
// sizes, and checks that the stream echoes them.
func echo(session *yamux.Session, seed uint64, size int) error {
	stream, err := session.OpenStream()
	if err != nil {
		return fmt.Errorf("open: %w", err)
	}
	defer stream.Close()
	random := rand.New(rand.NewPCG(seed, 1))
	data := make([]byte, size)
	for i := range data {
		data[i] = byte(random.Uint32())
	}
	sent := make(chan error, 1)
	go func() {
		for at := 0; at < size; {
			n := min(size-at, 1+random.IntN(256<<10))
			if _, err := stream.Write(data[at : at+n]); err != nil {
				sent <- fmt.Errorf("write: %w", err)
				return
			}
			at += n
		}
		sent <- stream.Close() // half-close: the echo still comes back
	}()
	back, err := io.ReadAll(stream)
	if err != nil {
		return fmt.Errorf("stream %d: read after %d bytes: %w", stream.StreamID(), len(back), err)
	}
	if err := <-sent; err != nil {
		return fmt.Errorf("stream %d: %w", stream.StreamID(), err)
	}
	if !bytes.Equal(back, data) {
		return fmt.Errorf("stream %d: echoed %d bytes that differ from the %d sent", stream.StreamID(), len(back), size)
	}
	return nil
}

// post sends size bytes as one HTTP/2 (h2c) request over a yamux stream and
// checks the echoed body and its hash header.
func post(session *yamux.Session, size int) error {
	transport := &http2.Transport{
		AllowHTTP: true,
		DialTLSContext: func(context.Context, string, string, *tls.Config) (net.Conn, error) {
			return session.Open()
		},
	}
	defer transport.CloseIdleConnections()
	body := make([]byte, size)
	random := rand.New(rand.NewPCG(7, 7))
	for i := range body {
		body[i] = byte(random.Uint32())
	}
	start := time.Now()
	resp, err := (&http.Client{Transport: transport}).Post("http://yamux/echo", "application/octet-stream", bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("POST: %w", err)
	}
	defer resp.Body.Close()
	back, err := io.ReadAll(resp.Body)
	if err != nil {
		return fmt.Errorf("reading the response: %w", err)
	}
	sum := sha256.Sum256(body)
	switch {
	case resp.StatusCode != http.StatusOK:
		return fmt.Errorf("status %d: %s", resp.StatusCode, back)
	case resp.Header.Get("x-sha256") != hex.EncodeToString(sum[:]):
		return fmt.Errorf("x-sha256 %q, want the body's", resp.Header.Get("x-sha256"))
	case !bytes.Equal(back, body):
		return fmt.Errorf("the response body (%d bytes) differs from the %d sent", len(back), size)
	}
	fmt.Printf("HTTP/2 POST of %d bytes echoed in %d ms\n", size, time.Since(start).Milliseconds())
	return nil
}
