"""Issue #14 item 1, SPEC §9.4: the scope that decides a peer's rights and rate
tier is the scope of the data served -- always `global` for /v1/feeds,
/v1/feeds/<iss>, POST /v1/statements and /v1/search; the query's scope for
/v1/trust, /v1/trust/path, /v1/metrics, /v1/graph. A query parameter never
widens a right.

The attack: P is trusted `full 0.9` in topic:cooking but only `limited 0.3`
in global. By adding `scope=topic:cooking` to a request it used to sync
(/v1/feeds), read feeds, push statements, and get the 200/s burst 50 tier on
/v1/search instead of its global 20/s burst 5.

Run: PYTHONPATH=tests/integration python3 tests/security/test_scope_rights.py MESH BENCH_INGEST
"""
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "integration"))
from mtharness import Harness  # noqa: E402
from nodeutil import Node, signed  # noqa: E402
from secutil import burst, err_text, ok_run, run_main  # noqa: E402

h = Harness(sys.argv)
nodes = []


def tier_of(home_a, peer, scope):
    """What `mesh policy eval` (the CLI oracle) says about `peer` in `scope`."""
    r, j = h.run_json(["policy", "eval", "--peer", peer, "--scope", scope, "--json"], home=home_a)
    if r.returncode != 0 or not j:
        raise RuntimeError("policy eval failed: %s" % r.stderr.decode(errors="replace"))
    return j


def main():
    a, p, f, u = h.path("a"), h.path("p"), h.path("f"), h.path("u")
    ida, idp, idf, idu = h.init(a), h.init(p), h.init(f), h.init(u)
    # P: full 0.9 in topic:cooking, limited 0.3 in global (the default scope).
    ok_run(h, ["trust", "add", idp, "--level", "full", "--score", "0.9", "--scope",
               "topic:cooking"], a, "trust P in topic:cooking")
    ok_run(h, ["trust", "add", idp, "--level", "limited", "--score", "0.3"], a, "trust P in global")
    # F: the control, full 0.9 in global.
    ok_run(h, ["trust", "add", idf, "--level", "full", "--score", "0.9"], a, "trust F in global")
    # U: trusted only in topic:cooking, nothing in global.
    ok_run(h, ["trust", "add", idu, "--level", "full", "--score", "0.9", "--scope",
               "topic:cooking"], a, "trust U in topic:cooking")
    # A valid statement by P to push: a lesson, exported from P's home.
    lesson = h.path("lesson.txt")
    with open(lesson, "w") as fh:
        fh.write("how to braise leeks\n")
    ok_run(h, ["lesson", "publish", "--topic", "cooking", "--title", "leeks", lesson], p,
           "P publishes a lesson")
    _, lines = h.export_lines(p, idp)
    body = h.path("p-feed.ndjson")
    with open(body, "wb") as fh:
        fh.write(b"\n".join(lines) + b"\n")

    node = Node(h, a, "a").start()
    nodes.append(node)
    base = node.url

    def peer(home, method, path, extra=()):
        st, text = signed(h, home, method, base + path, list(extra))
        # P's global tier is 20/s burst 5: pace the single requests so the
        # bucket never empties and a 429 cannot stand in for the 403 we want.
        time.sleep(0.3)
        return st, text

    # -- control: a peer trusted full in global syncs ----------------------------
    st, text = peer(f, "GET", "/v1/feeds")
    h.check("control: F (full 0.9 global) gets 200 on GET /v1/feeds", st == 200,
            "status %s body %s" % (st, text[:300]))

    # -- rights of P: global decides feeds and pushes -----------------------------
    def refused_full_global(name, st, text):
        e = err_text(text)
        h.check(name, st == 403 and "full" in e and "global" in e,
                "want 403 whose error names `full` trust in global; got status %s body %s"
                % (st, text[:400]))

    st, text = peer(p, "GET", "/v1/feeds")
    refused_full_global("P (limited in global) gets 403 on GET /v1/feeds", st, text)
    st, text = peer(p, "GET", "/v1/feeds?scope=topic:cooking")
    refused_full_global("P gets 403 on GET /v1/feeds?scope=topic:cooking (the query's scope "
                        "does not widen the right)", st, text)
    st, text = peer(p, "GET", "/v1/feeds/%s?from=1&scope=topic:cooking" % ida)
    refused_full_global("P gets 403 on GET /v1/feeds/<A>?from=1&scope=topic:cooking", st, text)
    st, text = peer(p, "POST", "/v1/statements", ["--body", body])
    refused_full_global("P gets 403 on POST /v1/statements", st, text)
    st, text = peer(p, "POST", "/v1/statements?scope=topic:cooking", ["--body", body])
    refused_full_global("P gets 403 on POST /v1/statements?scope=topic:cooking", st, text)
    st2, j, _ = node.get_json("/v1/feeds")
    h.check("P's statement was not taken by A (A holds no feed of P)",
            st2 == 200 and not any(x.get("iss") == idp for x in (j or [])),
            "local GET /v1/feeds: %s %s" % (st2, j))

    # -- U (trusted only in topic:cooking): query-scoped endpoints yes, search no --
    st, text = peer(u, "GET", "/v1/trust?target=%s&scope=topic:cooking" % ida)
    h.check("U (topic:cooking only) may query /v1/trust in topic:cooking (query's scope)",
            st == 200, "status %s body %s" % (st, text[:300]))
    st, text = peer(u, "GET", "/v1/trust/path?target=%s&scope=topic:cooking" % idp)
    h.check("U may query /v1/trust/path in topic:cooking", st == 200,
            "status %s body %s" % (st, text[:300]))
    st, text = peer(u, "GET", "/v1/metrics?scope=topic:cooking")
    h.check("U may query /v1/metrics in topic:cooking", st == 200,
            "status %s body %s" % (st, text[:300]))
    st, text = peer(u, "GET", "/v1/graph?scope=topic:cooking")
    h.check("U may query /v1/graph in topic:cooking", st == 200,
            "status %s body %s" % (st, text[:300]))
    st, text = peer(u, "GET", "/v1/trust?target=%s" % ida)
    h.check("U is refused /v1/trust in global (403: untrusted there)", st == 403,
            "status %s body %s" % (st, text[:300]))
    st, text = peer(u, "GET", "/v1/search?q=leeks&scope=topic:cooking")
    h.check("U is refused GET /v1/search?scope=topic:cooking (403: search is decided in "
            "global, where U is untrusted)", st == 403,
            "status %s body %s" % (st, text[:300]))

    # -- rate tiers ------------------------------------------------------------------
    pol_topic = tier_of(a, idp, "topic:cooking")
    pol_global = tier_of(a, idp, "global")
    print("policy eval P topic:cooking: %s" % pol_topic.get("reason"))
    print("policy eval P global:        %s" % pol_global.get("reason"))
    # Let P's bucket refill completely whatever tier the requests above used
    # (a bucket refills at the rate that applied then: 50 tokens at 20/s = 2.5 s).
    time.sleep(3.0)
    # /v1/trust follows the query's scope: topic:cooking, where P scores 0.9.
    hist, secs = burst(h, p, base + "/v1/trust?target=%s&scope=topic:cooking" % ida, 40)
    tb = int(pol_topic["rate_limit"]["burst"])
    tr = float(pol_topic["rate_limit"]["per_second"])
    want = min(40, int(tb + tr * secs)) - 5
    print("40 x /v1/trust?scope=topic:cooking in %.3f s: %s (oracle: %s/s burst %s)"
          % (secs, hist, tr, tb))
    h.check("/v1/trust?scope=topic:cooking gets the topic:cooking tier (burst %d): >= %d of 40 "
            "admitted" % (tb, want), hist.get("200", 0) >= want,
            "statuses %s in %.3f s" % (hist, secs))
    # Refill (tier 1 refills at 200/s; the next request clamps to burst 5 anyway).
    time.sleep(1.0)
    # /v1/search is always global: P is 0.3 there -> 20/s burst 5.
    hist, secs = burst(h, p, base + "/v1/search?q=x&scope=topic:cooking", 40)
    gb = int(pol_global["rate_limit"]["burst"])
    gr = float(pol_global["rate_limit"]["per_second"])
    cap = int(gb + gr * secs) + 2
    print("40 x /v1/search?scope=topic:cooking in %.3f s: %s (global oracle: %s/s burst %s)"
          % (secs, hist, gr, gb))
    h.check("/v1/search?scope=topic:cooking is rated in global (burst %d): at most %d of 40 "
            "admitted, the rest 429" % (gb, cap),
            0 < hist.get("200", 0) <= cap and hist.get("200", 0) + hist.get("429", 0) == 40,
            "statuses %s in %.3f s (the query's scope must not buy a better tier)"
            % (hist, secs))
    time.sleep(0.5)
    st, text = peer(p, "GET", "/v1/search?q=x")
    h.check("P (limited in global) may still search (rights: limited suffices)", st == 200,
            "status %s body %s" % (st, text[:300]))


run_main(h, "scope rights", main, nodes)
