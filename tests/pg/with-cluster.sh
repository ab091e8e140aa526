#!/usr/bin/env bash
# Run a command beside a throw-away PostgreSQL cluster, then stop and remove it.
#
#   tests/pg/with-cluster.sh CMD [ARG...]
#
# The cluster (initdb/pg_ctl of the newest /usr/lib/postgresql/*/bin) lives in
# a fresh temporary directory and listens on a Unix socket in that directory
# only (listen_addresses = ''; no TCP). Run as root, the server runs as the
# unprivileged `postgres` user (Debian's package creates it). Durability is
# off (fsync, synchronous_commit): the cluster is thrown away.
#
# CMD sees MESH_TEST_STORE=postgresql://mesh@/postgres?host=DIR (the admin
# URL: superuser `mesh`, trust authentication on the socket) and MESH_PG_DIR.
# Its exit status is the script's. Exit 77 (skipped) when PostgreSQL is not
# installed and MESH_PG_REQUIRED is not 1.
set -euo pipefail

bindir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
if [[ -z "$bindir" || ! -x "$bindir/initdb" ]]; then
	echo "with-cluster: PostgreSQL server binaries not found (apt-get install postgresql)" >&2
	[[ "${MESH_PG_REQUIRED:-0}" == 1 ]] && exit 1
	exit 77
fi

dir=$(mktemp -d "${TMPDIR:-/tmp}/mesh-pg.XXXXXX")
as_owner=()
if [[ $(id -u) == 0 ]]; then
	id postgres >/dev/null 2>&1 || { echo "with-cluster: run as root but no 'postgres' user" >&2; exit 1; }
	chown postgres: "$dir"
	as_owner=(setpriv --reuid=postgres --regid="$(id -g postgres)" --init-groups --)
fi

stop() {
	"${as_owner[@]}" "$bindir/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1 || true
	rm -rf "$dir"
}
trap stop EXIT
trap 'exit 130' INT TERM

cd "$dir"
"${as_owner[@]}" "$bindir/initdb" -D "$dir/data" -U mesh -A trust -E UTF8 --locale=C.UTF-8 \
	--no-sync >"$dir/initdb.log" 2>&1 || { cat "$dir/initdb.log" >&2; exit 1; }
"${as_owner[@]}" "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 30 \
	-o "-c listen_addresses='' -k $dir -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200" \
	start >/dev/null || { cat "$dir/server.log" >&2; exit 1; }
cd - >/dev/null

export MESH_PG_DIR="$dir"
export MESH_TEST_STORE="postgresql://mesh@/postgres?host=$dir"
set +e
"$@"
status=$?
set -e
exit $status
