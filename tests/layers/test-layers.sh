#!/usr/bin/env bash
# Shows that scripts/check-layers.sh passes the real tree and a copy of it,
# and fails, naming file:line and the reason, on planted violations in the
# copy: upward includes, private headers of other modules, libraries a module
# may not use, .c includes, the kernel's old firewall cases, map errors and a
# stale drawing in docs/architecture.md. Prints "N passed, N failed"; exits
# non-zero when any expectation fails.
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
check="$root/scripts/check-layers.sh"
passed=0
failed=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
tree="$tmp/tree"
pristine="$tmp/pristine"

# The tree the check reads: sources, public headers, cli, fuzz (without its
# corpus), the map and the doc with the drawing.
mkdir -p "$pristine/scripts" "$pristine/docs" "$pristine/fuzz"
cp -R "$root/src" "$root/include" "$root/cli" "$pristine/"
find "$root/fuzz" -maxdepth 1 -type f \( -name '*.c' -o -name '*.h' \) -exec cp {} "$pristine/fuzz/" \;
cp "$root/scripts/layers.map" "$pristine/scripts/"
cp "$root/docs/architecture.md" "$pristine/docs/"

fresh() {
	rm -rf "$tree"
	cp -R "$pristine" "$tree"
}

ok() {
	passed=$((passed + 1))
	echo "ok: $1"
}
bad() {
	failed=$((failed + 1))
	echo "FAILED: $1"
	[ -z "${2:-}" ] || echo "$2" | sed 's/^/    /'
}

# expect <pass|fail> <description> [output substring...]
expect() {
	local want=$1 what=$2 out rc needle
	shift 2
	out=$(bash "$check" "$tree" 2>&1)
	rc=$?
	if [ "$want" = pass ] && [ $rc -ne 0 ]; then
		bad "$what (want pass, exit $rc)" "$out"
		return
	fi
	if [ "$want" = fail ] && [ $rc -ne 1 ]; then
		bad "$what (want fail, exit $rc)" "$out"
		return
	fi
	for needle in "$@"; do
		if [[ $out != *"$needle"* ]]; then
			bad "$what (no '$needle' in the output)" "$out"
			return
		fi
	done
	ok "$what"
}

# plant FILE LINE: a fresh copy with LINE appended to FILE (relative to the
# tree); sets $at to "FILE:<its line number>:".
plant() {
	fresh
	mkdir -p "$(dirname "$tree/$1")"
	[ -f "$tree/$1" ] || : >"$tree/$1"
	printf '%s\n' "$2" >>"$tree/$1"
	at="$1:$(wc -l <"$tree/$1"):"
}

# ---- clean trees pass ---------------------------------------------------------
out=$(bash "$check" "$root" 2>&1)
if [ $? -eq 0 ] && [[ $out == *"layers OK"* ]]; then ok "the real tree passes"; else bad "the real tree passes" "$out"; fi
out=$(cd "$root" && bash scripts/check-layers.sh 2>&1)
if [ $? -eq 0 ] && [[ $out == *"layers OK"* ]]; then ok "the default root is this repository and passes"; else bad "default root" "$out"; fi
fresh
expect pass "an untouched copy passes" "layers OK"

# ---- upward includes ------------------------------------------------------------
plant src/graph/engine_build.c '#include "meshtrust/node.h"'
expect fail 'graph including meshtrust/node.h is caught' "$at" "it is node's" "above graph (layer 1): an upward include"
plant src/kernel/kernel.c '#include "meshtrust/policy.h"'
expect fail 'the kernel including meshtrust/policy.h is caught' "$at" "policy's (layer 1), above kernel (layer 0)"
plant src/kernel/kernel.c '#include <meshtrust/policy.h>'
expect fail 'the kernel including <meshtrust/policy.h> is caught' "$at" "upward include"
plant src/store/store.c '#include "meshtrust/search.h"'
expect fail 'store including meshtrust/search.h is caught' "$at" "upward include"
plant include/meshtrust/edge.h '#include "meshtrust/store.h"'
expect fail 'a public header including a higher one is caught' "$at" "store's (layer 3), above util (layer 0)"
plant include/meshtrust/kernel.h '#include "meshtrust/error.h"'
expect fail "the kernel's public header including error.h is caught" "$at" "it is util's, and util and kernel share layer 0"

# ---- siblings and unused lower modules ------------------------------------------
plant src/metrics/metrics.c '#include "meshtrust/engine.h"'
expect fail 'metrics including graph (same layer) is caught' "$at" "share layer 1"
plant src/pot/derive.c '#include "meshtrust/metrics.h"'
expect fail 'pot including metrics (lower, not used) is caught' "$at" "pot does not use metrics"

# ---- private headers ------------------------------------------------------------
plant cli/main.c '#include "graph/engine_int.h"'
expect fail 'cli including a private header through src/ is caught' "$at" \
	"private header of graph (src/graph/engine_int.h)"
plant cli/main.c '#include "../src/graph/engine_int.h"'
expect fail 'cli including a private header by a path is caught' "$at" "private header of graph"
plant src/search/search.c '#include "json/json_int.h"'
expect fail 'a module including another module'"'"'s private header is caught' "$at" "private header of json"
plant src/graph/flow.c '#include "graph/engine_int.h"'
expect fail "a module reaching its own header through src/ is caught" "$at" "include it by its name"
plant include/meshtrust/engine.h '#include "../../src/graph/engine_int.h"'
expect fail 'a public header including a private one is caught' "$at" "private header of graph"
plant fuzz/fuzz_canon.c '#include "cli.h"'
expect fail 'a fuzz target including a private cli header is caught' "$at" "private header of cli (cli/cli.h)"
plant fuzz/fuzz_canon.c '#include "../cli/edgelist_parse.c"'
expect fail 'including a .c file is caught' "$at" "is a .c file"

# ---- libraries ------------------------------------------------------------------
plant src/graph/flow.c '#include <sqlite3.h>'
expect fail 'sqlite3 in graph is caught' "$at" "<sqlite3.h> is library sqlite3, which graph may not include"
plant src/metrics/brandes.c '#include <microhttpd.h>'
expect fail 'microhttpd in metrics is caught' "$at" "library microhttpd"
plant src/statement/statement.c '#include <curl/curl.h>'
expect fail 'curl in statement is caught' "$at" "library curl, which statement may not include"
plant src/util/error.c '#include <getopt.h>'
expect fail 'a glibc extension in util is caught' "$at" "library linux"
plant src/graph/flow.c '#include <igraph/igraph.h>'
expect fail 'a library missing from the map is caught' "$at" "neither a C standard or POSIX header"

# ---- the kernel: C library, POSIX and itself only (the old firewall's cases) ------
for h in '<jansson.h>' '<sqlite3.h>' '<sodium.h>' '<igraph/igraph.h>' '"meshtrust/error.h"'; do
	plant src/kernel/kernel.c "#include $h"
	expect fail "the kernel including $h is caught" "$at"
done
plant src/kernel/kernel.c '#include "meshtrust/trust.h"'
expect fail 'a missing public header is caught' "$at" "there is no include/meshtrust/trust.h"
plant src/kernel/kernel.c '  #  include   "meshtrust/graph.h"   /* spaced out */'
expect fail 'an indented, spaced-out include is caught' "$at"
plant src/kernel/kernel.c '#include TRUST_HEADER'
expect fail 'a computed #include MACRO is caught' "$at" "unrecognised #include form"
plant src/kernel/kernel.c '#include_next <stdio.h>'
expect fail '#include_next is caught' "$at" "#include_next is not allowed"
plant src/kernel/kernel.c '#import <stdio.h>'
expect fail '#import is caught' "$at" "#import is not allowed"
plant src/kernel/kernel.c '#include "../policy/policy.c"'
expect fail "an include of another module's .c file is caught" "$at" "is a .c file"
plant src/policy/x.h '/* x */'
printf '#include "../policy/x.h"\n' >>"$tree/src/kernel/kernel.c"
expect fail "an existing file of another module is caught" \
	"src/kernel/kernel.c:$(wc -l <"$tree/src/kernel/kernel.c"):" "private header of policy (src/policy/x.h)"
fresh
printf '#include "meshtrust/kernel.h"\n#include <stdio.h>\n#include "meshtrust/scope.h"\n' >"$tree/src/kernel/extra.c"
expect fail 'a violation in a new .c file is caught with its line' 'src/kernel/extra.c:3: "meshtrust/scope.h" is not a file'
fresh
ln -s "$tree/include/meshtrust/error.h" "$tree/src/kernel/error.h"
printf '#include "error.h"\n' >"$tree/src/kernel/extra.c"
expect fail 'a symlink leading out of the kernel is caught' 'src/kernel/extra.c:1: "error.h": it is util'"'"'s' 
plant src/kernel/kernel.c '#include <sys/types.h>'
expect pass 'a POSIX header in the kernel passes'
plant src/kernel/kernel.c '#include "meshtrust/kernel.h"'
expect pass "the kernel including its own public header passes"

# ---- what is allowed stays allowed ---------------------------------------------------
plant src/pot/derive.c '#include "meshtrust/canon.h"'
expect pass 'a header of a module used through another one passes (pot -> store -> statement -> json)'
plant src/node/new.c '#include <microhttpd.h>'
expect pass 'microhttpd in node passes'
plant fuzz/fuzz_canon.c '#include "edgelist_parse.h"'
expect pass 'a fuzz target including a parser header cli offers passes'

# ---- the map itself ------------------------------------------------------------------
fresh
sed -i -E 's/^(module graph +1 +[^ ]+ +[^ ]+ +)util /\1node /' "$tree/scripts/layers.map"
expect fail 'a map whose graph uses node (upward) is refused' "scripts/layers.map:" "graph (layer 1) uses node (layer" "must point to a lower layer"
fresh
echo '/* new */' >"$tree/include/meshtrust/orphan.h"
expect fail 'a public header no module offers is caught' "include/meshtrust/orphan.h: no module"
fresh
mkdir "$tree/src/newmod" && echo 'int x;' >"$tree/src/newmod/x.c"
expect fail 'a src/ directory not in the map is caught' "src/newmod/: no module"
fresh
sed -i -E 's/canonical JSON$/canonical JSON text/' "$tree/scripts/layers.map"
expect fail 'a map change without the drawing in docs/architecture.md is caught' \
	"docs/architecture.md:" "differs from scripts/layers.map"
bash "$check" --write-doc "$tree" >/dev/null 2>&1
expect pass '... and passes once --write-doc has redrawn it'

# ---- usage ---------------------------------------------------------------------------
out=$(bash "$check" "$tmp/nowhere" 2>&1)
if [ $? -eq 2 ]; then ok "a missing root is a usage error (exit 2)"; else bad "missing root: want exit 2" "$out"; fi

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
