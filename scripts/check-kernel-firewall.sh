#!/usr/bin/env bash
# The kernel's layering firewall (SPEC §4): every file under the kernel
# directory may include only
#   - "file.h" naming a file that exists inside that directory, and
#   - <header.h> from the C standard library or POSIX (the allow-list below).
# Anything else — a trust, scope, graph or policy header, meshtrust/*.h,
# jansson, sqlite, sodium, a computed #include MACRO — is a violation.
#
# Usage: scripts/check-kernel-firewall.sh [DIR]     (default: src/kernel of this repository)
# Prints each violation as file:line: reason and exits 1; prints one OK line
# and exits 0 otherwise; exits 2 on a usage error.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
dir=${1:-"$here/../src/kernel"}
if [ $# -gt 1 ] || [ ! -d "$dir" ]; then
	echo "usage: $0 [DIR]   (DIR must be a directory; got '${1:-}')" >&2
	exit 2
fi
dir=$(cd "$dir" && pwd -P)

# C11 (ISO/IEC 9899:2011, 7.1.2) and POSIX.1-2017 headers.
allowed="
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
declare -A is_allowed=()
for h in $allowed; do
	is_allowed[$h]=1
done

violations=0
files=0
report() {
	echo "$1:$2: $3"
	violations=$((violations + 1))
}

while IFS= read -r -d '' file; do
	files=$((files + 1))
	rel=${file#"$dir"/}
	file_dir=$(dirname "$file")
	lineno=0
	while IFS= read -r line || [ -n "$line" ]; do
		lineno=$((lineno + 1))
		# A preprocessor line whose directive is include, include_next or import.
		[[ $line =~ ^[[:space:]]*#[[:space:]]*(include_next|include|import)(.*)$ ]] || continue
		directive=${BASH_REMATCH[1]}
		rest=${BASH_REMATCH[2]}
		if [ "$directive" != include ]; then
			report "$rel" "$lineno" "#$directive is not allowed in the kernel"
			continue
		fi
		if [[ $rest =~ ^[[:space:]]*\<([^>]*)\> ]]; then
			header=${BASH_REMATCH[1]}
			if [ -z "${is_allowed[$header]:-}" ]; then
				report "$rel" "$lineno" "<$header> is not a C standard or POSIX header"
			fi
		elif [[ $rest =~ ^[[:space:]]*\"([^\"]*)\" ]]; then
			header=${BASH_REMATCH[1]}
			target=$(realpath -m -- "$file_dir/$header")
			if [ ! -f "$target" ]; then
				report "$rel" "$lineno" "\"$header\" is not a file in $dir"
			elif [[ $target != "$dir"/* ]]; then
				report "$rel" "$lineno" "\"$header\" is outside $dir"
			fi
		else
			report "$rel" "$lineno" "unrecognised #include form:$rest"
		fi
	done <"$file"
done < <(find "$dir" -type f -print0 | sort -z)

if [ "$violations" -gt 0 ]; then
	echo "kernel firewall: $violations violation(s) in $dir" >&2
	exit 1
fi
if [ "$files" -eq 0 ]; then
	echo "kernel firewall: no files in $dir" >&2
	exit 1
fi
echo "kernel firewall OK: $files file(s) in $dir include only the C library, POSIX and each other"
