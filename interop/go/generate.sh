#!/usr/bin/env bash
# Regenerates the Go code: proto/hst into the Go SDK (sdk/go/gen), the example and
# benchmark protos into interop/go/gen, with buf (from npm) and the Go plugins pinned
# in go.mod. `generate.sh ROOT` writes below ROOT instead of the repository, which is
# how the staleness test compares.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
root="${1:-$repo}"
(cd "$here" && go build -o .tools/bin/ google.golang.org/protobuf/cmd/protoc-gen-go google.golang.org/grpc/cmd/protoc-gen-go-grpc)
rm -rf "$root/sdk/go/gen" "$root/interop/go/gen"
mkdir -p "$root/sdk/go/gen" "$root/interop/go/gen"
cd "$repo"
node_modules/.bin/buf generate proto --path proto/hst --template sdk/go/buf.gen.yaml -o "$root/sdk/go/gen"
# The example of a host service an application adds (examples/notes), for its Go plugin.
node_modules/.bin/buf generate examples/notes/proto --template interop/go/buf.gen.yaml -o "$root/interop/go/gen"
# The benchmark's contract (npm run bench), for its Go host and plugin.
node_modules/.bin/buf generate bench/proto --template interop/go/buf.gen.yaml -o "$root/interop/go/gen"
