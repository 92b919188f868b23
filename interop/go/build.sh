#!/usr/bin/env bash
# Builds the Go interop peers into interop/go/bin (git-ignored).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"

# go-plugin's examples/grpc/proto and examples/bidirectional/proto both
# register "proto/kv.proto" (same proto package, same message names), and the
# host links both, so protobuf's init-time conflict check would panic. The
# generated types still work on their own, so tell the registry to ignore the
# duplicate. This linker variable is what protobuf documents for the purpose;
# the env var GOLANG_PROTOBUF_REGISTRATION_CONFLICT=ignore does the same for
# `go run`.
ldflags="-X google.golang.org/protobuf/reflect/protoregistry.conflictPolicy=ignore"

go build -ldflags "$ldflags" -o bin/ ./cmd/...
echo "built: $(cd bin && echo *)"
