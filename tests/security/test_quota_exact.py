"""The per-peer daily quota holds exactly (SPEC §5: node.maxStatementsPerPeerPerDay,
over-quota statements refused with that reason, never dropped silently).

Node A sets node.maxStatementsPerPeerPerDay to N (the per-issuer quota high, so
only the per-peer one acts) and trusts four issuers (limited: in its horizon)
and two peers P1 and P2 (full: they may push). P1 pushes the issuers'
statements over several signed POST /v1/statements requests, mixed with
duplicates, invalid lines and statements of an issuer outside A's horizon:
exactly N are accepted in total, statement N+1 and all after it are refused
with a reason naming the per-peer quota and P1; duplicates and invalid lines
cost nothing; a malformed body changes nothing. P2 still gets its own N. The
quota survives a restart of the node. Refused statements are not stored:
`mesh log head --json` grows by exactly 2N and each feed holds what was
accepted, no more.
Usage: test_quota_exact.py MESH BENCH_INGEST"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "integration"))
from mtharness import Harness, stmt_id  # noqa: E402
from nodeutil import Node, signed  # noqa: E402
from secutil import run_main  # noqa: E402

N = 25
PER_ISSUER = 15
h = Harness(sys.argv)
nodes = []


def ok(home, args, what, stdin=None):
    r = h.run(args, home=home, stdin=stdin)
    h.check(what, r.returncode == 0, r.stderr.decode(errors="replace")[-300:])
    return r


def publish(home, name, count):
    """`count` lessons by `home`; its feed as canonical NDJSON lines (seq order)."""
    for i in range(count):
        r = h.run(["lesson", "publish", "--topic", "quota", "--title", "%s %d" % (name, i), "-"],
                  home=home, stdin=("body %s %d" % (name, i)).encode())
        if r.returncode != 0:
            raise RuntimeError("publish failed: %s" % r.stderr.decode(errors="replace"))
    return h.export_lines(home)[1]


def push(node, peer_home, lines, name):
    """POST the lines from `peer_home`; (status, result lines)."""
    body = h.path(name + ".ndjson")
    with open(body, "wb") as f:
        f.write(b"\n".join(lines) + b"\n")
    st, text = signed(h, peer_home, "POST", node.url + "/v1/statements", ["--body", body])
    results = [l for l in (text or "").splitlines()
               if l.startswith(("accepted", "duplicate", "rejected"))]
    return st, results, text


def per_peer_refusal(line, peer_id):
    return (line.startswith("rejected: ") and "over quota" in line and peer_id in line
            and "node.maxStatementsPerPeerPerDay" in line)


def main():
    a, p1, p2, stranger = h.path("a"), h.path("p1"), h.path("p2"), h.path("stranger")
    h.init(a, legacy=True)
    id1, id2 = h.init(p1, legacy=True), h.init(p2, legacy=True)
    h.init(stranger, legacy=True)
    iss = [h.path("i%d" % k) for k in range(4)]
    iss_ids = [h.init(x, legacy=True) for x in iss]
    feeds = [publish(x, "i%d" % k, PER_ISSUER) for k, x in enumerate(iss)]
    alien = publish(stranger, "stranger", 3)
    h.check("four issuers with %d statements each" % PER_ISSUER,
            all(len(f) == PER_ISSUER for f in feeds), [len(f) for f in feeds])

    for x in iss_ids:
        ok(a, ["trust", "add", x, "--level", "limited", "--score", "0.5"], "A trusts an issuer")
    ok(a, ["trust", "add", id1, "--level", "full"], "A trusts P1 full")
    ok(a, ["trust", "add", id2, "--level", "full"], "A trusts P2 full")
    ok(a, ["config", "set", "node.maxStatementsPerPeerPerDay", str(N)], "per-peer quota N")
    ok(a, ["config", "set", "node.maxStatementsPerIssuerPerDay", "100000"],
       "per-issuer quota out of the way")
    _, before = h.head(a)
    node = Node(h, a, "a").start()
    nodes.append(node)

    # 1: fifteen of I0's statements -> all accepted (15 of N used)
    st, res, text = push(node, p1, feeds[0], "r1")
    h.check("P1 request 1: %d accepted" % PER_ISSUER,
            st == 200 and res == ["accepted"] * PER_ISSUER, (st, text[:300]))

    # 2: duplicates, invalid lines, an issuer outside the horizon, then 5 new
    bad_sig = feeds[2][0].replace(b"i2 0", b"i2 X")  # still JSON, signature broken
    non_canon = b"{ " + feeds[2][1][1:]  # white space: not canonical
    lines = feeds[0][:3] + [bad_sig, non_canon] + alien + feeds[1][:5]
    st, res, text = push(node, p1, lines, "r2")
    h.check("P1 request 2: one result line per statement", st == 200 and len(res) == len(lines),
            (st, text[:300]))
    if len(res) == len(lines):
        h.check("duplicates are reported as duplicates", res[:3] == ["duplicate"] * 3, res[:3])
        h.check("invalid lines are rejected, not for the quota",
                all(l.startswith("rejected") and "quota" not in l for l in res[3:5]), res[3:5])
        h.check("an issuer outside the horizon is rejected for that, not for the quota",
                all("horizon" in l and "quota" not in l for l in res[5:8]), res[5:8])
        h.check("five new statements accepted (20 of N used)",
                res[8:] == ["accepted"] * 5, res[8:])

    # 2b: a body with a line that is not JSON is refused whole: nothing counted
    st, res, text = push(node, p1, feeds[1][5:10] + [b"{not json"], "r2b")
    h.check("a malformed body is refused whole (400)", st == 400 and not res, (st, text[:200]))

    # 3: ten more: exactly five fit (N reached), the sixth and the rest refused
    st, res, text = push(node, p1, feeds[1][5:], "r3")
    h.check("P1 request 3: one result line per statement", st == 200 and len(res) == 10,
            (st, text[:300]))
    if len(res) == 10:
        h.check("statements 21..25 accepted", res[:5] == ["accepted"] * 5, res[:6])
        h.check("statement N+1 (26) refused, naming the per-peer quota and P1",
                per_peer_refusal(res[5], id1), res[5])
        h.check("the rest refused the same way", all(per_peer_refusal(l, id1) for l in res[5:]),
                res[5:])
        print("sample refusal:", res[5])

    # 4: at the quota: duplicates still answer duplicate, every new one is refused
    st, res, text = push(node, p1, feeds[0][:2] + feeds[2], "r4")
    h.check("P1 request 4: one result line per statement",
            st == 200 and len(res) == 2 + PER_ISSUER, (st, text[:300]))
    if len(res) == 2 + PER_ISSUER:
        h.check("at the quota duplicates are still duplicates, not refusals",
                res[:2] == ["duplicate"] * 2, res[:2])
        h.check("at the quota every new statement is refused for the per-peer quota",
                all(per_peer_refusal(l, id1) for l in res[2:]), res[2:4])

    # P2 has its own N: I1's last five, I2's fifteen, I3's first five; I3's
    # sixth on is refused naming P2 (duplicates first cost nothing)
    lines = feeds[0][:4] + feeds[1][10:] + feeds[2] + feeds[3]
    st, res, text = push(node, p2, lines, "r5")
    h.check("P2: one result line per statement", st == 200 and len(res) == len(lines),
            (st, text[:300]))
    if len(res) == len(lines):
        h.check("P2: its duplicates are duplicates", res[:4] == ["duplicate"] * 4, res[:4])
        h.check("P2: exactly N accepted", res[4:4 + N] == ["accepted"] * N, res[4:4 + N + 1])
        h.check("P2: statement N+1 on refused, naming the per-peer quota and P2",
                all(per_peer_refusal(l, id2) for l in res[4 + N:]), res[4 + N:4 + N + 2])
    st, res, text = push(node, p1, feeds[3][5:7], "r6")
    h.check("P1 is still refused after P2's push",
            st == 200 and len(res) == 2 and all(per_peer_refusal(l, id1) for l in res), res)

    # the quota is kept by the node, not the process: a restart changes nothing
    node.stop()
    node = Node(h, a, "a2").start()
    nodes.append(node)
    for peer_home, pid, name in ((p1, id1, "P1"), (p2, id2, "P2")):
        st, res, text = push(node, peer_home, feeds[3][5:8], "r7" + name)
        h.check("after a restart %s is still over its quota" % name,
                st == 200 and len(res) == 3 and all(per_peer_refusal(l, pid) for l in res),
                (st, res))
    node.stop()

    # refused statements are not stored
    _, after = h.head(a)
    h.check("A holds exactly 2N more statements (log head --json)", after == before + 2 * N,
            (before, after))
    held = [[stmt_id(l) for l in h.export_lines(a, x)[1]] for x in iss_ids]
    want = [feeds[0], feeds[1], feeds[2], feeds[3][:5]]
    for k in range(4):
        h.check("A's copy of issuer %d's feed is exactly what was accepted (%d)" %
                (k, len(want[k])), held[k] == [stmt_id(l) for l in want[k]], len(held[k]))
    h.check("nothing of the stranger's feed is held",
            not h.export_lines(a, h.node_id(stranger))[1])
    r = h.run(["log", "verify"], home=a)
    h.check("A's log verifies", r.returncode == 0, r.stdout.decode(errors="replace")[-300:])


run_main(h, "per-peer quota", main, nodes)
