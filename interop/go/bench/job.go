// Package bench is what the benchmark's Go programs (cmd/bench-host,
// cmd/bench-plugin, cmd/bench-floor) share: the job they are given and the
// report they print, in the JSON of bench/job.ts, and the loops that drive
// calls, the same as bench/load.ts.
package bench

// PluginTarget or floor target: the JSON of bench/job.ts's Job.target.
type Target struct {
	Kind     string   `json:"kind"` // "plugin" or "floor"
	Command  []string `json:"command"`
	AutoMTLS bool     `json:"autoMTLS"`
	// Multiplex asks for go-plugin's broker multiplexing (GRPCBrokerMultiplex).
	Multiplex bool `json:"multiplex,omitempty"`
}

// Task is one entry of Job.tasks; which fields count depends on Kind.
type Task struct {
	Kind       string `json:"kind"` // latency, throughput, start, fleet
	Payload    int    `json:"payload"`
	Warmup     int    `json:"warmup"`
	Calls      int    `json:"calls"`
	InFlight   int    `json:"inFlight"`
	WarmupMs   int    `json:"warmupMs"`
	DurationMs int    `json:"durationMs"`
	Starts     int    `json:"starts"`
	Plugins    int    `json:"plugins"`
	SettleMs   int    `json:"settleMs"`
}

type Job struct {
	Target Target `json:"target"`
	Tasks  []Task `json:"tasks"`
}

type TaskResult struct {
	SamplesNs          []int64 `json:"samplesNs,omitempty"`
	Calls              int64   `json:"calls,omitempty"`
	ElapsedNs          int64   `json:"elapsedNs,omitempty"`
	HostRssBeforeBytes int64   `json:"hostRssBeforeBytes,omitempty"`
	HostRssBytes       int64   `json:"hostRssBytes,omitempty"`
	HostPssBytes       int64   `json:"hostPssBytes,omitempty"`
	PluginRssBytes     []int64 `json:"pluginRssBytes,omitempty"`
	PluginPssBytes     []int64 `json:"pluginPssBytes,omitempty"`
}

type PluginCheck struct {
	Language string `json:"language"`
	Runtime  string `json:"runtime"`
	TLS      bool   `json:"tls"`
}

type Checks struct {
	Host           string       `json:"host"`
	Plugin         *PluginCheck `json:"plugin,omitempty"`
	AutoMTLSLogged *bool        `json:"autoMTLSLogged,omitempty"`
	// Multiplexed: go-plugin logged that its connection to the plugin is multiplexed.
	Multiplexed *bool `json:"multiplexed,omitempty"`
}

type Report struct {
	Results []TaskResult `json:"results"`
	Checks  Checks       `json:"checks"`
}
