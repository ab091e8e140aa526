#!/usr/bin/python3
"""Local names and received referrals (SPEC §9.5) through the `mesh` command:
mesh name set|list|remove, bad names refused, @NAME where an ID is (trust add,
trust path, --from), the name next to IDs in trust list / trust path (never in
--json); two homes: A refers C to B, B imports A's feed, `mesh referral list`
shows it with B's path to A, and `mesh trust add C` in B shows A's note; and a
referral that arrives by `mesh sync` from a real node on 127.0.0.1.

usage: test_names_referrals.py MESH
"""
import json
import os
import sys

sys.dont_write_bytecode = True  # keep the source tree clean
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from mtharness import Harness  # noqa: E402

# Harness wants a second binary it does not use here.
h = Harness(sys.argv + ([sys.argv[1]] if len(sys.argv) == 2 else []))
h.env["MESH_NOW"] = "1750000000"


def out(r):
    return r.stdout.decode(errors="replace")


def err(r):
    return r.stderr.decode(errors="replace")


A, B, C = h.path("a"), h.path("b"), h.path("c")
ida, idb, idc = h.init(A), h.init(B), h.init(C)


def names():
    h.check("names", True)
    r, j = h.run_json(["name", "set", ida, "alice"], home=B)
    h.check("name set", r.returncode == 0, err(r))
    r = h.run(["name", "set", idc, "carol.c_2-x"], home=B)
    h.check("name set (all allowed characters)", r.returncode == 0, err(r))
    r, j = h.run_json(["name", "list", "--json"], home=B)
    h.check("name list --json", r.returncode == 0 and j == {"names": [
        {"name": "alice", "node_id": ida}, {"name": "carol.c_2-x", "node_id": idc}]}, out(r))
    r = h.run(["name", "list"], home=B)
    h.check("name list", r.returncode == 0 and "alice" in out(r) and ida in out(r), out(r))
    for bad in ["bad name", "x" * 33, "", "al\u00e9", "a:b", "a\x1bb"]:
        r = h.run(["name", "set", idc, bad], home=B)
        h.check("bad name refused: %r" % bad, r.returncode == 2 and "not a name" in err(r)
                and "\x1b" not in err(r), err(r))
    r = h.run(["name", "set", idc, "alice"], home=B)
    h.check("a name is one ID's", r.returncode != 0 and "alice" in err(r), err(r))
    r = h.run(["name", "set", "@nobody", "zed"], home=B)
    h.check("unknown @name refused", r.returncode == 2 and "nobody" in err(r), err(r))
    # remove by name, by ID; an unknown one fails
    r = h.run(["name", "remove", "carol.c_2-x"], home=B)
    h.check("name remove NAME", r.returncode == 0, err(r))
    h.run(["name", "set", idc, "carol"], home=B)
    r = h.run(["name", "remove", idc], home=B)
    h.check("name remove ID", r.returncode == 0, err(r))
    r = h.run(["name", "remove", "carol"], home=B)
    h.check("name remove: no such name", r.returncode == 1, err(r))
    r, j = h.run_json(["name", "list", "--json"], home=B)
    h.check("name list after remove", j == {"names": [{"name": "alice", "node_id": ida}]},
            out(r))

    # @NAME in trust add / trust path / --from; the name in trust list / path
    r = h.run(["trust", "add", "@alice", "--level", "full", "--score", "0.9"], home=B)
    h.check("trust add @alice", r.returncode == 0 and ida in out(r), err(r))
    r = h.run(["trust", "path", "@alice"], home=B)
    h.check("trust path @alice shows the name",
            r.returncode == 0 and ("%s (alice)" % ida) in out(r), out(r) + err(r))
    r = h.run(["trust", "list"], home=B)
    h.check("trust list shows the name", r.returncode == 0 and ("%s (alice)" % ida) in out(r),
            out(r))
    r = h.run(["trust", "list", "--json"], home=B)
    h.check("trust list --json has no names", r.returncode == 0 and "alice" not in out(r),
            out(r))
    r = h.run(["trust", "list", "--from", "@alice"], home=B)
    h.check("--from @alice", r.returncode == 0, err(r))
    r = h.run(["trust", "path", "@nobody"], home=B)
    h.check("trust path @nobody refused", r.returncode == 2 and "nobody" in err(r), err(r))
    r = h.run(["trust", "path", "@bad name"], home=B)
    h.check("trust path '@bad name' refused", r.returncode == 2, err(r))


def referrals():
    r = h.run(["referral", "list", "--json"], home=B)
    h.check("referral list: none yet", r.returncode == 0 and
            json.loads(out(r)) == {"referrals": []}, out(r) + err(r))
    # A refers C to B, and B itself to everyone; a note with a terminal escape
    r = h.run(["refer", idc, "--note", "C writes good lessons", "--to", idb], home=A)
    h.check("A refers C to B", r.returncode == 0, err(r))
    r = h.run(["refer", idb, "--note", "welcome B \x1b[31mred"], home=A)
    h.check("A refers B", r.returncode == 0, err(r))
    r = h.run(["refer", ida, "--note", "not for B"], home=C)
    h.check("C refers A (not for B)", r.returncode == 0, err(r))
    body = h.path("lesson.md")
    with open(body, "w") as fh:
        fh.write("Pin your dependencies and check their hashes.\n")
    r = h.run(["lesson", "publish", "--topic", "rust", "--title", "Pin your deps", body], home=A)
    h.check("A publishes a lesson", r.returncode == 0, err(r))
    # B gets A's and C's feeds
    for home in (A, C):
        r = h.run(["log", "export"], home=home)
        f = h.path("feed-%s.ndjson" % os.path.basename(home))
        with open(f, "wb") as fh:
            fh.write(r.stdout)
        r = h.run(["log", "import", f], home=B)
        h.check("B imports %s's feed" % os.path.basename(home), r.returncode == 0, err(r))
    r, j = h.run_json(["referral", "list", "--json"], home=B)
    ok = r.returncode == 0 and j is not None and len(j["referrals"]) == 2
    h.check("referral list --json: the two naming B or sent to B", ok, out(r) + err(r))
    if ok:
        by = {x["referee"]: x for x in j["referrals"]}
        x = by.get(idc, {})
        h.check("referral of C to B", x.get("referrer") == ida and x.get("to") == idb and
                x.get("to_you") is True and x.get("about_you") is False and
                x.get("note") == "C writes good lessons" and x.get("ts") == 1750000000, x)
        p = x.get("path") or {}
        h.check("with B's path to A", p.get("hops") == 1 and abs(p.get("score", 0) - 0.9) < 1e-9
                and p.get("level") == "full", x)
        y = by.get(idb, {})
        h.check("referral about B", y.get("referrer") == ida and y.get("about_you") is True and
                "to" not in y and y.get("to_you") is False, y)
    r = h.run(["referral", "list"], home=B)
    o = out(r)
    h.check("referral list (human): referrer named, note escaped",
            r.returncode == 0 and ("%s (alice)" % ida) in o and "C writes good lessons" in o
            and "\x1b" not in o and "\\x1b[31mred" in o and "score 0.9" in o, o)
    r = h.run(["search", "pin deps"], home=B)
    h.check("search shows the author's name", r.returncode == 0 and
            ("%s (alice)" % ida) in out(r), out(r) + err(r))
    r = h.run(["search", "pin deps", "--json"], home=B)
    h.check("search --json has no names", r.returncode == 0 and "alice" not in out(r), out(r))
    # In C's home: the referral about A from C is not about C.
    r, j = h.run_json(["referral", "list", "--json"], home=C)
    h.check("C has no referral naming it", r.returncode == 0 and j == {"referrals": []}, out(r))
    # trust add of C in B shows A's note (stderr; --json stays clean)
    r = h.run(["trust", "add", idc, "--level", "limited", "--json"], home=B)
    h.check("trust add C shows A's note on stderr",
            r.returncode == 0 and "C writes good lessons" in err(r) and ida in err(r), err(r))
    try:
        json.loads(out(r))
        clean = True
    except ValueError:
        clean = False
    h.check("trust add --json stays clean", clean, out(r))
    # C's referral of A is held too: trusting A again shows it
    r = h.run(["trust", "add", "@alice", "--level", "full", "--score", "0.9"], home=B)
    h.check("trust add A shows C's note", r.returncode == 0 and "not for B" in err(r), err(r))
    r = h.run(["trust", "add", h.init(h.path("d")), "--level", "full"], home=B)
    h.check("trust add of an unreferred ID says nothing",
            r.returncode == 0 and "referred" not in err(r), err(r))


def synced():
    """The referral arrives by a sync between two real nodes on 127.0.0.1."""
    from nodeutil import Node  # noqa: E402
    E, F = h.path("e"), h.path("f")
    ide, idf = h.init(E), h.init(F)
    for src, dst in ((E, idf), (F, ide)):
        r = h.run(["trust", "add", dst, "--level", "full"], home=src)
        h.check("trust add for the sync", r.returncode == 0, err(r))
    r = h.run(["refer", idc, "--note", "sent by a node", "--to", idf], home=E)
    h.check("E refers C to F", r.returncode == 0, err(r))
    node = Node(h, E, "e").start()
    try:
        r = h.run(["peer", "add", node.url], home=F)
        h.check("F peer add E", r.returncode == 0, err(r))
        r = h.run(["sync", "--json"], home=F, timeout=120)
        h.check("F syncs with E", r.returncode == 0, out(r) + err(r))
    finally:
        node.stop()
    r, j = h.run_json(["referral", "list", "--json"], home=F)
    refs = (j or {}).get("referrals", [])
    h.check("referral list after the sync shows E's referral",
            r.returncode == 0 and len(refs) == 1 and refs[0]["referrer"] == ide and
            refs[0]["referee"] == idc and refs[0]["note"] == "sent by a node" and
            (refs[0].get("path") or {}).get("hops") == 1, out(r) + err(r))
    h.run(["name", "set", ide, "erin"], home=F)
    r = h.run(["peer", "list"], home=F)
    h.check("peer list shows the name", r.returncode == 0 and ("%s (erin)" % ide) in out(r),
            out(r))
    r = h.run(["peer", "list", "--json"], home=F)
    h.check("peer list --json has no names", r.returncode == 0 and "erin" not in out(r), out(r))
    r = h.run(["peer", "remove", node.url + "/"], home=F)
    h.check("peer remove", r.returncode == 0 and "removed peer" in out(r), out(r) + err(r))
    r, j = h.run_json(["peer", "list", "--json"], home=F)
    h.check("the peer is gone", r.returncode == 0 and j == {"peers": []}, out(r))
    r = h.run(["peer", "remove", node.url], home=F)
    h.check("peer remove of an unknown URL fails, naming it",
            r.returncode == 1 and node.url in err(r), err(r))


h.guard("names", names)
h.guard("referrals", referrals)
h.guard("synced", synced)
h.finish()
