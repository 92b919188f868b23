// Package hostconntest runs a plugin's commands in a test, without a host:
// Run sends one request to the commands as the host would and records what
// they send back.
package hostconntest

import (
	"context"
	"encoding/json"
	"fmt"

	"google.golang.org/grpc"

	pluginv1 "hst.local/sdk/gen/hst/plugin/v1"
	"hst.local/sdk/hostconn"
)

// Result is what one run sent: its output and progress in order, the result's
// JSON and exit code.
type Result struct {
	Output   []string
	Progress []string
	JSON     string
	ExitCode int32
}

// Value decodes the result's JSON.
func (r Result) Value() (any, error) {
	var v any
	err := json.Unmarshal([]byte(r.JSON), &v)
	return v, err
}

// Run runs command with args (as the host passes them: strings, already
// checked against the manifest). The error is the RPC's, as the host would
// get it (NOT_FOUND for an unknown command); a run that sent no result is an
// error too.
func Run(ctx context.Context, commands hostconn.Commands, command string, args map[string]string) (Result, error) {
	return RunRequest(ctx, commands, &pluginv1.RunCommandRequest{Command: command, Args: args})
}

// RunRequest is Run with the whole request: typed values (values_json), colour.
func RunRequest(ctx context.Context, commands hostconn.Commands, req *pluginv1.RunCommandRequest) (Result, error) {
	r := &recorder{ctx: ctx}
	if err := commands.Dispatch(req, r); err != nil {
		return r.result, err
	}
	if !r.ended {
		return r.result, fmt.Errorf("command %s sent no result", req.GetCommand())
	}
	return r.result, nil
}

// recorder stands in for the host's end of the stream.
type recorder struct {
	grpc.ServerStream // only Send and Context are used
	ctx               context.Context
	result            Result
	ended             bool
}

func (r *recorder) Context() context.Context { return r.ctx }

func (r *recorder) Send(event *pluginv1.RunCommandResponse) error {
	switch e := event.GetEvent().(type) {
	case *pluginv1.RunCommandResponse_Output:
		r.result.Output = append(r.result.Output, e.Output)
	case *pluginv1.RunCommandResponse_Progress:
		r.result.Progress = append(r.result.Progress, e.Progress)
	case *pluginv1.RunCommandResponse_Result:
		r.result.JSON, r.result.ExitCode, r.ended = e.Result.GetJson(), e.Result.GetExitCode(), true
	}
	return nil
}
