#!/usr/bin/python3
"""Choosing the store from the command line (issue #19, point 2), on a real
throw-away PostgreSQL cluster (run under tests/pg/with-cluster.sh, which sets
MESH_TEST_STORE to the cluster's admin URL and MESH_PG_DIR):

- `mesh store migrate --to postgresql://… --use`: every statement copied and
  verified, equal digests; the home then opens PostgreSQL and shows the same
  `log head`, `trust list`, names, notes and configuration;
- `mesh --store sqlite:PATH` (and $MESH_STORE) still open the old store;
- `mesh init --store URL` records it (store.url, 0600) and the home works on it;
- errors: a bad URL is a usage error naming it, a database that is not there
  fails naming it and changes nothing.

usage: test_pg_cli.py MESH
"""
import json
import os
import stat
import subprocess
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..",
                                "integration"))
from mtharness import Harness  # noqa: E402

h = Harness(sys.argv + ([sys.argv[1]] if len(sys.argv) == 2 else []))
admin = os.environ["MESH_TEST_STORE"]
pgdir = os.environ["MESH_PG_DIR"]
bindir = sorted(d for d in os.listdir("/usr/lib/postgresql"))[-1]
psql = "/usr/lib/postgresql/%s/bin/psql" % bindir


def out(r):
    return r.stdout.decode(errors="replace")


def err(r):
    return r.stderr.decode(errors="replace")


def createdb(name):
    subprocess.run([psql, admin, "-q", "-c", "CREATE DATABASE %s" % name], check=True,
                   stdout=subprocess.DEVNULL)
    return "postgresql://mesh@/%s?host=%s" % (name, pgdir)


def state(home, env=None):
    r, head = h.run_json(["log", "head", "--json"], home=home, env=env)
    r2, tl = h.run_json(["trust", "list", "--json"], home=home, env=env)
    r3, names = h.run_json(["name", "list", "--json"], home=home, env=env)
    r4 = h.run(["config", "get", "trust.maxDepth"], home=home, env=env)
    if tl:
        tl.pop("at", None)
    return head, tl, names, out(r4).strip()


def migrate():
    A, B = h.path("a"), h.path("b")
    ida, idb = h.init(A), h.init(B)
    for args in (["trust", "add", idb, "--level", "full", "--score", "0.8", "--note", "b!"],
                 ["name", "set", idb, "bee"], ["config", "set", "trust.maxDepth", "3"]):
        r = h.run(args, home=A)
        h.check("A: %s" % " ".join(args[:2]), r.returncode == 0, err(r))
    body = h.path("l.md")
    with open(body, "w") as f:
        f.write("stored in postgres\n")
    r = h.run(["lesson", "publish", "--topic", "pg", "--title", "Elephants", body], home=A)
    before = state(A)
    h.check("A's state read", before[0] and before[0]["statements"] >= 3, before)
    url = createdb("home_a")
    r = h.run(["store", "migrate", "--to", "ftp://nowhere"], home=A)
    h.check("migrate --to a bad URL: usage error naming it",
            r.returncode == 2 and "ftp://nowhere" in err(r), err(r))
    r, j = h.run_json(["store", "migrate", "--to", url, "--use", "--json"], home=A)
    h.check("store migrate --to postgresql --use",
            r.returncode == 0 and j and j["statements"] == before[0]["statements"] and
            j["digest"] == before[0]["digest"], out(r) + err(r))
    su = os.path.join(A, "store.url")
    h.check("store.url recorded, 0600", os.path.exists(su) and
            stat.S_IMODE(os.stat(su).st_mode) == 0o600)
    after = state(A)
    h.check("the home now opens PostgreSQL: same head, trust list, names, config",
            after == before, (before, after))
    r, j = h.run_json(["trust", "list", "--json"], home=A)
    h.check("the note travelled", j and j["results"][0]["note"] == "b!", out(r))
    r, j = h.run_json(["search", "elephants", "--json"], home=A)
    h.check("search works on PostgreSQL", r.returncode == 0 and len(j["results"]) == 1, out(r))
    # a new statement lands in PostgreSQL, not in the old trust.db
    r = h.run(["trust", "add", idb, "--level", "limited"], home=A)
    h.check("trust add on PostgreSQL", r.returncode == 0, err(r))
    r, pg = h.run_json(["log", "head", "--json"], home=A)
    old = "sqlite:" + os.path.join(A, "trust.db")
    r, sq = h.run_json(["log", "head", "--json"], home=A, global_opts=["--store", old])
    h.check("--store sqlite:PATH opens the old store (one statement behind)",
            pg["statements"] == sq["statements"] + 1 and sq["digest"] == before[0]["digest"],
            (pg, sq))
    r, sq2 = h.run_json(["log", "head", "--json"], home=A, env={"MESH_STORE": old})
    h.check("$MESH_STORE too", sq2 == sq, sq2)
    r = h.run(["log", "verify"], home=A)
    h.check("log verify on PostgreSQL", r.returncode == 0, out(r) + err(r))


def init_store():
    url = createdb("home_c")
    C = h.path("c")
    r = h.run(["init", "--store", url], home=C)
    h.check("mesh init --store URL", r.returncode == 0, err(r))
    with open(os.path.join(C, "store.url")) as f:
        h.check("store.url names it", f.read().strip() == url)
    r = h.run(["trust", "add", h.init(h.path("d")), "--level", "full"], home=C)
    h.check("the new home signs into PostgreSQL", r.returncode == 0, err(r))
    r, j = h.run_json(["log", "head", "--json"], home=C)
    h.check("two statements there (key, trust)", j and j["statements"] == 2, out(r))
    h.check("no trust.db was made", not os.path.exists(os.path.join(C, "trust.db")))
    E = h.path("e")
    r = h.run(["init", "--store", "ftp://x"], home=E)
    h.check("init --store with a bad URL: usage error, nothing created",
            r.returncode == 2 and not os.path.exists(E), err(r))
    missing = "postgresql://mesh@/no_such_db?host=%s" % pgdir
    r = h.run(["--store", missing, "log", "head"], home=C)
    h.check("a database that is not there fails, naming it",
            r.returncode == 1 and "no_such_db" in err(r), err(r))


h.guard("migrate", migrate)
h.guard("init_store", init_store)
h.finish()
