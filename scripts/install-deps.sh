#!/usr/bin/env bash
# Install the Debian packages meshtrust needs (idempotent; root or sudo).
set -euo pipefail
PKGS=(build-essential cmake ninja-build pkg-config git
      libsodium-dev libsqlite3-dev sqlite3 libjansson-dev libcmocka-dev
      libmicrohttpd-dev libcurl4-openssl-dev zlib1g-dev libigraph-dev
      python3 python3-networkx python3-igraph valgrind clang libclang-rt-14-dev wrk gnuplot-nox)
# The PostgreSQL store backend (libpq) and the server its tests start (tests/pg).
PKGS+=(libpq-dev postgresql)
# The man pages (man/*.scd) and their render check (tests/install).
PKGS+=(scdoc groff-base man-db)
# The shell completions' checks (tests/integration/test_completion.py): zsh -n,
# fish -n and fish's complete -C (bash is always there).
PKGS+=(zsh fish)
# The Debian package and its test (debian/, tests/deb/run.sh): dpkg-buildpackage
# with debhelper, lintian; promtool (Debian's prometheus) checks
# contrib/prometheus and a live node's /metrics (tests/install/test_prometheus.py).
PKGS+=(debhelper dpkg-dev fakeroot lintian prometheus)
# The dashboard's browser test: Debian's chromium; node/npm only when the
# machine has none (a newer Node.js already installed is kept).
PKGS+=(chromium)
command -v node >/dev/null 2>&1 || PKGS+=(nodejs)
command -v npm >/dev/null 2>&1 || PKGS+=(npm)
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
echo "installing: ${missing[*]}" >&2
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
