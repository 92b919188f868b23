// Command counter-plugin is a go-plugin Counter plugin (contract "counter"
// from go-plugin's examples/bidirectional). Put calls back into the host's
// AddHelper service over the GRPCBroker, which exercises broker dialing from
// the plugin side; the shared package does the broker work, we only supply
// the storage.
package main

import (
	"encoding/json"
	"os"

	"github.com/hashicorp/go-plugin"
	"github.com/hashicorp/go-plugin/examples/bidirectional/shared"
)

// counter keeps each key in a file named kv_<key> holding {"Value":N}, the
// same layout upstream's plugin-go-grpc uses, so either side can read it.
type counter struct{}

type stored struct {
	Value int64
}

func (c *counter) Put(key string, value int64, add shared.AddHelper) error {
	// A missing or unreadable key counts as zero, matching upstream.
	current, _ := c.Get(key)

	sum, err := add.Sum(current, value)
	if err != nil {
		return err
	}

	buf, err := json.Marshal(&stored{Value: sum})
	if err != nil {
		return err
	}
	return os.WriteFile("kv_"+key, buf, 0o644)
}

func (c *counter) Get(key string) (int64, error) {
	raw, err := os.ReadFile("kv_" + key)
	if err != nil {
		return 0, err
	}
	var s stored
	if err := json.Unmarshal(raw, &s); err != nil {
		return 0, err
	}
	return s.Value, nil
}

func main() {
	plugin.Serve(&plugin.ServeConfig{
		HandshakeConfig: shared.Handshake,
		Plugins: plugin.PluginSet{
			"counter": &shared.CounterPlugin{Impl: &counter{}},
		},
		GRPCServer: plugin.DefaultGRPCServer,
	})
}
