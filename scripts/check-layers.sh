#!/usr/bin/env bash
# The layer check: every #include in the tree against scripts/layers.map.
#
#   - a .c/.h file under a module's directory (src/<module>/, cli/, fuzz/) may
#     include the files beside it by name ("x.h"), the headers its own module
#     offers, the headers offered by the modules it uses (scripts/layers.map,
#     closed transitively; always lower layers), the C library and POSIX
#     headers, and the external libraries the map gives that module;
#   - a public header include/meshtrust/x.h is checked as a file of the module
#     that owns it (so it includes only lower public headers, the C library,
#     POSIX and that module's libraries);
#   - nothing includes another module's private header (by a path, or through
#     src/ on an include path), a .c file, a computed #include MACRO, or uses
#     #include_next / #import;
#   - the map itself is sound (uses point to lower layers, every public header
#     and every src/ directory has an owner), and docs/architecture.md holds the
#     map's current drawing.
# The kernel (layer 0, no uses, no libraries) therefore includes only the C
# library, POSIX and its own headers (what scripts/check-kernel-firewall.sh
# used to check).
#
# Usage: scripts/check-layers.sh [ROOT]               check the tree at ROOT (default: this repository)
#        scripts/check-layers.sh --draw [ROOT]        print the drawing of ROOT/scripts/layers.map
#        scripts/check-layers.sh --write-doc [ROOT]   put that drawing into ROOT/docs/architecture.md
# Prints each violation as file:line: reason and exits 1; prints one OK line
# and exits 0 otherwise; exits 2 on a usage error.
set -euo pipefail

usage() {
	echo "usage: $0 [--draw|--write-doc] [ROOT]   (ROOT: a meshtrust tree with scripts/layers.map)" >&2
	exit 2
}
draw=0
case "${1:-}" in
--draw) draw=1 && shift ;;
--write-doc) draw=2 && shift ;;
esac
[ $# -le 1 ] || usage
case "${1:-}" in -*) usage ;; esac
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=${1:-"$here/.."}
[ -d "$root" ] || usage
root=$(cd "$root" && pwd -P)
map="$root/scripts/layers.map"
if [ ! -f "$map" ]; then
	echo "$0: no scripts/layers.map in $root" >&2
	exit 2
fi

# C11 (ISO/IEC 9899:2011, 7.1.2) and POSIX.1-2017 headers: allowed everywhere.
posix="
assert.h complex.h ctype.h errno.h fenv.h float.h inttypes.h iso646.h limits.h locale.h math.h
setjmp.h signal.h stdalign.h stdarg.h stdatomic.h stdbool.h stddef.h stdint.h stdio.h stdlib.h
stdnoreturn.h string.h tgmath.h threads.h time.h uchar.h wchar.h wctype.h
aio.h arpa/inet.h cpio.h dirent.h dlfcn.h fcntl.h fmtmsg.h fnmatch.h ftw.h glob.h grp.h iconv.h
langinfo.h libgen.h monetary.h mqueue.h ndbm.h net/if.h netdb.h netinet/in.h netinet/tcp.h
nl_types.h poll.h pthread.h pwd.h regex.h sched.h search.h semaphore.h spawn.h strings.h
stropts.h sys/ipc.h sys/mman.h sys/msg.h sys/resource.h sys/select.h sys/sem.h sys/shm.h
sys/socket.h sys/stat.h sys/statvfs.h sys/time.h sys/times.h sys/types.h sys/uio.h sys/un.h
sys/utsname.h sys/wait.h syslog.h tar.h termios.h trace.h ulimit.h unistd.h utime.h utmpx.h
wordexp.h
"
declare -A is_posix=()
for h in $posix; do
	is_posix[$h]=1
done

violations=0
report() { # where reason
	echo "$1: $2"
	violations=$((violations + 1))
}

# ---- the map -----------------------------------------------------------------
declare -A lib_headers=() mod_layer=() mod_dir=() mod_offers=() mod_uses=() mod_libs=()
declare -A mod_desc=() mod_line=() offer_owner=() offer_file=() dir_owner=() closure=()
libs=()
mods=()
lineno=0
while IFS= read -r line || [ -n "$line" ]; do
	lineno=$((lineno + 1))
	line=${line%%#*}
	read -r -a f <<<"$line" || true
	[ ${#f[@]} -gt 0 ] || continue
	where="scripts/layers.map:$lineno"
	case ${f[0]} in
	lib)
		if [ ${#f[@]} -lt 4 ]; then
			report "$where" "expected: lib NAME CMAKE-TARGET HEADER..."
			continue
		fi
		libs+=("${f[1]}")
		lib_headers[${f[1]}]="${f[*]:3}"
		;;
	module)
		if [ ${#f[@]} -lt 7 ] || ! [[ ${f[2]} =~ ^[0-9]+$ ]]; then
			report "$where" "expected: module NAME LAYER DIR HEADERS USES LIBS DESCRIPTION..."
			continue
		fi
		m=${f[1]}
		if [ -n "${mod_layer[$m]:-}" ]; then
			report "$where" "module $m is already defined on line ${mod_line[$m]}"
			continue
		fi
		mods+=("$m")
		mod_line[$m]=$lineno
		mod_layer[$m]=${f[2]}
		mod_dir[$m]=${f[3]%/}
		mod_offers[$m]=${f[4]//,/ }
		mod_uses[$m]=${f[5]//,/ }
		mod_libs[$m]=${f[6]//,/ }
		mod_desc[$m]="${f[*]:7}"
		[ "${mod_offers[$m]}" != - ] || mod_offers[$m]=
		[ "${mod_uses[$m]}" != - ] || mod_uses[$m]=
		[ "${mod_libs[$m]}" != - ] || mod_libs[$m]=
		if [ -n "${dir_owner[${mod_dir[$m]}]:-}" ]; then
			report "$where" "${mod_dir[$m]} already belongs to ${dir_owner[${mod_dir[$m]}]}"
		fi
		dir_owner[${mod_dir[$m]}]=$m
		for h in ${mod_offers[$m]}; do
			if [ -n "${offer_owner[$h]:-}" ]; then
				report "$where" "$h is already offered by ${offer_owner[$h]}"
				continue
			fi
			offer_owner[$h]=$m
			case $h in
			meshtrust/*) offer_file[$h]="include/$h" ;;
			*) offer_file[$h]="${mod_dir[$m]}/$h" ;;
			esac
			[ -f "$root/${offer_file[$h]}" ] || report "$where" "$m offers $h but ${offer_file[$h]} does not exist"
		done
		;;
	*) report "$where" "unknown entry '${f[0]}' (lib or module)" ;;
	esac
done <"$map"

for m in "${mods[@]}"; do
	where="scripts/layers.map:${mod_line[$m]}"
	for u in ${mod_uses[$m]}; do
		if [ -z "${mod_layer[$u]:-}" ]; then
			report "$where" "$m uses $u, which is not a module"
		elif [ "${mod_layer[$u]}" -ge "${mod_layer[$m]}" ]; then
			report "$where" "$m (layer ${mod_layer[$m]}) uses $u (layer ${mod_layer[$u]}): uses must point to a lower layer"
		fi
	done
	for l in ${mod_libs[$m]}; do
		[ -n "${lib_headers[$l]:-}" ] || report "$where" "$m may use library $l, which has no lib line"
	done
	[ -d "$root/${mod_dir[$m]}" ] || report "$where" "$m's directory ${mod_dir[$m]} does not exist"
done

# The closure of uses: a module may include what it uses and what those use.
for m in "${mods[@]}"; do
	seen=" "
	todo="${mod_uses[$m]}"
	while [ -n "${todo// /}" ]; do
		read -r u todo <<<"$todo" || true
		[[ $seen == *" $u "* ]] && continue
		[ -n "${mod_layer[$u]:-}" ] || continue
		[ "${mod_layer[$u]}" -lt "${mod_layer[$m]}" ] || continue
		seen+="$u "
		todo+=" ${mod_uses[$u]}"
	done
	closure[$m]=$seen
done

# ---- the drawing ---------------------------------------------------------------
draw_map() {
	local top=0 m l i n w x row cell prev_cuts cuts width=60
	for m in "${mods[@]}"; do
		[ "${mod_layer[$m]}" -le "$top" ] || top=${mod_layer[$m]}
	done
	# A band per layer, its modules side by side; "+" where a band's cells meet.
	# cuts = the columns of a band's inner "|" separators.
	band_cuts() { # LAYER -> REPLY (space-separated columns), band_mods
		local lm=() c=0 k cw
		for m in "${mods[@]}"; do
			[ "${mod_layer[$m]}" -eq "$1" ] && lm+=("$m")
		done
		band_mods=("${lm[@]}")
		REPLY=" "
		cw=$(((width - ${#lm[@]} + 1) / ${#lm[@]}))
		for ((k = 1; k < ${#lm[@]}; k++)); do
			c=$((c + cw + 1))
			REPLY+="$c "
		done
	}
	border_line() { # CUTS...: a border with "+" at every cut
		local line="+" k
		for ((k = 1; k <= width; k++)); do
			if [[ " $* " == *" $k "* ]]; then line+="+"; else line+="-"; fi
		done
		echo "          $line+"
	}
	echo "meshtrust layers: scripts/layers.map, drawn by scripts/check-layers.sh --draw"
	echo "(a module includes only its own headers and those of lower modules it uses)"
	echo
	prev_cuts=
	for ((l = top; l >= 0; l--)); do
		band_cuts "$l"
		cuts=$REPLY
		[ ${#band_mods[@]} -gt 0 ] || continue
		border_line $prev_cuts $cuts
		row="|"
		n=${#band_mods[@]}
		w=$(((width - n + 1) / n))
		for ((i = 0; i < n; i++)); do
			x=$w
			[ $i -lt $((n - 1)) ] || x=$((width - (n - 1) * (w + 1)))
			printf -v cell ' %-*s|' $((x - 1)) "${band_mods[$i]}"
			row+=$cell
		done
		printf '  layer %-2d%s\n' "$l" "$row"
		prev_cuts=$cuts
	done
	border_line $prev_cuts
	echo
	printf '  %-10s %-5s %-40s %s\n' module layer "uses (directly; their uses come along)" "external libraries"
	printf '  %-10s %-5s %-40s %s\n' ---------- ----- ---------------------------------------- ------------------
	for ((l = top; l >= 0; l--)); do
		for m in "${mods[@]}"; do
			[ "${mod_layer[$m]}" -eq "$l" ] || continue
			printf '  %-10s %-5s %-40s %s\n' "$m" "$l" "${mod_uses[$m]:--}" "${mod_libs[$m]:--}"
		done
	done
	echo
	printf '  %-10s %-14s %-48s %s\n' module directory "what it is" "headers it offers"
	printf '  %-10s %-14s %-48s %s\n' ---------- -------------- ------------------------------------------------ -----------------
	for ((l = top; l >= 0; l--)); do
		for m in "${mods[@]}"; do
			[ "${mod_layer[$m]}" -eq "$l" ] || continue
			printf '  %-10s %-14s %-48s %s\n' "$m" "${mod_dir[$m]}/" "${mod_desc[$m]:--}" "${mod_offers[$m]:--}"
		done
	done
	echo
	echo "  Every file may also include the C library and POSIX headers."
}
doc="$root/docs/architecture.md"
begin='<!-- layers.map drawing: begin (scripts/check-layers.sh --draw) -->'
end='<!-- layers.map drawing: end -->'
if [ $draw -gt 0 ]; then
	if [ $violations -gt 0 ]; then
		echo "layers: scripts/layers.map has $violations error(s)" >&2
		exit 1
	fi
	if [ $draw -eq 1 ]; then
		draw_map
		exit 0
	fi
	if [ "$(grep -cxF -- "$begin" "$doc" 2>/dev/null)" != 1 ] || [ "$(grep -cxF -- "$end" "$doc")" != 1 ]; then
		echo "$0: docs/architecture.md needs one line '$begin' and one '$end'" >&2
		exit 1
	fi
	drawing=$(draw_map)
	awk -v b="$begin" -v e="$end" -v d="$drawing" '
		$0 == e { print "```"; print d; print "```"; on = 0 }
		!on { print }
		$0 == b { on = 1 }' "$doc" >"$doc.tmp" && mv "$doc.tmp" "$doc"
	echo "docs/architecture.md: drawing of scripts/layers.map written"
	exit 0
fi

# ---- ownership: every public header and every src/ directory is in the map ----
for h in "$root"/include/meshtrust/*.h; do
	[ -e "$h" ] || continue
	s="meshtrust/${h##*/}"
	[ -n "${offer_owner[$s]:-}" ] || report "include/$s" "no module in scripts/layers.map offers this public header"
done
for d in "$root"/src/*/; do
	[ -d "$d" ] || continue
	d=${d%/}
	d="src/${d##*/}"
	[ -n "${dir_owner[$d]:-}" ] || report "$d/" "no module in scripts/layers.map owns this directory"
done

# ---- the includes --------------------------------------------------------------
# (The helpers answer in REPLY: no subshell per #include line.)
# Which module's directory holds path $1 (relative to root)? REPLY = it or "".
owner_of_path() {
	local p=$1 d
	REPLY=
	for d in "${!dir_owner[@]}"; do
		if [[ $p == "$d"/* ]]; then
			REPLY=${dir_owner[$d]}
			return
		fi
	done
}

# May module $1 include a header of module $2? REPLY = "" or the reason why not.
why_not_use() {
	local me=$1 o=$2
	REPLY=
	[ "$o" = "$me" ] && return
	[[ ${closure[$me]} == *" $o "* ]] && return
	if [ "${mod_layer[$o]}" -gt "${mod_layer[$me]}" ]; then
		REPLY="it is $o's (layer ${mod_layer[$o]}), above $me (layer ${mod_layer[$me]}): an upward include"
	elif [ "${mod_layer[$o]}" -eq "${mod_layer[$me]}" ]; then
		REPLY="it is $o's, and $o and $me share layer ${mod_layer[$o]}: modules of one layer do not include each other"
	else
		REPLY="it is $o's (layer ${mod_layer[$o]}), and $me does not use $o (scripts/layers.map: $me uses ${mod_uses[$me]:-nothing})"
	fi
}

# Which library provides header $1? REPLY = its name or "".
lib_of() {
	local h=$1 l p
	REPLY=
	for l in "${libs[@]}"; do
		for p in ${lib_headers[$l]}; do
			# shellcheck disable=SC2053  # $p is a glob on purpose (curl/*)
			if [[ $h == $p ]]; then
				REPLY=$l
				return
			fi
		done
	done
}

# check_lib MODULE SPELLING LIB WHERE
check_lib() {
	[[ " ${mod_libs[$1]} " == *" $3 "* ]] && return
	local m users=
	for m in "${mods[@]}"; do
		[[ " ${mod_libs[$m]} " == *" $3 "* ]] && users+=" $m"
	done
	report "$4" "$2 is library $3, which $1 may not include (scripts/layers.map gives it to:${users:- nobody})"
}

# check_offer MODULE SPELLING OFFERED-NAME WHERE
check_offer() {
	why_not_use "$1" "${offer_owner[$3]}"
	[ -z "$REPLY" ] || report "$4" "$2: $REPLY"
}

# check_line MODULE RELPATH LINENO TEXT: one #include line of a file of MODULE.
check_line() {
	local me=$1 rel=$2 n=$3 line=$4 file="$root/$2" mydir
	mydir="$root/${mod_dir[$me]}"
	case $rel in include/*) mydir="$root/include/meshtrust" ;; esac
	local directive rest h where="$rel:$n" target trel o l
	[[ $line =~ ^[[:space:]]*#[[:space:]]*(include_next|include|import)(.*)$ ]] || return 0
	directive=${BASH_REMATCH[1]}
	rest=${BASH_REMATCH[2]}
	if [ "$directive" != include ]; then
		report "$where" "#$directive is not allowed"
		return 0
	fi
	if [[ $rest =~ ^[[:space:]]*\<([^>]*)\> ]]; then
		h=${BASH_REMATCH[1]}
		if [[ $h == meshtrust/* ]]; then
			if [ -n "${offer_owner[$h]:-}" ]; then
				check_offer "$me" "<$h>" "$h" "$where"
			else
				report "$where" "<$h> is not a public header offered in scripts/layers.map"
			fi
		elif [ -n "${is_posix[$h]:-}" ]; then
			:
		else
			lib_of "$h"
			l=$REPLY
			if [ -n "$l" ]; then
				check_lib "$me" "<$h>" "$l" "$where"
			else
				report "$where" "<$h> is neither a C standard or POSIX header nor in a library of scripts/layers.map"
			fi
		fi
		return 0
	fi
	if ! [[ $rest =~ ^[[:space:]]*\"([^\"]*)\" ]]; then
		report "$where" "unrecognised #include form:$rest"
		return 0
	fi
	h=${BASH_REMATCH[1]}
	if [[ $h == *.c ]]; then
		report "$where" "\"$h\" is a .c file: build it into a library and include its header"
		return 0
	fi
	target=
	if [ -e "${file%/*}/$h" ]; then
		if [[ $h != */* ]] && [ ! -L "${file%/*}/$h" ]; then
			target="${file%/*}/$h" # a plain file beside it: nothing to resolve
		else
			target=$(realpath -m -- "${file%/*}/$h")
		fi
	fi
	if [ -n "$target" ] && [ -f "$target" ]; then
		if [[ $target == "$root/include/meshtrust/"* ]]; then
			trel="meshtrust/${target#"$root/include/meshtrust/"}"
			if [ -n "${offer_owner[$trel]:-}" ]; then
				check_offer "$me" "\"$h\"" "$trel" "$where"
			else
				report "$where" "\"$h\" is not a public header offered in scripts/layers.map"
			fi
		elif [[ $target == "$mydir"/* ]]; then
			: # a file beside it: its own module's
		else
			trel=${target#"$root/"}
			owner_of_path "$trel"
			o=$REPLY
			if [ -z "$o" ] || [[ $target != "$root"/* ]]; then
				report "$where" "\"$h\" is outside ${mod_dir[$me]}/ and belongs to no module"
			elif [ -n "${offer_owner[${trel#"${mod_dir[$o]}/"}]:-}" ] && [[ $o != "$me" ]]; then
				check_offer "$me" "\"$h\"" "${trel#"${mod_dir[$o]}/"}" "$where"
			else
				report "$where" "\"$h\" is a private header of $o ($trel): only $o may include it"
			fi
		fi
		return 0
	fi
	if [[ $h == meshtrust/* ]]; then
		if [ -n "${offer_owner[$h]:-}" ]; then
			check_offer "$me" "\"$h\"" "$h" "$where"
		elif [ -f "$root/include/$h" ]; then
			report "$where" "\"$h\" is not a public header offered in scripts/layers.map"
		else
			report "$where" "\"$h\" is not a file: there is no include/$h"
		fi
		return 0
	fi
	if [ -n "${offer_owner[$h]:-}" ]; then
		check_offer "$me" "\"$h\"" "$h" "$where"
		return 0
	fi
	lib_of "$h"
	l=$REPLY
	if [ -n "$l" ]; then
		check_lib "$me" "\"$h\"" "$l" "$where"
		return 0
	fi
	# A private header reached through src/ (or the root) on an include path?
	o=
	for trel in "src/$h" "$h" "${mod_dirs[@]/%//$h}"; do
		if [ -f "$root/$trel" ]; then
			owner_of_path "$trel"
			o=$REPLY
			[ -n "$o" ] && break
		fi
	done
	if [ -z "$o" ]; then
		report "$where" "\"$h\" is not a file in ${mod_dir[$me]}/ nor a header offered in scripts/layers.map"
	elif [ "$o" = "$me" ]; then
		report "$where" "\"$h\" reaches $me's own header $trel through an include path: include it by its name beside the file"
	else
		report "$where" "\"$h\" is a private header of $o ($trel): only $o may include it"
	fi
}

# Every file to check, with its module; then one grep over all of them.
declare -A file_mod=() file_count=()
paths=()
mod_dirs=()
for m in "${mods[@]}"; do
	[ -d "$root/${mod_dir[$m]}" ] && mod_dirs+=("${mod_dir[$m]}")
done
while IFS= read -r -d '' file; do
	rel=${file#"$root/"}
	owner_of_path "$rel"
	[ -n "$REPLY" ] || continue
	file_mod[$rel]=$REPLY
	file_count[$REPLY]=$((${file_count[$REPLY]:-0} + 1))
	paths+=("$file")
done < <(find "${mod_dirs[@]/#/$root/}" -type f \( -name '*.c' -o -name '*.h' \) -print0 | sort -z)
for m in "${mods[@]}"; do
	[ -d "$root/${mod_dir[$m]}" ] || continue
	[ "${file_count[$m]:-0}" -gt 0 ] || report "${mod_dir[$m]}/" "module $m has no .c or .h file"
	for h in ${mod_offers[$m]}; do
		case $h in meshtrust/*) if [ -f "$root/include/$h" ]; then
			file_mod[include/$h]=$m
			paths+=("$root/include/$h")
		fi ;; esac
	done
done
files=${#paths[@]}
if [ "$files" -gt 0 ]; then
	while IFS= read -r hit; do
		file=${hit%%:*}
		hit=${hit#*:}
		rel=${file#"$root/"}
		check_line "${file_mod[$rel]}" "$rel" "${hit%%:*}" "${hit#*:}"
	done < <(grep -HnE '^[[:space:]]*#[[:space:]]*(include_next|include|import)' -- "${paths[@]}" || true)
fi

# ---- the drawing in docs/architecture.md ------------------------------------------
if [ ! -f "$doc" ]; then
	report "docs/architecture.md" "missing (it holds the drawing of scripts/layers.map)"
else
	want=$(printf '```\n%s\n```' "$(draw_map)")
	have=$(awk -v b="$begin" -v e="$end" '$0 == e { on = 0 } on { print } $0 == b { on = 1 }' "$doc")
	if [ "$have" != "$want" ]; then
		at=$(grep -nF -- "$begin" "$doc" | head -1 | cut -d: -f1)
		report "docs/architecture.md:${at:-1}" "the layer drawing differs from scripts/layers.map: run scripts/check-layers.sh --write-doc"
	fi
fi

if [ "$violations" -gt 0 ]; then
	echo "layers: $violations violation(s) of scripts/layers.map in $root" >&2
	exit 1
fi
echo "layers OK: $files file(s) in ${#mods[@]} modules include only what scripts/layers.map allows"
