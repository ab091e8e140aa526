#!/usr/bin/env bash
# Node and fault integration tests again with every home's store on
# PostgreSQL: a throw-away cluster (with-cluster.sh), and
# MESH_INTEG_PG_ADMIN makes mtharness's init give each home a database of
# its own (mesh init --store URL).
#
#   tests/pg/run-integ.sh MESH BENCH_INGEST TEST.py [TEST.py ...]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
mesh=$1 bench=$2
shift 2
exec "$here/with-cluster.sh" bash -c '
set -u
bindir=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
export MESH_INTEG_PG_ADMIN="$MESH_TEST_STORE" MESH_INTEG_PSQL="$bindir/psql"
mesh=$1 bench=$2
shift 2
status=0
for t in "$@"; do
	echo "== $(basename "$t") on PostgreSQL"
	/usr/bin/python3 "$t" "$mesh" "$bench" || status=1
done
exit $status
' run-integ "$mesh" "$bench" "$@"
