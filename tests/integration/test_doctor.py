#!/usr/bin/python3
"""mesh doctor [--json] (issue #20): one command that checks a home and says
what to fix.

- a healthy home (next.key moved away): exit 0, every check ok, --json
  {ok, checks:[{name, status, detail, fix}]} with home, identity.key, next.key,
  store, node, peers, clock;
- next.key beside identity.key: warn with a fix, still exit 0;
- identity.key chmod 0644: exit 1, identity.key fail naming `chmod 600 PATH`;
- home chmod 0750: warn `chmod 700`; 0777: fail;
- no home: exit 1, home fail naming `mesh init`;
- a node running on 127.0.0.1 (nodeutil.Node, any free port): the node check
  is ok and reports its Node ID at the address node.lock records; stopped,
  with api.cookie left: warn (not reachable) with the fix;
- a peer that never synced: warn; the clock check compares with a running
  peer's Date header.

usage: test_doctor.py MESH
"""
import json
import os
import shutil
import sys

sys.dont_write_bytecode = True  # keep the source tree clean
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from mtharness import Harness  # noqa: E402
from nodeutil import Node  # noqa: E402

h = Harness(sys.argv + ([sys.argv[1]] if len(sys.argv) == 2 else []))


def doctor(home):
    r, doc = h.run_json(["doctor", "--json"], home=home)
    checks = {c["name"]: c for c in (doc or {}).get("checks", [])}
    return r, doc, checks


def main():
    home = h.path("a")
    nid = h.init(home)
    shutil.move(os.path.join(home, "next.key"), h.path("next.key.offline"))

    r, doc, c = doctor(home)
    h.check("healthy home: exit 0", r.returncode == 0, r.stdout + r.stderr)
    h.check("--json: {ok, checks:[{name,status,detail,fix}]}",
            doc is not None and doc.get("ok") is True
            and all(set(x) == {"name", "status", "detail", "fix"} for x in doc["checks"]),
            doc)
    want = ["home", "identity.key", "next.key", "store", "node", "peers", "clock"]
    h.check("the checks: %s" % " ".join(want), all(w in c for w in want), sorted(c))
    h.check("healthy home: all ok", all(x["status"] == "ok" for x in c.values()),
            [(x["name"], x["status"], x["detail"]) for x in c.values()])
    h.check("identity.key reports the Node ID", nid in c.get("identity.key", {}).get("detail", ""))
    h.check("store: statements checked", "checked: clean" in c.get("store", {}).get("detail", ""),
            c.get("store"))
    r = h.run(["doctor"], home=home)
    text = r.stdout.decode()
    h.check("text output: one line per check, no failure", r.returncode == 0
            and "ok    home" in text and "no failure" in text, text)

    shutil.copy(h.path("next.key.offline"), os.path.join(home, "next.key"))
    os.chmod(os.path.join(home, "next.key"), 0o600)
    r, doc, c = doctor(home)
    nk = c.get("next.key", {})
    h.check("next.key beside identity.key: warn with a fix, exit 0",
            r.returncode == 0 and nk.get("status") == "warn" and "offline" in (nk.get("fix") or ""),
            nk)
    os.unlink(os.path.join(home, "next.key"))

    key = os.path.join(home, "identity.key")
    os.chmod(key, 0o644)
    r, doc, c = doctor(home)
    ik = c.get("identity.key", {})
    h.check("identity.key 0644: exit 1", r.returncode == 1, r.stdout)
    h.check("identity.key 0644: fail naming `chmod 600 %s`" % key,
            ik.get("status") == "fail" and ("chmod 600 " + key) in (ik.get("fix") or ""), ik)
    r = h.run(["doctor"], home=home)
    h.check("text output shows the fix", b"fix: chmod 600" in r.stdout and r.returncode == 1,
            r.stdout)
    os.chmod(key, 0o600)

    os.chmod(home, 0o750)
    r, doc, c = doctor(home)
    h.check("home 0750: warn chmod 700, exit 0", r.returncode == 0
            and c.get("home", {}).get("status") == "warn"
            and "chmod 700" in (c["home"].get("fix") or ""), c.get("home"))
    os.chmod(home, 0o777)
    r, doc, c = doctor(home)
    h.check("home 0777: fail, exit 1", r.returncode == 1
            and c.get("home", {}).get("status") == "fail", c.get("home"))
    os.chmod(home, 0o700)

    r, doc, c = doctor(h.path("nowhere"))
    h.check("no home: exit 1, fail naming mesh init", r.returncode == 1
            and c.get("home", {}).get("status") == "fail"
            and "mesh init" in (c["home"].get("fix") or ""), c.get("home"))

    # A running node.
    n = Node(h, home, "a")
    try:
        n.start()
        r, doc, c = doctor(home)
        node = c.get("node", {})
        h.check("running node: node ok with its ID at its address",
                node.get("status") == "ok" and nid in node.get("detail", "")
                and n.url.rstrip("/").split("#")[0].rstrip("/") in node.get("detail", ""),
                (node, n.url))
        h.check("running node: exit 0", r.returncode == 0, r.stdout)

        # A peer (a second home's node): never synced -> warn; clock from its Date.
        home_b = h.path("b")
        h.init(home_b)
        nb = Node(h, home_b, "b")
        try:
            nb.start()
            peer = nb.url.split("#")[0].rstrip("/")
            pr = h.run(["peer", "add", peer], home=home)
            h.check("peer add", pr.returncode == 0, pr.stderr)
            r, doc, c = doctor(home)
            p = c.get("peer " + peer, {})
            h.check("a peer never synced: warn with a fix", p.get("status") == "warn"
                    and "never synced" in p.get("detail", "") and p.get("fix"), p)
            clock = c.get("clock", {})
            h.check("clock: compared with the peer's Date header",
                    clock.get("status") == "ok" and "Date header" in clock.get("detail", ""),
                    clock)
        finally:
            nb.stop()
    finally:
        n.stop()
    r, doc, c = doctor(home)
    node = c.get("node", {})
    h.check("stopped node (api.cookie left): warn, not reachable, with a fix",
            node.get("status") == "warn" and "not reachable" in node.get("detail", "")
            and "mesh node start" in (node.get("fix") or ""), node)


h.guard("doctor", main)
h.finish()
