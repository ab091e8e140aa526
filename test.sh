#!/usr/bin/env bash
# One command: install what is missing, build, run every test (CTest), then
# the unit tests again under ASan+UBSan and under valgrind.
set -euo pipefail
cd "$(dirname "$0")"
./scripts/install-deps.sh
jobs=$(nproc)
# -O3 as the README's run.sh and bench/run build (Release), with -g for valgrind:
# a warning only the optimiser finds fails here, not on a user's machine
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_C_FLAGS_RELWITHDEBINFO="-O3 -g -DNDEBUG" >/dev/null
cmake --build build -j"$jobs"
./scripts/check-layers.sh
# the PostgreSQL suite (label pg) must run, not skip: install-deps brings the server.
# The integration label runs once: against the installed /usr/bin/mesh in the
# Debian step below, except the tests named in tests/deb/not-installed.txt,
# which run here against this build's mesh.
keep="^($(grep -v '^#' tests/deb/not-installed.txt | paste -sd'|'))\$"
deb_run=$(cd build && ctest -N -L integration | sed -n 's/^ *Test *#[0-9]*: //p' | grep -vE "$keep" | paste -sd'|')
(cd build && MESH_PG_REQUIRED=1 ctest --output-on-failure -j"$jobs" ${deb_run:+-E "^($deb_run)\$"})

echo "[$SECONDS s] == Debian package: build, lintian, install, the integration suite against /usr/bin/mesh, purge"
tests/deb/run.sh

echo "[$SECONDS s] == unit tests under ASan+UBSan"
cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=Debug -DMT_SANITIZE=ON -DMT_BENCH=OFF >/dev/null
cmake --build build-asan -j"$jobs"
(cd build-asan && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
   ctest --output-on-failure -j"$jobs" -L unit)

echo "[$SECONDS s] == unit tests under valgrind"
/usr/bin/python3 scripts/valgrind-tests.py build unit

echo "[$SECONDS s] == fuzz targets, ${FUZZ_SECONDS:-20} s each under ASan+UBSan"
fuzz/run "${FUZZ_SECONDS:-20}"

echo "[$SECONDS s] == dashboard end-to-end: a real node, headless chromium, playwright-core"
(cd web-src && npm install --no-audit --no-fund --ignore-scripts --loglevel=error)  # honours package-lock.json
node web-src/tests/e2e.mjs build/mesh ../shared/data build/e2e-artifacts
