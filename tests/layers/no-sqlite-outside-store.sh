#!/usr/bin/env bash
# SQLite belongs to the store (issue #15): no file outside src/store/ may
# mention `sqlite3` (the header, its functions, its types) or `mt_store_db`
# (the store's internal SQLite handle) — in src/, include/, cli/, fuzz/
# (its seed corpus aside) and bench/. The store's unit tests (tests/unit)
# may. Every other module reaches the data through the mt_store_* operations.
#
#   tests/layers/no-sqlite-outside-store.sh [ROOT]
#
# Prints each offending line as FILE:LINE: TEXT and exits 1 when there is
# one; checks first, on a planted tree, that it does catch one (and leaves
# src/store/ alone). Exit 0 and "no sqlite3 outside src/store" otherwise.
set -uo pipefail

root=${1:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}

# offenders ROOT: the lines outside src/store/ that mention SQLite.
offenders() {
	local r=$1 d
	for d in src include cli fuzz bench; do
		[ -d "$r/$d" ] || continue
		(cd "$r" && grep -rnI -e 'sqlite3' -e 'mt_store_db' \
			--exclude-dir=corpus "$d")
	done | grep -v '^src/store/' || true
}

# The check on a planted tree: a module file that calls SQLite must be named,
# the store's own files must not.
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/src/store" "$tmp/src/search" "$tmp/fuzz/corpus/x"
printf '#include <sqlite3.h>\n' >"$tmp/src/store/store_open.c"
printf 'int f(void);\nint g(void) { return sqlite3_changes(0); }\n' >"$tmp/src/search/search.c"
printf 'sqlite3\n' >"$tmp/fuzz/corpus/x/seed"
planted=$(offenders "$tmp")
if [ "$planted" != "src/search/search.c:2:int g(void) { return sqlite3_changes(0); }" ]; then
	echo "self-check failed: on a planted tree the check reported:"
	echo "${planted:-(nothing)}"
	exit 2
fi

found=$(offenders "$root")
if [ -n "$found" ]; then
	echo "sqlite3 outside src/store (use or add an mt_store_* operation, store.h):"
	echo "$found"
	exit 1
fi
echo "no sqlite3 outside src/store"
