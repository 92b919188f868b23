package hostconn

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	pluginv1 "hst.local/sdk/gen/hst/plugin/v1"
)

// Run is one run of a command the manifest declares: its arguments, and the
// stream its output goes to while it runs.
type Run struct {
	req    *pluginv1.RunCommandRequest
	stream pluginv1.Commands_RunServer
}

// Context ends when the caller cancels the run or the host stops the plugin.
func (r *Run) Context() context.Context { return r.stream.Context() }

// Arg is the argument name as the host passed it (checked against the
// manifest), or fallback when it is absent or empty.
func (r *Run) Arg(name, fallback string) string {
	if v, ok := r.req.GetArgs()[name]; ok && v != "" {
		return v
	}
	return fallback
}

// Values decodes the arguments with the types the manifest declares for them
// (int, number, bool, json) into v, as encoding/json would.
func (r *Run) Values(v any) error {
	if r.req.GetValuesJson() == "" {
		return json.Unmarshal([]byte("{}"), v)
	}
	return json.Unmarshal([]byte(r.req.GetValuesJson()), v)
}

// Color says whether the output goes to a terminal that shows colour.
func (r *Run) Color() bool { return r.req.GetColor() }

// Output sends text to the caller as the command's output.
func (r *Run) Output(text string) error {
	return r.stream.Send(&pluginv1.RunCommandResponse{Event: &pluginv1.RunCommandResponse_Output{Output: text}})
}

// Progress sends a line of progress, which the host shows apart from the output.
func (r *Run) Progress(text string) error {
	return r.stream.Send(&pluginv1.RunCommandResponse{Event: &pluginv1.RunCommandResponse_Progress{Progress: text}})
}

// CommandFunc runs one command. Its value is the result (sent as JSON, exit
// code 0). An error ends the run as a result too, not as an RPC error: a
// *CommandError with its exit code, any other error (a refused host call,
// say) with exit code 1; either way its message is the last output line and
// the result is {"error": message}.
type CommandFunc func(run *Run) (any, error)

// Commands maps each command the manifest declares to its function.
type Commands map[string]CommandFunc

// CommandError ends a run with an exit code of the command's choosing.
type CommandError struct {
	Message  string
	ExitCode int32
}

func (e *CommandError) Error() string { return e.Message }

// RegisterCommands serves hst.plugin.v1.Commands on s. A command that is not
// in commands is NOT_FOUND, naming the ones that are.
func RegisterCommands(s *grpc.Server, commands Commands) {
	pluginv1.RegisterCommandsServer(s, commandServer{commands: commands})
}

type commandServer struct {
	pluginv1.UnimplementedCommandsServer
	commands Commands
}

func (c commandServer) Run(req *pluginv1.RunCommandRequest, stream pluginv1.Commands_RunServer) error {
	return c.commands.Dispatch(req, stream)
}

// Dispatch runs the command req names, sending its events to stream: what
// the server does for each Run, and what hostconntest.Run does without one.
func (c Commands) Dispatch(req *pluginv1.RunCommandRequest, stream pluginv1.Commands_RunServer) error {
	fn, ok := c[req.GetCommand()]
	if !ok {
		names := make([]string, 0, len(c))
		for name := range c {
			names = append(names, name)
		}
		sort.Strings(names)
		return status.Errorf(codes.NotFound, "no command %q; this plugin has %s", req.GetCommand(), strings.Join(names, ", "))
	}
	run := &Run{req: req, stream: stream}
	value, err := fn(run)
	if err != nil {
		return run.failed(err)
	}
	return run.result(value, 0)
}

func (r *Run) result(value any, exitCode int32) error {
	data, err := json.Marshal(value)
	if err != nil {
		return fmt.Errorf("command %s: its result is not JSON: %w", r.req.GetCommand(), err)
	}
	return r.stream.Send(&pluginv1.RunCommandResponse{Event: &pluginv1.RunCommandResponse_Result{
		Result: &pluginv1.CommandResult{Json: string(data), ExitCode: exitCode},
	}})
}

func (r *Run) failed(err error) error {
	exitCode := int32(1)
	message := status.Convert(err).Message()
	var commandErr *CommandError
	if errors.As(err, &commandErr) {
		exitCode, message = commandErr.ExitCode, commandErr.Message
	}
	if sendErr := r.Output(message + "\n"); sendErr != nil {
		return sendErr
	}
	return r.result(map[string]string{"error": message}, exitCode)
}
