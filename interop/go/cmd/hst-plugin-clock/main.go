// Command hst-plugin-clock is a plugin found by its file's name: no
// plugin.yaml, so the host learns its exports by asking (Module/Describe)
// and gives it no capabilities. `npm run build:plugins` builds it into
// examples/modules/plugins/hst-plugin-clock; the application imports it as
// `plugin:clock`. Its calls take no arguments and return structured results.
package main

import (
	"time"

	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"

	"hst.local/sdk/hostconn"
)

// The handshake a plugin found by name must use: hst's conventional one, as `hst new` writes it.
var handshake = plugin.HandshakeConfig{
	ProtocolVersion:  1,
	MagicCookieKey:   "HST_PLUGIN",
	MagicCookieValue: "hst-example-v1",
}

var started = time.Now()

func now([]any) (any, error) {
	t := time.Now().UTC()
	return map[string]any{
		"iso":     t.Format(time.RFC3339Nano),
		"unix_ms": float64(t.UnixMilli()),
		"date":    map[string]any{"year": float64(t.Year()), "month": float64(t.Month()), "day": float64(t.Day()), "weekday": t.Weekday().String()},
		"zone":    "UTC",
	}, nil
}

var exports = hostconn.ModuleExports{
	"now": hostconn.Function(now),
	"clock": {
		"today":  func([]any) (any, error) { return time.Now().UTC().Format("2006-01-02"), nil },
		"uptime": func([]any) (any, error) { return time.Since(started).Seconds(), nil },
	},
}

func main() {
	hostconn.Serve(handshake, "clock", func(s *grpc.Server, _ *hostconn.Link) { hostconn.RegisterModule(s, exports) })
}
