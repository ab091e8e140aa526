"""Tiny shared harness for the `mesh` integration tests (stdlib only).

Every script: h = Harness(sys.argv); ...checks...; h.finish()
finish() prints exactly "N passed, N failed" and exits 1 on any failure.
"""
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import traceback

DEFAULT_TIMEOUT = 60


def blake2b256(data):
    return hashlib.blake2b(data, digest_size=32).digest()


def stmt_id(line):
    """Statement id (hex) of one canonical NDJSON line (bytes, no newline)."""
    return blake2b256(line).hex()


def digest_of_ids(hex_ids):
    """SPEC §2 state digest over a set of hex ids."""
    raw = sorted(bytes.fromhex(i) for i in set(hex_ids))
    return blake2b256(b"".join(raw)).hex()


class Harness:
    def __init__(self, argv):
        if len(argv) < 3:
            print("usage: %s MESH_BINARY BENCH_INGEST_BINARY" % argv[0], file=sys.stderr)
            sys.exit(2)
        self.mesh = os.path.abspath(argv[1])
        self.bench = os.path.abspath(argv[2])
        self.passed = 0
        self.failed = 0
        self.tmp = tempfile.mkdtemp(prefix="mesh-integ-")
        # Never touch the real ~/.mesh: HOME points into the temp dir and
        # MESH_HOME / MESH_PASSPHRASE_FILE are unset unless a test sets them.
        self.env = dict(os.environ)
        for k in ("MESH_HOME", "MESH_PASSPHRASE_FILE", "MESH_NOW"):
            self.env.pop(k, None)
        self.env["HOME"] = self.tmp
        self.env["LC_ALL"] = "C"

    # ---- reporting -------------------------------------------------------
    def check(self, name, cond, detail=""):
        if cond:
            self.passed += 1
            print("ok   %s" % name)
        else:
            self.failed += 1
            print("FAIL %s%s" % (name, (": " + str(detail)) if detail else ""))
        sys.stdout.flush()
        return bool(cond)

    def guard(self, name, fn):
        """Run one test group; an exception counts as a failure, not a crash."""
        try:
            fn()
        except Exception as e:  # noqa: BLE001 - any error is a failed check
            self.check(name + " (raised)", False, "%s: %s" % (type(e).__name__, e))
            traceback.print_exc(file=sys.stdout)

    def finish(self):
        shutil.rmtree(self.tmp, ignore_errors=True)
        print("%d passed, %d failed" % (self.passed, self.failed))
        sys.stdout.flush()
        sys.exit(1 if self.failed or not self.passed else 0)

    # ---- helpers -----------------------------------------------------------
    def path(self, *parts):
        return os.path.join(self.tmp, *parts)

    def run(self, args, home=None, stdin=None, timeout=DEFAULT_TIMEOUT, env=None, global_opts=()):
        """Run mesh; returns CompletedProcess with bytes stdout/stderr."""
        cmd = [self.mesh]
        if home is not None:
            cmd += ["--home", home]
        cmd += list(global_opts) + list(args)
        e = dict(self.env)
        if env:
            e.update(env)
        return subprocess.run(cmd, input=stdin, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              timeout=timeout, env=e)

    def run_json(self, args, home=None, **kw):
        r = self.run(args, home=home, **kw)
        try:
            return r, json.loads(r.stdout.decode())
        except ValueError:
            return r, None

    def gen(self, n, path, issuers=None, timeout=120):
        cmd = [self.bench, "gen", str(n), path]
        if issuers is not None:
            cmd.append(str(issuers))
        r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=timeout,
                           env=self.env)
        if r.returncode != 0:
            raise RuntimeError("bench_ingest gen failed: %s" % r.stderr.decode(errors="replace"))
        with open(path, "rb") as f:
            return [l for l in f.read().split(b"\n") if l]

    def init(self, home, extra=(), env=None, legacy=False):
        """mesh init. `legacy`: then remove next.key, making an identity without
        a key commitment (as before SPEC §9.2): its first statement is seq 1
        instead of following the `key` statement, for tests that count a feed
        statement by statement (test_key_cli.py covers next.key)."""
        extra = list(extra)
        pg_admin = os.environ.get("MESH_INTEG_PG_ADMIN")
        if pg_admin and not any(x == "--store" for x in extra):
            # the suite on PostgreSQL (tests/pg/run-integ.sh): each home gets
            # a database of its own on the throw-away cluster
            extra += ["--store", self.pg_database(pg_admin)]
        r = self.run(["init"] + extra, home=home, env=env)
        if r.returncode != 0:
            raise RuntimeError("mesh init failed: %s" % r.stderr.decode(errors="replace"))
        if legacy:
            nk = os.path.join(home, "next.key")
            if os.path.exists(nk):
                os.unlink(nk)
        return self.node_id(home)

    def pg_database(self, admin):
        """A new empty database on the cluster of `admin` (a postgresql:// URL
        whose database is postgres): its URL."""
        self._pg_dbs = getattr(self, "_pg_dbs", 0) + 1
        name = "h%d_%d" % (os.getpid(), self._pg_dbs)
        psql = os.environ.get("MESH_INTEG_PSQL", "psql")
        r = subprocess.run([psql, admin, "-q", "-c", "CREATE DATABASE %s" % name],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
        if r.returncode != 0:
            raise RuntimeError("CREATE DATABASE %s: %s" % (name, r.stderr.decode(errors="replace")))
        return admin.replace("/postgres?", "/%s?" % name, 1)

    def node_id(self, home):
        r, j = self.run_json(["id", "--json"], home=home)
        if r.returncode != 0 or not j:
            raise RuntimeError("mesh id failed: %s" % r.stderr.decode(errors="replace"))
        return j["node_id"]

    def head(self, home):
        """(digest, statement count) from `mesh log head --json`."""
        r, j = self.run_json(["log", "head", "--json"], home=home)
        if r.returncode != 0 or not j:
            raise RuntimeError("mesh log head failed: %s" % r.stderr.decode(errors="replace"))
        return j["digest"], j["statements"]

    def export_lines(self, home, iss=None):
        args = ["log", "export"] + (["--iss", iss] if iss else [])
        r = self.run(args, home=home)
        if r.returncode != 0:
            raise RuntimeError("mesh log export failed: %s" % r.stderr.decode(errors="replace"))
        return r, [l for l in r.stdout.split(b"\n") if l]

    def export_ids(self, home, iss=None):
        return set(stmt_id(l) for l in self.export_lines(home, iss)[1])


def now():
    return time.monotonic()
