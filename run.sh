#!/usr/bin/env bash
# One command: install what is missing, build, and run this node on its
# embedded SQLite store ($MESH_HOME, default ~/.mesh).
set -euo pipefail
cd "$(dirname "$0")"
./scripts/install-deps.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build --target mesh
MESH=./build/mesh
home="${MESH_HOME:-$HOME/.mesh}"
[ -f "$home/identity.key" ] || $MESH init
$MESH id
exec $MESH node start --web "$PWD/web" "$@"
