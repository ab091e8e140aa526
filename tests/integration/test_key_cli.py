#!/usr/bin/python3
"""Key events through the `mesh` command (SPEC §9.2): next.key, the commitment
as seq 1, restore without forking, key status/commit/rotate/recover/backup/
passwd, --passphrase-file after the command, the theft alarm.

usage: test_key_cli.py MESH
"""
import hashlib
import json
import os
import shutil
import stat
import sys

sys.dont_write_bytecode = True  # keep the source tree clean
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from mtharness import Harness  # noqa: E402

# Harness wants a second binary it does not use here.
h = Harness(sys.argv + ([sys.argv[1]] if len(sys.argv) == 2 else []))
NOW = 1750000000
h.env["MESH_NOW"] = str(NOW)


def err(r):
    return r.stderr.decode(errors="replace")


def out(r):
    return r.stdout.decode(errors="replace")


def write(path, data, mode=0o600):
    with open(path, "wb") as f:
        f.write(data)
    os.chmod(path, mode)
    return path


def mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


def public_key(keyfile):
    for line in open(keyfile).read().splitlines():
        if line.startswith("public_key="):
            return bytes.fromhex(line.split("=", 1)[1])
    raise AssertionError("no public_key in %s" % keyfile)


def commitment_of(keyfile):
    return hashlib.blake2b(public_key(keyfile), digest_size=32).hexdigest()


def new_home(name, extra=()):
    home = h.path(name)
    r = h.run(["init"] + list(extra), home=home)
    assert r.returncode == 0, err(r)
    return home


def feed(home, iss):
    """[(seq, statement dict)] of one issuer, by seq."""
    r, lines = h.export_lines(home, iss)
    return [(json.loads(l)["seq"], json.loads(l)) for l in lines]


def verify_ok(home):
    r = h.run(["log", "verify"], home=home)
    return r.returncode == 0, out(r) + err(r)


def other_id():
    home = h.path("other")
    if not os.path.isdir(home):
        new_home("other")
    return h.node_id(home)


# ---- init writes next.key; the first statement is preceded by the key ------------------

def test_init_and_first_statement():
    home = h.path("first")
    r = h.run(["init"], home=home)
    h.check("init ok", r.returncode == 0, err(r))
    nk = os.path.join(home, "next.key")
    h.check("init writes next.key", os.path.isfile(nk))
    h.check("next.key is 0600", os.path.isfile(nk) and mode(nk) == 0o600, oct(mode(nk)))
    h.check("init says where next.key is and to move it offline",
            nk in out(r) and "offline" in out(r).lower(), out(r))
    h.check("next.key is not identity.key",
            public_key(nk) != public_key(os.path.join(home, "identity.key")))
    me = h.node_id(home)
    r = h.run(["trust", "add", other_id(), "--level", "full"], home=home)
    h.check("first trust add ok", r.returncode == 0, err(r))
    f = feed(home, me)
    h.check("feed: seq 1 key, seq 2 trust",
            [(s, st["type"]) for s, st in f] == [(1, "key"), (2, "trust")], f)
    h.check("the key commits to next.key",
            f and f[0][1].get("next") == commitment_of(nk), f and f[0][1])
    ok, text = verify_ok(home)
    h.check("log verify clean after the first statement", ok, text)
    r, j = h.run_json(["key", "status", "--json"], home=home)
    h.check("key status --json ok", r.returncode == 0 and j, err(r))
    if j:
        h.check("status: node_id", j.get("node_id") == me, j)
        h.check("status: commitment and its seq",
                j.get("commitment") == commitment_of(nk) and j.get("commitment_seq") == 1, j)
        h.check("status: next.key beside identity.key, matching",
                j["next_key"]["present"] and j["next_key"]["beside_identity"]
                and j["next_key"]["matches_commitment"] is True, j["next_key"])
        h.check("status: a warning about next.key beside identity.key",
                any("next.key" in w and "offline" in w for w in j["warnings"]), j["warnings"])
        h.check("status: chain fields", j["rotated_from"] is None and j["rotated_to"] is None
                and j["newest"] == me and j["contested"] is False
                and j["rotate_pending"] is False, j)
        h.check("status: no theft alarm", j["foreign"] == {"count": 0, "seqs": []}, j)
        h.check("status: no restore pending", j["restore_pending"] is False, j)
        h.check("status: --json stderr clean", err(r) == "", err(r))
    r = h.run(["key", "status"], home=home)
    h.check("key status text warns about next.key",
            r.returncode == 0 and "WARNING" in out(r) and "next.key" in out(r), out(r))


# ---- restore: init --seed-file, refuse to sign until the feed is imported ----------------

def make_feed_home(name, n=2):
    home = new_home(name)
    me = h.node_id(home)
    for i in range(n):
        o = new_home("%s-t%d" % (name, i))
        r = h.run(["trust", "add", h.node_id(o), "--level", "full"], home=home)
        assert r.returncode == 0, err(r)
    return home, me


def seed_of(home):
    for line in open(os.path.join(home, "identity.key")).read().splitlines():
        if line.startswith("seed="):
            return line.split("=", 1)[1]
    raise AssertionError("identity.key is encrypted")


def test_restore():
    orig, me = make_feed_home("orig")
    seed = write(h.path("orig.seed"), (seed_of(orig) + "\n").encode())
    export = h.path("orig.ndjson")
    r, lines = h.export_lines(orig, me)
    write(export, b"\n".join(lines) + b"\n")
    head = len(lines)

    rest = h.path("restored")
    r = h.run(["init", "--seed-file", seed], home=rest)
    h.check("restore: init ok", r.returncode == 0, err(r))
    h.check("restore: same identity", h.node_id(rest) == me)
    r = h.run(["trust", "add", other_id(), "--level", "full"], home=rest)
    h.check("restore: trust add refused before the feed is known", r.returncode == 1, err(r))
    h.check("restore: the refusal names the reason and the fixes",
            "restored" in err(r) and "mesh log import" in err(r) and "mesh sync" in err(r)
            and "--new-feed" in err(r) and "mesh key recover" in err(r), err(r))
    r, j = h.run_json(["key", "status", "--json"], home=rest)
    h.check("restore: key status says restore pending", j and j["restore_pending"] is True, j)

    r = h.run(["log", "import", export], home=rest)
    h.check("restore: log import of the own feed ok", r.returncode == 0, err(r))
    r = h.run(["trust", "add", other_id(), "--level", "limited"], home=rest)
    h.check("restore: trust add after the import ok", r.returncode == 0, err(r))
    f = feed(rest, me)
    h.check("restore: new statement at head + 1",
            [s for s, _ in f] == list(range(1, head + 2)), [s for s, _ in f])
    ok, text = verify_ok(rest)
    h.check("restore: log verify clean", ok, text)
    r, j = h.run_json(["key", "status", "--json"], home=rest)
    h.check("restore: no longer pending, no theft alarm",
            j and j["restore_pending"] is False and j["foreign"]["count"] == 0, j)
    r = h.run(["trust", "list"], home=rest)
    h.check("restore: no theft warning after adoption", "WARNING" not in err(r), err(r))

    # --new-feed: a new feed on purpose.
    nf = h.path("newfeed")
    r = h.run(["init", "--seed-file", seed, "--new-feed"], home=nf)
    h.check("--new-feed: init ok", r.returncode == 0, err(r))
    r = h.run(["trust", "add", other_id(), "--level", "full"], home=nf)
    h.check("--new-feed: signing allowed", r.returncode == 0, err(r))
    f = feed(nf, me)
    h.check("--new-feed: a new feed from seq 1 (key, trust)",
            [(s, st["type"]) for s, st in f] == [(1, "key"), (2, "trust")], f)

    # --new-feed given later on a waiting home ends the wait.
    w = h.path("waiting")
    h.run(["init", "--seed-file", seed], home=w)
    r = h.run(["init", "--seed-file", seed, "--new-feed"], home=w)
    h.check("--new-feed on a waiting home ends the wait", r.returncode == 0, err(r))
    r = h.run(["trust", "add", other_id(), "--level", "full"], home=w)
    h.check("... and it signs", r.returncode == 0, err(r))
    r = h.run(["init", "--new-feed"], home=h.path("nf-usage"))
    h.check("--new-feed without --seed-file is a usage error", r.returncode == 2, err(r))

    # An import that forks the home's own identity is refused without --accept-fork.
    r = h.run(["log", "import", export], home=nf)
    h.check("own fork: import refused", r.returncode == 1, err(r))
    h.check("own fork: the refusal names the seq and the flag",
            "seq 1" in err(r) and "--accept-fork" in err(r), err(r))
    h.check("own fork: nothing imported", len(feed(nf, me)) == 2)
    r = h.run(["log", "import", export, "--accept-fork"], home=nf)
    h.check("own fork: imported with --accept-fork", r.returncode == 0, err(r))


# ---- key commit on an old identity ------------------------------------------------------

def test_commit():
    home = new_home("old")
    os.unlink(os.path.join(home, "next.key"))  # an identity made before commitments
    me = h.node_id(home)
    r = h.run(["trust", "add", other_id(), "--level", "full"], home=home)
    h.check("old identity: signing without next.key ok", r.returncode == 0, err(r))
    h.check("old identity: first statement is seq 1 trust",
            [(s, st["type"]) for s, st in feed(home, me)] == [(1, "trust")])
    r, j = h.run_json(["key", "status", "--json"], home=home)
    h.check("old identity: no commitment", j and j["commitment"] is None, j)
    r = h.run(["key", "status"], home=home)
    h.check("old identity: status names the residual risk and the fix",
            "whoever holds identity.key first can commit" in out(r)
            and "mesh key commit" in out(r), out(r))
    r = h.run(["key", "commit"], home=home)
    h.check("key commit ok", r.returncode == 0, err(r))
    nk = os.path.join(home, "next.key")
    h.check("key commit writes a fresh next.key 0600",
            os.path.isfile(nk) and mode(nk) == 0o600)
    f = feed(home, me)
    h.check("key commit: seq 2 key with next = hash(next.key)",
            len(f) == 2 and f[1][1]["type"] == "key"
            and f[1][1]["next"] == commitment_of(nk), f)
    r, j = h.run_json(["key", "status", "--json"], home=home)
    h.check("key commit: status shows the commitment at seq 2",
            j and j["commitment"] == commitment_of(nk) and j["commitment_seq"] == 2, j)
    r = h.run(["key", "commit"], home=home)
    h.check("key commit again refused", r.returncode == 1 and "already" in err(r), err(r))


# ---- key rotate ---------------------------------------------------------------------------

def test_rotate():
    home, me = make_feed_home("rot", 2)
    wrong = new_home("rot-wrong")
    r = h.run(["key", "rotate", "--next-key", os.path.join(wrong, "next.key")], home=home)
    h.check("rotate with the wrong next key refused", r.returncode == 1, err(r))
    h.check("rotate: the refusal names the mismatch",
            "not the next key" in err(r) and "commit" in err(r), err(r))
    r = h.run(["key", "rotate", "--next-key", os.path.join(home, "identity.key")], home=home)
    h.check("rotate with identity.key itself refused (a thief's key)",
            r.returncode == 1 and "not the next key" in err(r), err(r))
    h.check("refused rotate leaves the feed alone", len(feed(home, me)) == 3)

    committed = public_key(os.path.join(home, "next.key"))
    h.env["MESH_NOW"] = str(NOW + 60)
    try:
        r = h.run(["key", "rotate"], home=home)
    finally:
        h.env["MESH_NOW"] = str(NOW)
    h.check("rotate ok", r.returncode == 0, err(r))
    new = h.node_id(home)
    h.check("rotate: a new ID", new != me)
    h.check("rotate: identity.key now holds the committed key",
            public_key(os.path.join(home, "identity.key")) == committed)
    h.check("rotate: prints the new ID and insists next.key be saved offline",
            new in out(r) and "OFFLINE" in out(r), out(r))
    old_copies = [n for n in os.listdir(home) if n.startswith("identity.key.old-")]
    h.check("rotate: the old identity.key is kept", len(old_copies) == 1
            and old_copies[0] == "identity.key.old-" + me[:16], os.listdir(home))
    h.check("rotate: no temporary files left",
            not [n for n in os.listdir(home) if n.startswith(".")], os.listdir(home))
    nk = os.path.join(home, "next.key")
    h.check("rotate: a fresh next.key 0600", os.path.isfile(nk) and mode(nk) == 0o600
            and public_key(nk) != committed)
    f = feed(home, me)
    h.check("rotate: the old feed ends at the rotate",
            [(s, st["type"]) for s, st in f][-1] == (3 + 1, "rotate")
            and f[-1][1]["new"] == new, f[-1])
    nf = feed(home, new)
    h.check("rotate: the new feed starts with key {next, from}",
            len(nf) == 1 and nf[0][1]["type"] == "key"
            and nf[0][1]["next"] == commitment_of(nk) and "from" in nf[0][1], nf)
    ok, text = verify_ok(home)
    h.check("rotate: log verify clean", ok, text)
    r, j = h.run_json(["key", "status", "--json"], home=home)
    h.check("rotate: status of the new ID: rotated_from the old",
            j and j["node_id"] == new and j["rotated_from"] == me, j)
    r = h.run(["trust", "add", other_id(), "--level", "limited"], home=home)
    h.check("rotate: the new identity signs at seq 2",
            r.returncode == 0 and [s for s, _ in feed(home, new)] == [1, 2], err(r))
    return home, new


# ---- key backup, init --seed-file of it, key recover ----------------------------------------

def test_backup_and_recover():
    home, me = make_feed_home("bk", 1)
    nk = os.path.join(home, "next.key")
    next_pk = public_key(nk)
    r = h.run(["key", "backup"], home=home)
    h.check("key backup to a pipe ok", r.returncode == 0, err(r))
    seed_hex = out(r).strip()
    h.check("key backup prints 64 hex", len(seed_hex) == 64
            and all(c in "0123456789abcdef" for c in seed_hex), out(r))
    h.check("key backup warns on stderr", "SECRET" in err(r), err(r))
    bfile = write(h.path("bk.seed"), out(r).encode())
    r = h.run(["key", "backup", "--out", h.path("bk2.seed")], home=home)
    h.check("key backup --out writes 0600", r.returncode == 0
            and mode(h.path("bk2.seed")) == 0o600
            and open(h.path("bk2.seed")).read().strip() == seed_hex, err(r))
    r = h.run(["key", "backup", "--out", h.path("bk2.seed")], home=home)
    h.check("key backup --out never overwrites", r.returncode == 1, err(r))

    rest = h.path("bk-restored")
    r = h.run(["init", "--seed-file", bfile], home=rest)
    h.check("the backup restores with init --seed-file", r.returncode == 0
            and public_key(os.path.join(rest, "identity.key")) == next_pk, err(r))

    # Recover in a fresh home holding the old feed: the owner lost identity.key.
    fresh = h.path("bk-recover")
    new_home("bk-recover")
    exp = h.path("bk.ndjson")
    r, lines = h.export_lines(home, me)
    write(exp, b"\n".join(lines) + b"\n")
    r = h.run(["log", "import", exp], home=fresh)
    h.check("recover: the old feed imported", r.returncode == 0, err(r))
    wrong = os.path.join(fresh, "next.key")
    r = h.run(["key", "recover", "--old", me, "--next-key", wrong], home=fresh)
    h.check("recover with the wrong key refused", r.returncode == 1
            and "not the next key" in err(r), err(r))
    r = h.run(["key", "recover", "--old", me, "--next-key", bfile], home=fresh)
    h.check("recover with the backup seed ok", r.returncode == 0, err(r))
    new = h.node_id(fresh)
    h.check("recover: identity.key is the committed key",
            public_key(os.path.join(fresh, "identity.key")) == next_pk)
    f = feed(fresh, me)
    h.check("recover: the old feed ends at a rotate into the new ID",
            f and f[-1][1]["type"] == "rotate" and f[-1][1]["new"] == new, f and f[-1])
    ok, text = verify_ok(fresh)
    h.check("recover: log verify clean", ok, text)
    h.check("recover: the home's previous identity.key is kept",
            [n for n in os.listdir(fresh) if n.startswith("identity.key.old-")],
            os.listdir(fresh))


# ---- passwd and --passphrase-file after the command ---------------------------------------

def test_passwd():
    home, me = make_feed_home("pw", 1)
    p1 = write(h.path("p1"), b"first pass\n")
    p2 = write(h.path("p2"), b"second pass\n")
    idk, nk = os.path.join(home, "identity.key"), os.path.join(home, "next.key")
    r = h.run(["key", "passwd", "--new-passphrase-file", p1], home=home)
    h.check("passwd add ok", r.returncode == 0, err(r))
    h.check("passwd add: both files encrypted",
            "argon2id" in open(idk).read() and "argon2id" in open(nk).read())
    h.check("passwd: modes stay 0600", mode(idk) == 0o600 and mode(nk) == 0o600)
    r = h.run(["trust", "add", other_id(), "--level", "full"], home=home)
    h.check("encrypted: no passphrase and no terminal is refused, naming the option",
            r.returncode == 1 and "--passphrase-file" in err(r), err(r))
    r = h.run(["trust", "add", other_id(), "--level", "full", "--passphrase-file", p1],
              home=home)
    h.check("--passphrase-file after the command works", r.returncode == 0, err(r))
    r = h.run(["trust", "add", other_id(), "--level", "limited", "--passphrase-file=" + p1],
              home=home)
    h.check("--passphrase-file=FILE after the command works", r.returncode == 0, err(r))
    r = h.run(["--passphrase-file", p1, "key", "passwd", "--new-passphrase-file", p2],
              home=home)
    h.check("passwd change ok", r.returncode == 0, err(r))
    r = h.run(["trust", "add", other_id(), "--level", "full", "--passphrase-file", p1],
              home=home)
    h.check("old passphrase no longer opens", r.returncode == 1, err(r))
    r = h.run(["key", "backup", "--passphrase-file", p2], home=home)
    h.check("next.key has the new passphrase too", r.returncode == 0, err(r))
    r = h.run(["key", "passwd", "--remove", "--passphrase-file", p2], home=home)
    h.check("passwd remove ok", r.returncode == 0, err(r))
    h.check("passwd remove: both plain",
            "argon2id" not in open(idk).read() and "argon2id" not in open(nk).read())
    r = h.run(["trust", "add", other_id(), "--level", "full"], home=home)
    h.check("plain again: signs without a passphrase", r.returncode == 0, err(r))
    h.check("passwd left no temporary files",
            not [n for n in os.listdir(home) if n.startswith(".")], os.listdir(home))
    r = h.run(["key", "passwd"], home=home, stdin=b"")
    h.check("passwd without a terminal or a file is refused",
            r.returncode == 1 and "--new-passphrase-file" in err(r), err(r))


# ---- theft alarm ---------------------------------------------------------------------------

def test_theft_alarm():
    home, me = make_feed_home("victim", 1)
    thief = h.path("thief")
    os.mkdir(thief, 0o700)
    shutil.copy2(os.path.join(home, "identity.key"), os.path.join(thief, "identity.key"))
    r = h.run(["trust", "add", other_id(), "--level", "full"], home=thief)
    h.check("thief signs with the copied key", r.returncode == 0, err(r))
    stolen = h.path("stolen.ndjson")
    r, lines = h.export_lines(thief, me)
    write(stolen, b"\n".join(lines) + b"\n")
    r = h.run(["trust", "list"], home=home)
    h.check("no alarm before", "WARNING" not in err(r), err(r))
    r = h.run(["log", "import", stolen], home=home)
    h.check("the thief's statement forks the own feed: refused", r.returncode == 1
            and "--accept-fork" in err(r), err(r))
    r = h.run(["log", "import", stolen, "--accept-fork"], home=home)
    h.check("imported with --accept-fork", r.returncode == 0, err(r))
    for args in (["trust", "list"], ["log", "head"], ["key", "status"],
                 ["trust", "list", "--json"]):
        r = h.run(args, home=home)
        e = err(r)
        h.check("alarm: `mesh %s` warns once" % " ".join(args),
                e.count("WARNING") == 1 and "not signed by this home" in e
                and "seq 1" in e and "mesh key status" in e, e)
    r, j = h.run_json(["trust", "list", "--json"], home=home)
    h.check("alarm: --json stdout stays JSON", j is not None, out(r))
    r, j = h.run_json(["key", "status", "--json"], home=home)
    h.check("alarm: key status counts it", j and j["foreign"]["count"] == 1
            and j["foreign"]["seqs"] == [1], j)


def test_help():
    for sub in ("status", "commit", "rotate", "recover", "backup", "passwd"):
        r = h.run(["key", sub, "--help"])
        h.check("mesh key %s --help" % sub, r.returncode == 0
                and out(r).startswith("usage: mesh key %s" % sub), out(r))
    r = h.run(["key", "--help"])
    h.check("mesh key --help lists the commands", r.returncode == 0 and "rotate" in out(r))


# ---- the interactive prompt (a pseudo-terminal) ------------------------------------------

def run_on_tty(args, home, answers, timeout=20):
    """Run mesh on a pseudo-terminal, answering each "passphrase" prompt in turn;
    returns (exit status, everything the terminal showed)."""
    import pty
    import select
    import time
    pid, fd = pty.fork()
    if pid == 0:
        os.environ.clear()
        os.environ.update(h.env)
        os.execv(h.mesh, [h.mesh, "--home", home] + list(args))
    shown, pending, end = b"", list(answers), time.time() + timeout
    while time.time() < end:
        ready, _, _ = select.select([fd], [], [], 0.2)
        if ready:
            try:
                data = os.read(fd, 4096)
            except OSError:
                break
            if not data:
                break
            shown += data
        # Answer a prompt once it is shown (earlier input would be flushed).
        if pending and shown.count(b"Passphrase for ") > len(answers) - len(pending):
            os.write(fd, pending.pop(0) + b"\n")
    done, status = os.waitpid(pid, os.WNOHANG)
    if not done:
        os.kill(pid, 9)
        _, status = os.waitpid(pid, 0)
    os.close(fd)
    return os.WEXITSTATUS(status) if os.WIFEXITED(status) else -1, shown.decode(errors="replace")


def test_prompt():
    home, me = make_feed_home("tty", 0)
    p1 = write(h.path("tty-p1"), b"secret one\n")
    r = h.run(["key", "passwd", "--new-passphrase-file", p1], home=home)
    assert r.returncode == 0, err(r)
    rc, shown = run_on_tty(["trust", "add", other_id(), "--level", "full"], home,
                           [b"secret one"])
    h.check("prompt: asked on the terminal, signs", rc == 0 and "Passphrase for" in shown, shown)
    h.check("prompt: the passphrase is not echoed", "secret one" not in shown, shown)
    rc, shown = run_on_tty(["trust", "add", other_id(), "--level", "limited"], home,
                           [b"not it", b"secret one"])
    h.check("prompt: a wrong one is said and asked once more", rc == 0
            and "wrong passphrase" in shown, shown)


for name, fn in [("init", test_init_and_first_statement), ("restore", test_restore),
                 ("commit", test_commit), ("rotate", test_rotate),
                 ("backup/recover", test_backup_and_recover), ("passwd", test_passwd),
                 ("theft", test_theft_alarm), ("help", test_help),
                 ("prompt", test_prompt)]:
    h.guard(name, fn)
h.finish()
