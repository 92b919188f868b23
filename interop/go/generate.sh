#!/usr/bin/env bash
# Regenerates interop/go/gen from proto/hst and bench/proto with buf (from npm) and the Go
# plugins pinned in go.mod. `generate.sh DIR` writes below DIR instead, which
# is how the staleness test compares.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
out="${1:-$here/gen}"
(cd "$here" && go build -o .tools/bin/ google.golang.org/protobuf/cmd/protoc-gen-go google.golang.org/grpc/cmd/protoc-gen-go-grpc)
rm -rf "$out"
mkdir -p "$out"
cd "$repo"
node_modules/.bin/buf generate proto --path proto/hst --template interop/go/buf.gen.yaml -o "$out"
# The example of a host service an application adds (examples/notes), for its Go plugin.
node_modules/.bin/buf generate examples/notes/proto --template interop/go/buf.gen.yaml -o "$out"
# The benchmark's contract (npm run bench), for its Go host and plugin.
node_modules/.bin/buf generate bench/proto --template interop/go/buf.gen.yaml -o "$out"
