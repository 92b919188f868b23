package hostconn_test

import (
	"context"
	"errors"
	"reflect"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	hostv1 "hst.local/sdk/gen/hst/host/v1"
	pluginv1 "hst.local/sdk/gen/hst/plugin/v1"
	"hst.local/sdk/hostconn"
	"hst.local/sdk/hostconn/hostconntest"
)

func check(t *testing.T, what string, got, want any) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%s = %#v, want %#v", what, got, want)
	}
}

var ctx = context.Background()

func TestACommandsValueIsItsResult(t *testing.T) {
	commands := hostconn.Commands{"greet": func(run *hostconn.Run) (any, error) {
		name := run.Arg("name", "world")
		if err := run.Progress("greeting"); err != nil {
			return nil, err
		}
		if err := run.Output("hello, " + name + "\n"); err != nil {
			return nil, err
		}
		return map[string]string{"greeting": "hello, " + name}, nil
	}}
	r, err := hostconntest.Run(ctx, commands, "greet", map[string]string{"name": "Ada"})
	check(t, "err", err, nil)
	check(t, "result", r, hostconntest.Result{Output: []string{"hello, Ada\n"}, Progress: []string{"greeting"}, JSON: `{"greeting":"hello, Ada"}`})

	r, _ = hostconntest.Run(ctx, commands, "greet", map[string]string{"name": ""})
	value, err := r.Value()
	check(t, "value with an empty argument", value, map[string]any{"greeting": "hello, world"})
	check(t, "decoding", err, nil)
}

func TestTypedValuesDecodeFromTheHostsJSON(t *testing.T) {
	type values struct {
		Count int  `json:"count"`
		Loud  bool `json:"loud"`
	}
	var got values
	commands := hostconn.Commands{"count": func(run *hostconn.Run) (any, error) { return got, run.Values(&got) }}
	_, err := hostconntest.RunRequest(ctx, commands, &pluginv1.RunCommandRequest{Command: "count", ValuesJson: `{"count":3,"loud":true}`})
	check(t, "err", err, nil)
	check(t, "values", got, values{Count: 3, Loud: true})
}

func TestAFailedHostCallEndsTheRunWithExitCode1AndItsMessage(t *testing.T) {
	message := "Filesystem/ReadDir .: denied by default deny"
	commands := hostconn.Commands{"files": func(*hostconn.Run) (any, error) { return nil, status.Error(codes.PermissionDenied, message) }}
	r, err := hostconntest.Run(ctx, commands, "files", nil)
	check(t, "err", err, nil)
	check(t, "result", r, hostconntest.Result{Output: []string{message + "\n"}, JSON: `{"error":"` + message + `"}`, ExitCode: 1})
}

func TestACommandErrorChoosesTheExitCode(t *testing.T) {
	commands := hostconn.Commands{"check": func(*hostconn.Run) (any, error) {
		return nil, errors.Join(&hostconn.CommandError{Message: "2 problems", ExitCode: 3})
	}}
	r, _ := hostconntest.Run(ctx, commands, "check", nil)
	check(t, "result", r, hostconntest.Result{Output: []string{"2 problems\n"}, JSON: `{"error":"2 problems"}`, ExitCode: 3})
}

func TestAnUnknownCommandIsNotFoundNamingTheOthers(t *testing.T) {
	_, err := hostconntest.Run(ctx, hostconn.Commands{"b": nil, "a": nil}, "nope", nil)
	check(t, "code", status.Code(err), codes.NotFound)
	check(t, "message", status.Convert(err).Message(), `no command "nope"; this plugin has a, b`)
}

func TestAResultThatIsNotJSONIsAnError(t *testing.T) {
	_, err := hostconntest.Run(ctx, hostconn.Commands{"bad": func(*hostconn.Run) (any, error) { return func() {}, nil }}, "bad", nil)
	if err == nil {
		t.Fatal("a result that cannot be JSON was sent")
	}
}

func TestClientWithoutAHostIsFailedPrecondition(t *testing.T) {
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	_, err := hostconn.Client(cancelled, hostconn.New(), hostv1.NewFilesystemClient)
	check(t, "code", status.Code(err), codes.FailedPrecondition)
}
