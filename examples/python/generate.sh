#!/usr/bin/env bash
# Generates the Python stubs of the agent-learning API from ../../proto into ./gen, with Debian's
# protoc (protobuf-compiler) and gRPC Python plugin (protobuf-compiler-grpc). The output matches
# the protobuf runtime of the same distribution (python3-protobuf), which is why it is generated
# here rather than committed.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
proto="$here/../../proto"
plugin="$(command -v grpc_python_plugin || true)"
if ! command -v protoc >/dev/null || [ -z "$plugin" ]; then
  echo "protoc or grpc_python_plugin is missing: apt-get install protobuf-compiler protobuf-compiler-grpc" >&2
  exit 1
fi
rm -rf "$here/gen"
mkdir -p "$here/gen"
# Well-known types (timestamp, struct) ship with protoc in /usr/include.
protoc -I "$proto" -I /usr/include \
  --python_out="$here/gen" --grpc_python_out="$here/gen" --plugin=protoc-gen-grpc_python="$plugin" \
  "$proto"/agentlearning/v1/*.proto
echo "stubs written to $here/gen"
