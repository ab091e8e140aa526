#!/usr/bin/env bash
# The store, projection, search, proof-of-trust and proof unit tests on
# PostgreSQL, plus the cross-backend test: a throw-away cluster
# (with-cluster.sh), every test binary with MESH_TEST_STORE set, the cluster
# stopped and removed. Exit 77 (skipped) without PostgreSQL.
#
#   tests/pg/run-unit.sh BUILD_DIR
set -uo pipefail
build=${1:?usage: run-unit.sh BUILD_DIR}
here=$(cd "$(dirname "$0")" && pwd)
tests=(test_store_xbackend test_store_ops test_store_feed test_store_names test_store_keys
	test_store_ingest test_store_projections test_search_rank test_pot_check test_proof_verify
	test_node_view)
exec "$here/with-cluster.sh" bash -c '
	build=$1; shift; fail=0
	for t in "$@"; do
		# the arrival-order sweeps of test_store_keys take minutes here and
		# test rules both backends share (SQLite runs them)
		if ! MESH_TEST_SKIP="test_order_*" "$build/$t" >"$MESH_PG_DIR/$t.log" 2>&1; then
			echo "pg: $t FAILED"; cat "$MESH_PG_DIR/$t.log"; fail=1
		else
			echo "pg: $t ok ($(grep -c "^\[       OK \]" "$MESH_PG_DIR/$t.log") passed," \
				"$(grep -c "^\[  SKIPPED \] test" "$MESH_PG_DIR/$t.log") skipped)"
		fi
	done
	exit $fail' run-unit "$build" "${tests[@]}"
