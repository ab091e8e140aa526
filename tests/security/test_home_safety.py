#!/usr/bin/python3
"""The home keeps its boundaries (SPEC §9.4, issue #14).

- A home that its group or everyone may write to (0777, 0770) is refused by
  `node start` and by every other command, with an error naming the path and
  the fix (`chmod 700 DIR`), exit 1, and nothing in it changes; 0700 and 0750
  are used. Run as root, a home owned by another user is refused too, and so
  is a symbolic link to a home that another user owns.
- identity.key readable by its group is refused (naming `chmod 600`).
- A command run on a home that does not exist fails with "no meshtrust home
  at …: run `mesh init`" and creates nothing (for every command family); only
  `mesh init` creates it. --help needs no home.
- A FIFO, a symbolic link or a directory in place of identity.key, and a FIFO
  in place of policy.toml, are refused at once (each run is bounded by a
  timeout, so a hang fails the test instead of blocking it).

usage: test_home_safety.py MESH BENCH_INGEST
"""
import os
import stat
import subprocess
import sys
import time

sys.dont_write_bytecode = True  # keep the source tree clean
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "integration"))
from mtharness import Harness  # noqa: E402
from nodeutil import Node, stop_all  # noqa: E402

h = Harness(sys.argv)
OTHER = "12D3KooWGkuRW7yst9fr1KppdciUiJTGRMgtZSA7AvDuAsF2UfuU"  # a valid id, nobody's key here
BOUND = 8  # seconds: a refusal is immediate; more than this is a hang


def run(args, home=None, **kw):
    """mesh with a deadline: (CompletedProcess or None when it hung, seconds)."""
    t0 = time.monotonic()
    try:
        r = h.run(args, home=home, timeout=BOUND, **kw)
    except subprocess.TimeoutExpired:
        r = None
    return r, time.monotonic() - t0


def err(r):
    return r.stderr.decode(errors="replace") if r else "(hung: killed after %d s)" % BOUND


def snapshot(home):
    """Every name under home with its mode, size and mtime (what "unchanged" means)."""
    out = {}
    for dirpath, dirnames, filenames in os.walk(home):
        for n in dirnames + filenames:
            p = os.path.join(dirpath, n)
            st = os.lstat(p)
            out[os.path.relpath(p, home)] = (st.st_mode, st.st_size, st.st_mtime_ns)
    st = os.lstat(home)
    out["."] = (st.st_mode, st.st_mtime_ns)
    return out


# Commands of every family that open a home; each would read or write it.
def commands(tmpfile):
    empty = tmpfile + ".ndjson"
    open(empty, "wb").close()
    return [
        ["id"], ["id", "--json"], ["trust", "list"], ["trust", "path", OTHER],
        ["trust", "add", OTHER, "--level", "full"], ["trust", "export"],
        ["log", "head"], ["log", "show"], ["log", "verify"], ["log", "export"],
        ["log", "import", empty], ["search", "anything"], ["metrics"],
        ["node", "start", "--listen", "127.0.0.1:0", "--sync-interval", "0"],
        ["peer", "list"], ["peer", "add", "http://127.0.0.1:9"], ["sync"],
        ["config", "get", "trust.maxDepth"], ["config", "set", "trust.maxDepth", "3"],
        ["config", "list"], ["lesson", "list"], ["policy", "show"],
        ["policy", "eval", "--peer", OTHER], ["community", "list"], ["pot", "status"],
        ["bridge", "list"], ["graph", "export", "--format", "json"],
        ["graph", "import-edgelist", tmpfile, "--format", "snap"], ["store", "rebuild"],
        ["refer", OTHER, "--note", "x"],
    ]


def refused(name, r, secs, must):
    e = err(r)
    h.check(name + ": exits 1 at once", r is not None and r.returncode == 1 and secs < BOUND,
            "%s rc=%s %.1fs" % (e.strip()[:200], r and r.returncode, secs))
    for frag in must:
        h.check(name + ": message says %r" % frag, frag in e, e.strip()[:300])


def test_writable_home():
    edges = h.path("edges.txt")
    with open(edges, "w") as f:
        f.write("1 2\n")
    for mode in (0o777, 0o770, 0o702):
        home = h.path("open%o" % mode)
        h.init(home)
        # something in the store, so that a write would show
        assert h.run(["trust", "add", OTHER, "--level", "limited"], home=home).returncode == 0
        os.chmod(home, mode)
        before = snapshot(home)
        cmds = commands(edges) if mode == 0o777 else [
            ["node", "start", "--listen", "127.0.0.1:0"], ["id"], ["trust", "list"],
            ["lesson", "publish", "--topic", "t", "--title", "x", edges]]
        for args in cmds:
            r, secs = run(args, home=home)
            refused("home %o: %s" % (mode, " ".join(args[:2])), r, secs,
                    [home, "writable", "chmod 700 " + home])
        h.check("home %o: nothing in it changed (no api.cookie, no store write)" % mode,
                snapshot(home) == before, sorted(set(snapshot(home).items()) ^ set(before.items())))
        h.check("home %o: no api.cookie" % mode,
                not os.path.exists(os.path.join(home, "api.cookie")))
        os.chmod(home, 0o700)
        r, _ = run(["trust", "list"], home=home)
        h.check("home %o, after chmod 700: works again" % mode, r and r.returncode == 0, err(r))
    # group- or world-readable but not writable: used
    home = h.path("readable")
    h.init(home)
    os.chmod(home, 0o755)
    r, _ = run(["id"], home=home)
    h.check("home 0755 (readable, not writable): used", r and r.returncode == 0, err(r))


def test_node_refuses_open_home():
    """The node itself: a 0777 home does not serve, and a 0700 one does."""
    home = h.path("nodehome")
    h.init(home)
    os.chmod(home, 0o777)
    n = Node(h, home, "open-node")
    try:
        n.start(timeout=BOUND)
        started = True
    except RuntimeError:
        started = False
    finally:
        stop_all([n])
    h.check("node start on a 0777 home does not serve", not started)
    os.chmod(home, 0o700)
    n = Node(h, home, "closed-node")
    try:
        n.start(timeout=15)
        h.check("node start on the same home at 0700 serves", n.url is not None)
    finally:
        stop_all([n])


def test_owner():
    if os.geteuid() != 0:
        h.check("(not root: other owners not tried)", True)
        return
    home = h.path("theirs")
    h.init(home)
    os.chown(home, 4242, 4242)
    r, secs = run(["trust", "list"], home=home)
    refused("home owned by uid 4242", r, secs, [home, "owned by uid 4242"])
    os.chown(home, 0, 0)
    # a link to a home, made by someone else: not followed
    real = h.path("realhome")
    h.init(real)
    link = h.path("link-home")
    os.symlink(real, link)
    os.lchown(link, 4242, 4242)
    r, secs = run(["id"], home=link)
    refused("symbolic link owned by uid 4242", r, secs, [link, "symbolic link"])
    own = h.path("my-link")
    os.symlink(real, own)
    r, _ = run(["id"], home=own)
    h.check("a symbolic link of my own to my home is followed", r and r.returncode == 0, err(r))


def test_key_modes():
    home = h.path("keymodes")
    h.init(home)
    key = os.path.join(home, "identity.key")
    for mode in (0o640, 0o604):
        os.chmod(key, mode)
        for args in (["id"], ["trust", "add", OTHER, "--level", "full"],
                     ["node", "start", "--listen", "127.0.0.1:0"]):
            r, secs = run(args, home=home)
            refused("identity.key %o: %s" % (mode, " ".join(args[:2])), r, secs,
                    [key, "chmod 600 " + key])
    os.chmod(key, 0o600)
    r, _ = run(["id"], home=home)
    h.check("identity.key 0600: used", r and r.returncode == 0, err(r))


def test_missing_home():
    edges = h.path("edges2.txt")
    with open(edges, "w") as f:
        f.write("1 2\n")
    parent = h.path("x")
    os.mkdir(parent, 0o700)
    home = os.path.join(parent, "nohome")
    for args in commands(edges) + [["lesson", "publish", "--topic", "t", "--title", "x", edges],
                                   ["pot", "reveal", "0" * 64]]:
        r, secs = run(args, home=home)
        refused("no home: %s" % " ".join(args[:2]), r, secs,
                ["no meshtrust home at " + home, "mesh init"])
        h.check("no home: %s: nothing created" % " ".join(args[:2]),
                not os.path.lexists(home) and os.listdir(parent) == [], os.listdir(parent))
    # the same through $MESH_HOME, and with a missing parent
    r, secs = run(["trust", "list"], env={"MESH_HOME": home})
    refused("no home ($MESH_HOME)", r, secs, ["no meshtrust home at " + home])
    deep = os.path.join(parent, "a", "b")
    r, secs = run(["log", "head"], home=deep)
    refused("no home, no parent", r, secs, ["no meshtrust home at " + deep])
    h.check("no home, no parent: nothing created", os.listdir(parent) == [], os.listdir(parent))
    # help needs no home
    for args in (["trust", "list", "--help"], ["node", "start", "--help"], ["log", "--help"]):
        r, _ = run(args, home=home)
        h.check("no home: %s exits 0" % " ".join(args), r and r.returncode == 0, err(r))
    h.check("no home: help created nothing", os.listdir(parent) == [], os.listdir(parent))
    # only init creates it
    r, _ = run(["init"], home=home)
    h.check("mesh init creates the home 0700", r and r.returncode == 0 and os.path.isdir(home)
            and stat.S_IMODE(os.stat(home).st_mode) == 0o700, err(r))
    r, _ = run(["trust", "list"], home=home)
    h.check("after init: trust list works", r and r.returncode == 0, err(r))


def test_not_a_file():
    # a FIFO where identity.key belongs: every reader of the key refuses at once
    home = h.path("fifo")
    h.init(home)
    key = os.path.join(home, "identity.key")
    os.rename(key, key + ".real")
    os.mkfifo(key, 0o600)
    for args in (["id"], ["id", "--json"], ["trust", "list"],
                 ["trust", "add", OTHER, "--level", "full"],
                 ["node", "start", "--listen", "127.0.0.1:0"],
                 ["node", "request", "GET", "http://127.0.0.1:9/v1/id"]):
        r, secs = run(args, home=home)
        refused("FIFO identity.key: %s" % " ".join(args[:2]), r, secs,
                [key, "not a regular file"])
    h.check("FIFO identity.key: still a FIFO (not replaced)", stat.S_ISFIFO(os.lstat(key).st_mode))
    # `node request --sign-as-home` reads another home's key: the same care
    other = h.path("signer")
    h.init(other)
    r, secs = run(["node", "request", "GET", "http://127.0.0.1:9/v1/id", "--sign-as-home", home,
                   "--server-id", OTHER], home=other)
    refused("FIFO identity.key of --sign-as-home", r, secs, [key, "not a regular file"])
    os.unlink(key)
    # a symbolic link to a good key file: not followed
    os.symlink(key + ".real", key)
    r, secs = run(["id"], home=home)
    refused("symlinked identity.key", r, secs, [key, "symbolic link"])
    os.unlink(key)
    # a directory
    os.mkdir(key, 0o700)
    r, secs = run(["id"], home=home)
    refused("directory identity.key", r, secs, [key, "not a regular file"])
    os.rmdir(key)
    os.rename(key + ".real", key)
    r, _ = run(["id"], home=home)
    h.check("the real key back: id works", r and r.returncode == 0, err(r))
    # a FIFO where policy.toml belongs
    pol = os.path.join(home, "policy.toml")
    os.mkfifo(pol, 0o600)
    for args in (["policy", "show"], ["node", "start", "--listen", "127.0.0.1:0"]):
        r, secs = run(args, home=home)
        refused("FIFO policy.toml: %s" % " ".join(args[:2]), r, secs,
                [pol, "not a regular file"])


h.guard("writable home", test_writable_home)
h.guard("node on an open home", test_node_refuses_open_home)
h.guard("owner", test_owner)
h.guard("key modes", test_key_modes)
h.guard("missing home", test_missing_home)
h.guard("not a file", test_not_a_file)
h.finish()
