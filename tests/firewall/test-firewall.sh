#!/usr/bin/env bash
# Shows that scripts/check-kernel-firewall.sh passes the real kernel and
# catches planted violations in a copy of it. Prints "N passed, N failed";
# exits non-zero when any expectation fails.
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
check="$root/scripts/check-kernel-firewall.sh"
passed=0
failed=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# expect <pass|fail> <description> <dir> [output substring]
expect() {
	local want=$1 what=$2 dir=$3 needle=${4:-}
	local out rc
	out=$(bash "$check" "$dir" 2>&1)
	rc=$?
	local ok=1
	if [ "$want" = pass ] && [ $rc -ne 0 ]; then ok=0; fi
	if [ "$want" = fail ] && [ $rc -ne 1 ]; then ok=0; fi
	if [ -n "$needle" ] && [[ $out != *"$needle"* ]]; then ok=0; fi
	if [ $ok -eq 1 ]; then
		passed=$((passed + 1))
		echo "ok: $what"
	else
		failed=$((failed + 1))
		echo "FAILED: $what (want $want${needle:+ with '$needle'}, exit $rc)"
		echo "$out" | sed 's/^/    /'
	fi
}

# A fresh copy of the kernel, one planted line appended to its header.
plant() {
	rm -rf "$tmp/kernel"
	cp -R "$root/src/kernel" "$tmp/kernel"
	printf '%s\n' "$1" >>"$tmp/kernel/mt_kernel.h"
}
lines=$(wc -l <"$root/src/kernel/mt_kernel.h")
planted_at="mt_kernel.h:$((lines + 1)):"

expect pass "the real tree passes" "$root/src/kernel" "kernel firewall OK"
out=$(cd "$root" && bash scripts/check-kernel-firewall.sh 2>&1)
if [ $? -eq 0 ] && [[ $out == *"kernel firewall OK"* ]]; then
	passed=$((passed + 1)); echo "ok: the default directory is src/kernel and passes"
else
	failed=$((failed + 1)); echo "FAILED: default directory run: $out"
fi

plant ""
expect pass "an untouched copy passes" "$tmp/kernel" "kernel firewall OK"

plant '#include "meshtrust/trust.h"'
expect fail 'a planted #include "meshtrust/trust.h" is caught' "$tmp/kernel" "$planted_at"
expect fail '... and named in the report' "$tmp/kernel" '"meshtrust/trust.h" is not a file'

plant '#include <meshtrust/policy.h>'
expect fail 'a planted #include <meshtrust/policy.h> is caught' "$tmp/kernel" \
	"$planted_at <meshtrust/policy.h> is not a C standard or POSIX header"

mkdir -p "$tmp/policy" && echo '/* x */' >"$tmp/policy/x.h"
plant '#include "../policy/x.h"'
expect fail 'a planted #include "../policy/x.h" (an existing file) is caught' "$tmp/kernel" \
	"$planted_at \"../policy/x.h\" is outside"

for h in '<jansson.h>' '<sqlite3.h>' '<sodium.h>' '<igraph/igraph.h>'; do
	plant "#include $h"
	expect fail "a planted #include $h is caught" "$tmp/kernel" "$planted_at"
done

plant '  #  include   "meshtrust/graph.h"   /* spaced out */'
expect fail 'an indented, spaced-out include is caught' "$tmp/kernel" "$planted_at"

plant '#include TRUST_HEADER'
expect fail 'a computed #include MACRO is caught' "$tmp/kernel" "unrecognised #include form"

plant '#include_next <stdio.h>'
expect fail '#include_next is caught' "$tmp/kernel" "#include_next is not allowed"

plant '#include "kernel.c"'
expect pass 'an include of a file inside the kernel passes' "$tmp/kernel"

plant '#include <sys/types.h>'
expect pass 'a POSIX header passes' "$tmp/kernel"

rm -rf "$tmp/kernel" && cp -R "$root/src/kernel" "$tmp/kernel"
printf '#include "mt_kernel.h"\n#include <stdio.h>\n#include "meshtrust/scope.h"\n' >"$tmp/kernel/extra.c"
expect fail 'a violation in a new .c file is caught with its line' "$tmp/kernel" \
	'extra.c:3: "meshtrust/scope.h" is not a file'

ln -s "$root/include/meshtrust/error.h" "$tmp/kernel/error.h"
printf '#include "error.h"\n' >"$tmp/kernel/extra.c"
expect fail 'a symlink leading out of the kernel is caught' "$tmp/kernel" \
	'extra.c:1: "error.h" is outside'

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
