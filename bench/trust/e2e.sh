#!/usr/bin/env bash
# What a user waits for: one `mesh trust list` process (store open, edges
# loaded, engine built, query answered, JSON printed) on each dataset, after
# `mesh graph import-edgelist`. Median of 5 runs from a fixed hub viewpoint at
# depths 2 and 4.   bench/trust/e2e.sh [BUILD_DIR]
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${1:-$root/build-rel}
MESH=$(readlink -f "$BUILD/mesh")
DATA=${MT_SHARED_DIR:-$root/../shared}/data
T=$(mktemp -d /tmp/mt-bench-e2e-XXXXXX)
trap 'rm -rf "$T"' EXIT
printf '%-10s %8s %8s %6s %12s\n' dataset nodes edges depth "median ms"
for spec in "advogato:advogato/out.advogato.gz:konect" "otc:soc-sign-bitcoinotc.csv.gz:csv-signed" \
            "alpha:soc-sign-bitcoinalpha.csv.gz:csv-signed"; do
  IFS=: read -r name file fmt <<<"$spec"
  home="$T/$name"
  "$MESH" --home "$home" init >/dev/null
  "$MESH" --home "$home" graph import-edgelist "$DATA/$file" --format "$fmt" --map "$T/$name.map" --json >"$T/$name.json"
  edges=$(/usr/bin/python3 -c 'import json,sys;print(json.load(open(sys.argv[1]))["accepted"])' "$T/$name.json")
  nodes=$(wc -l <"$T/$name.map")
  hub=$("$MESH" --home "$home" metrics --json --per-node --sample 1 | /usr/bin/python3 -c '
import json,sys; m=json.load(sys.stdin); print(max(m["nodes"], key=lambda n:(n["inbound_trust"],n["node_id"]))["node_id"])')
  for depth in 2 4; do
    ms=$(/usr/bin/python3 - "$MESH" "$home" "$hub" "$depth" <<'PY'
import subprocess, sys, time, statistics
mesh, home, hub, depth = sys.argv[1:]
t = []
for _ in range(5):
    a = time.perf_counter()
    subprocess.run([mesh, "--home", home, "trust", "list", "--from", hub, "--depth", depth, "--json"],
                   check=True, stdout=subprocess.DEVNULL, timeout=120)
    t.append((time.perf_counter() - a) * 1000)
print(f"{statistics.median(t):.0f}")
PY
)
    printf '%-10s %8s %8s %6s %12s\n' "$name" "$nodes" "$edges" "$depth" "$ms"
  done
done
