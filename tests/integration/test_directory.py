#!/usr/bin/python3
"""First contact through a directory (SPEC §9.5, issue #18), with real homes and a
real node on 127.0.0.1:

- the newcomer story: a home with an empty web adds a directory, discovers a
  publisher on a topic (sample titles with their signatures checked, the
  directory's inbound trust, no path of its own), fetches and verifies its feed,
  finds its lessons with `search --include-untrusted` (shown as untrusted, not with
  plain search), trusts it by @name, syncs from the directory and from then on
  finds its new lessons with plain `search`;
- a lying directory (a fake server on 127.0.0.1) serving a forged lesson (bad
  signature) and another author's lesson as the publisher's: both refused and
  reported, exit 1, nothing forged stored;
- the directory's boundary: it answers without a token (X-Mesh-Digest = its
  store digest), lists only the authors it re-announces, answers 429 with
  Retry-After beyond its lowest tier per address, and serves nothing else without
  a token; with node.directory off the routes are as absent (401).
- mesh directory add|list|remove and their errors.

usage: test_directory.py MESH
"""
import http.server
import json
import os
import sys
import threading
import time

sys.dont_write_bytecode = True  # keep the source tree clean
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from mtharness import Harness  # noqa: E402
from nodeutil import Node  # noqa: E402

h = Harness(sys.argv + ([sys.argv[1]] if len(sys.argv) == 2 else []))


def out(r):
    return r.stdout.decode(errors="replace")


def err(r):
    return r.stderr.decode(errors="replace")


P, D, N, X, Q = h.path("pub"), h.path("dir"), h.path("new"), h.path("x"), h.path("q")
idp, idd, idn, idx, idq = h.init(P), h.init(D), h.init(N), h.init(X), h.init(Q)


def publish(home, topic, title, body):
    f = h.path("lesson-%d.md" % time.monotonic_ns())
    with open(f, "w") as fh:
        fh.write(body)
    r = h.run(["lesson", "publish", "--topic", topic, "--title", title, f], home=home)
    h.check("publish %r" % title, r.returncode == 0, err(r))


def copy_feed(src, dst):
    r, lines = h.export_lines(src)
    f = h.path("feed-%d.ndjson" % time.monotonic_ns())
    with open(f, "wb") as fh:
        fh.write(b"\n".join(lines) + b"\n")
    r = h.run(["log", "import", f], home=dst)
    h.check("import %s's feed into %s" % (os.path.basename(src), os.path.basename(dst)),
            r.returncode == 0, err(r))


def lines_of(home, iss):
    return h.export_lines(home, iss)[1]


# The publisher P writes on rust and c; X (whom the directory does not trust
# full) writes on rust too; Q is trusted limited by the directory.
publish(P, "rust", "Borrow checker tips", "Lifetimes name how long a borrow lives.\n")
publish(P, "rust", "Cargo workspaces", "One lockfile for many crates.\n")
publish(P, "c", "Undefined behaviour", "Signed overflow is undefined.\n")
publish(X, "rust", "Rust from a stranger", "Borrow everything twice.\n")
publish(Q, "rust", "Rust from a limited one", "Borrow limited.\n")
for src in (P, X, Q):
    copy_feed(src, D)
r = h.run(["trust", "add", idp, "--level", "full", "--score", "0.8"], home=D)
h.check("the directory trusts P full", r.returncode == 0, err(r))
r = h.run(["trust", "add", idq, "--level", "limited", "--score", "0.5"], home=D)
h.check("the directory trusts Q limited", r.returncode == 0, err(r))
# The directory's lowest tier (what anonymous callers get): a burst of 40 for the
# story's back-to-back CLI calls on a fast machine, refilled at 5/s so that the
# boundary test below sees 429 within 200 requests however slow the machine.
with open(os.path.join(D, "policy.toml"), "w") as f:
    f.write("[[tier]]\nmin_score = 0.7\nper_second = 200\nburst = 50\n"
            "[[tier]]\nmin_score = 0.0\nper_second = 5\nburst = 40\n")
r = h.run(["config", "set", "node.directory", "on"], home=D)
h.check("config set node.directory on", r.returncode == 0, err(r))
r = h.run(["config", "set", "node.directory", "maybe"], home=D)
h.check("node.directory takes on/off only", r.returncode != 0, err(r))

node = Node(h, D, "dir").start()
pnode = None
fake = None


def story():
    # ---- mesh directory add|list|remove ------------------------------------
    r = h.run(["directory", "list", "--json"], home=N)
    h.check("directory list: none yet", r.returncode == 0 and
            json.loads(out(r)) == {"directories": []}, out(r) + err(r))
    r = h.run(["directory", "add", "ftp://x"], home=N)
    h.check("directory add: a non-http URL is a usage error",
            r.returncode == 2 and "ftp://x" in err(r), err(r))
    r, j = h.run_json(["directory", "add", node.url + "/", "--json"], home=N)
    h.check("directory add (trailing slash dropped)", r.returncode == 0 and j ==
            {"url": node.url, "node_id": idd}, out(r) + err(r))
    r = h.run(["directory", "add", node.url], home=N)
    h.check("directory add twice refused", r.returncode == 1 and "already" in err(r), err(r))
    r, j = h.run_json(["directory", "list", "--json"], home=N)
    h.check("directory list", j == {"directories": [node.url]}, out(r))
    r = h.run(["config", "get", "discover.directories"], home=N)
    h.check("kept in discover.directories", node.url in out(r), out(r) + err(r))

    # ---- discover on a topic --------------------------------------------------
    r, j = h.run_json(["discover", "--topic", "rust", "--json"], home=N)
    h.check("discover --topic rust", r.returncode == 0 and j is not None, out(r) + err(r))
    pubs = {p["node_id"]: p for p in (j or {}).get("publishers", [])}
    p = pubs.get(idp, {})
    h.check("P is listed with its rust lessons", p.get("topics") == ["rust"] and
            p.get("lessons") == 2 and p.get("directory") == node.url, p)
    h.check("inbound is the directory's own score for P",
            abs(p.get("inbound", 0) - 0.8) < 1e-9, p)
    titles = sorted(s["title"] for s in p.get("samples", []))
    h.check("sample titles, signatures checked",
            titles == ["Borrow checker tips", "Cargo workspaces"] and
            all(s.get("verified") is True for s in p.get("samples", [])), p.get("samples"))
    h.check("the newcomer has no path to P yet", (p.get("path") or {}).get("score") is None,
            p.get("path"))
    h.check("X (not trusted full by the directory) is not listed", idx not in pubs, list(pubs))
    h.check("Q (trusted limited: not re-announced) is not listed", idq not in pubs, list(pubs))
    h.check("the directory itself publishes nothing: not listed", idd not in pubs, list(pubs))
    h.check("nothing refused", j and j.get("refused") == [], j and j.get("refused"))
    dirs = (j or {}).get("directories", [])
    dg, _ = h.head(D)
    h.check("the reply carries the directory's digest",
            len(dirs) == 1 and dirs[0].get("status") == "ok" and dirs[0].get("digest") == dg,
            dirs)
    r = h.run(["discover", "--topic", "rust"], home=N)
    h.check("discover (human): P, its titles, no path", r.returncode == 0 and idp in out(r) and
            "Borrow checker tips" in out(r) and "your path: none" in out(r), out(r) + err(r))
    r, j = h.run_json(["discover", "overflow", "--json"], home=N)
    pubs = [p["node_id"] for p in (j or {}).get("publishers", [])]
    h.check("discover QUERY finds P by its c lesson", r.returncode == 0 and pubs == [idp],
            out(r) + err(r))
    r, j = h.run_json(["discover", "--topic", "cobol", "--json"], home=N)
    h.check("discover: nobody on topic cobol", r.returncode == 0 and j["publishers"] == [],
            out(r))

    # ---- fetch, search --include-untrusted --------------------------------------
    r = h.run(["search", "borrow"], home=N)
    h.check("before fetching: nothing found", r.returncode == 0 and "Borrow" not in out(r),
            out(r))
    r, j = h.run_json(["discover", "--fetch", idp, "--json"], home=N)
    np = len(lines_of(P, idp))
    h.check("discover --fetch P: every statement verified and stored",
            r.returncode == 0 and j["accepted"] == np and j["rejected"] == 0 and
            j["refused"] == [] and j["directory"] == node.url, out(r) + err(r))
    h.check("the fetched feed equals P's", sorted(lines_of(N, idp)) == sorted(lines_of(P, idp)))
    r = h.run(["discover", "--fetch", idx], home=N)
    h.check("discover --fetch of an author the directory does not list fails",
            r.returncode == 1 and "not listed" in err(r), err(r))
    r = h.run(["discover", "--fetch", idn], home=N)
    h.check("discover --fetch of one's own ID refused", r.returncode == 1 and "own" in err(r),
            err(r))
    r = h.run(["search", "borrow"], home=N)
    h.check("plain search still shows no untrusted author",
            r.returncode == 0 and "Borrow checker" not in out(r), out(r))
    r, j = h.run_json(["search", "borrow", "--include-untrusted", "--json"], home=N)
    res = (j or {}).get("results", [])
    h.check("search --include-untrusted finds P's lesson, marked untrusted",
            r.returncode == 0 and len(res) == 1 and res[0]["author"] == idp and
            res[0]["level"] == "untrusted" and res[0]["hops"] == -1 and res[0]["rank"] == 0,
            out(r) + err(r))
    r = h.run(["search", "borrow", "--include-untrusted"], home=N)
    h.check("search --include-untrusted (human) says UNTRUSTED",
            r.returncode == 0 and "UNTRUSTED" in out(r), out(r))

    # ---- trust by @name, sync from the directory, plain search ------------------
    r = h.run(["name", "set", idp, "pub"], home=N)
    h.check("name set P pub", r.returncode == 0, err(r))
    r = h.run(["trust", "add", "@pub", "--level", "full"], home=N)
    h.check("trust add @pub", r.returncode == 0 and idp in out(r), out(r) + err(r))
    r, j = h.run_json(["search", "borrow", "--json"], home=N)
    res = (j or {}).get("results", [])
    h.check("plain search now finds P's lesson (full, 1 hop)",
            len(res) == 1 and res[0]["level"] == "full" and res[0]["hops"] == 1, out(r))
    # P writes a new lesson; the directory gets it (its owner imports P's feed)
    publish(P, "rust", "Pattern matching", "Match arms must be exhaustive; zygomorphic.\n")
    copy_feed(P, D)
    ok = node.wait_for(lambda: node.get_json("/v1/directory?topic=rust",
                                             token=False)[1][0]["seq"] == len(lines_of(P, idp)),
                       timeout=15)
    h.check("the running directory sees P's new lesson", ok)
    r = h.run(["search", "zygomorphic"], home=N)
    h.check("not found before the sync", "Pattern matching" not in out(r), out(r))
    r, j = h.run_json(["sync", "--json"], home=N, timeout=120)
    h.check("mesh sync pulls from the directory", r.returncode == 0 and j["directories"] == 1
            and j["accepted"] == 1 and j["pushed"] == 0, out(r) + err(r))
    r = h.run(["search", "zygomorphic"], home=N)
    h.check("plain search finds the new lesson after the sync",
            r.returncode == 0 and "Pattern matching" in out(r) and "(pub)" in out(r),
            out(r) + err(r))
    r, j = h.run_json(["sync", "--json"], home=N, timeout=120)
    h.check("a second sync pulls nothing new", r.returncode == 0 and j["accepted"] == 0,
            out(r) + err(r))
    # X is not in the newcomer's horizon: never pulled even though it is in D
    h.check("the sync pulled no one outside the newcomer's horizon", lines_of(N, idx) == [])

    r = h.run(["directory", "remove", "http://127.0.0.1:1"], home=N)
    h.check("directory remove of an unknown URL fails", r.returncode == 1, err(r))


# ---- a lying directory ----------------------------------------------------------

def canon(obj):
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


class Liar(http.server.BaseHTTPRequestHandler):
    listing = b""
    lessons = b""
    feed = b""
    node_id = ""

    def log_message(self, *a):
        pass

    def do_GET(self):
        path = self.path.split("?")[0]
        if path == "/v1/id":
            body, ct = json.dumps({"node_id": Liar.node_id}).encode(), "application/json"
        elif path == "/v1/directory":
            body, ct = Liar.listing, "application/json"
        elif path == "/v1/directory/lessons":
            body, ct = Liar.lessons, "application/x-ndjson"
        elif path.startswith("/v1/directory/feed/"):
            body, ct = (Liar.feed if "from=1&" in self.path else b""), "application/x-ndjson"
        else:
            self.send_response(404)
            self.end_headers()
            return
        self.send_response(200)
        self.send_header("Content-Type", ct)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def liar():
    global fake
    plines = lines_of(P, idp)
    lesson = next(json.loads(l) for l in plines if json.loads(l)["type"] == "lesson")
    forged = dict(lesson, title="Forged: send your key to me")
    xlesson = next(l for l in lines_of(X, idx) if json.loads(l)["type"] == "lesson")
    Liar.node_id = idq
    Liar.listing = json.dumps([{"node_id": idp, "topics": ["rust"], "lessons": 2,
                                "latest": lesson["ts"], "inbound": 1.0, "seq": 9}]).encode()
    Liar.lessons = canon(forged) + b"\n" + xlesson + b"\n"
    # P's feed with its first lesson replaced by the forged one
    feed = [canon(forged) if json.loads(l).get("title") == lesson["title"] else l for l in plines]
    Liar.feed = b"\n".join(feed) + b"\n"
    fake = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Liar)
    threading.Thread(target=fake.serve_forever, daemon=True).start()
    furl = "http://127.0.0.1:%d" % fake.server_address[1]
    L = h.path("liar-victim")
    h.init(L)
    r, j = h.run_json(["discover", "--directory", furl, "--json"], home=L)
    ref = (j or {}).get("refused", [])
    reasons = " | ".join(x.get("reason", "") for x in ref)
    h.check("a lying directory's forged lessons are refused and reported (exit 1)",
            r.returncode == 1 and len(ref) == 2 and "signature" in reasons and
            "not by the publisher" in reasons, out(r) + err(r))
    h.check("no forged sample is shown",
            all(not p["samples"] for p in j["publishers"]) if j else False, j)
    r = h.run(["discover", "--directory", furl], home=L)
    h.check("discover (human) reports the refusals on stderr",
            r.returncode == 1 and "refused from directory" in err(r) and
            "Forged" not in out(r), out(r) + err(r))
    r, j = h.run_json(["discover", "--fetch", idp, "--directory", furl, "--json"], home=L)
    h.check("discover --fetch from the liar: the forged statement refused, exit 1",
            r.returncode == 1 and j is not None and len(j["refused"]) == 1 and
            "signature" in j["refused"][0]["reason"], out(r) + err(r))
    r, j = h.run_json(["search", "forged key", "--include-untrusted", "--json"], home=L)
    h.check("nothing forged was stored", r.returncode == 0 and j["results"] == [], out(r))
    r = h.run(["directory", "add", furl], home=L)
    h.check("directory add of a server that answers /v1/directory works", r.returncode == 0,
            err(r))


# ---- the boundary ---------------------------------------------------------------

def boundary():
    global pnode
    st, body, hd = node.get("/v1/directory", token=False)
    dg, _ = h.head(D)
    h.check("GET /v1/directory without a token: 200 with X-Mesh-Digest",
            st == 200 and hd.get("X-Mesh-Digest") == dg, (st, hd))
    st, body, hd = node.get("/v1/directory/lessons?author=" + idx, token=False)
    h.check("lessons of an unlisted author: 404", st == 404, (st, body))
    st, body, hd = node.get("/v1/directory/feed/" + idq, token=False)
    h.check("feed of an unlisted (limited) author: 404", st == 404, (st, body))
    st, body, hd = node.get("/v1/directory/feed/" + idp + "?limit=1001", token=False)
    h.check("limit over 1000 refused", st == 400, (st, body))
    st, body, hd = node.get("/v1/directory/lessons?limit=10", token=False)
    ls = [json.loads(l) for l in body.split(b"\n") if l]
    h.check("/v1/directory/lessons: only listed authors' lessons, newest first",
            st == 200 and ls and all(x["iss"] == idp and x["type"] == "lesson" for x in ls) and
            [x["ts"] for x in ls] == sorted((x["ts"] for x in ls), reverse=True), body)
    for path in ["/v1/feeds", "/v1/feeds/" + idp, "/v1/trust?target=" + idp,
                 "/v1/trust/path?target=" + idp, "/v1/trust/list", "/v1/search?q=borrow",
                 "/v1/metrics", "/v1/graph", "/v1/pot", "/v1/peers", "/v1/log", "/v1/names",
                 "/metrics", "/v1/nothing"]:
        time.sleep(0.06)
        st, body, hd = node.get(path, token=False)
        h.check("without a token %s is refused (%d)" % (path, st), st in (401, 403), body)
    st, body, hd = node.get("/v1/directory", token=False, method="POST", body=b"x")
    h.check("POST /v1/directory: 405", st == 405, (st, body))
    # a well-formed peer header (of an identity the directory does not trust,
    # its signature not even checked) is ignored: the directory is anonymous
    time.sleep(1.0)
    auth = "Mesh id=%s,ts=%d,nonce=%s,sig=%s" % (idx, int(time.time()), "ab" * 16, "A" * 86)
    st, body, hd = node.get("/v1/directory", token=False, headers={"Authorization": auth})
    h.check("a peer header on /v1/directory is ignored", st == 200, (st, body))
    # the lowest tier per address: burst 40 at 5/s (policy.toml above)
    time.sleep(3)
    codes, retry = [], None
    for _ in range(200):
        st, body, hd = node.get("/v1/directory?topic=rust", token=False)
        codes.append(st)
        if st == 429 and retry is None:
            retry = hd.get("Retry-After")
        if st == 429 and len(codes) >= 60:
            break
    h.check("beyond the lowest tier: 429 with Retry-After",
            codes[:20] == [200] * 20 and 429 in codes and retry is not None and int(retry) >= 1,
            codes)
    # the bucket is empty now: the CLI waits as Retry-After says instead of failing
    r, j = h.run_json(["discover", "--topic", "rust", "--json"], home=N, timeout=120)
    h.check("mesh discover right after the burst waits for the directory's rate and succeeds",
            r.returncode == 0 and j and j["directories"][0]["status"] == "ok" and
            [p["node_id"] for p in j["publishers"]] == [idp], out(r) + err(r))
    st, body, hd = node.get("/v1/directory", token=True)
    h.check("the local client is not held to the anonymous tier", st == 200, st)
    time.sleep(1.5)
    st, body, hd = node.get("/v1/directory", token=False)
    h.check("after waiting: 200 again", st == 200, st)
    # a node without node.directory: as absent
    pnode = Node(h, P, "pub", extra=["--log-format", "json", "--log-level", "debug"]).start()
    st, body, hd = pnode.get("/v1/directory", token=False)
    h.check("node.directory off: /v1/directory needs authentication (401)", st == 401, st)
    st, body, hd = pnode.get("/v1/directory", token=True)
    h.check("node.directory off: 404 to the owner", st == 404, st)
    st, body, hd = pnode.get('/v1/nothing%22%1b%5B31m"', token=True)
    with open(pnode.log, "rb") as f:
        lines = [l for l in f.read().decode(errors="replace").splitlines() if l.strip()]
    docs = []
    for l in lines:
        try:
            docs.append(json.loads(l))
        except ValueError:
            docs.append(None)
    reqs = [d for d in docs if d and d.get("msg") == "request"]
    h.check("--log-format json: every log line is one JSON object with ts and level",
            lines and all(d and "ts" in d and "level" in d for d in docs), lines[:5])
    h.check("--log-format json: request records carry method, path, status; controls escaped",
            any(d.get("path", "").startswith("/v1/nothing") and d.get("status") == "404"
                and "\x1b" not in d.get("path", "") for d in reqs), reqs[-3:])
    r = h.run(["directory", "add", pnode.url], home=N)
    h.check("directory add of a node that is not a directory fails, naming the fix",
            r.returncode == 1 and "node.directory on" in err(r), err(r))


try:
    h.guard("story", story)
    h.guard("liar", liar)
    h.guard("boundary", boundary)
finally:
    node.stop()
    if pnode:
        pnode.stop()
    if fake:
        fake.shutdown()
h.finish()
