"""Issue #14 item 3: the answer to `POST /v1/statements` is bounded.

Attack: a 2 MiB body of `{}` lines (699050 statements, each rejected) made the
old node build and send a 25 MB answer, one `rejected: …` line per statement:
a 12x amplification of whatever the caller sends, held in memory per request.

Checks:
  - bearer: 3 valid statements followed by 2 MiB of `{}` lines → 200, an
    answer under 200 KB, its first three lines `accepted`, at most 1000
    `rejected:` lines, and a last line starting `summary:` with the totals
    (3 accepted, 0 duplicate, 699050 rejected);
  - 1500 bad lines: at most 1000 `rejected:` lines and a summary of 1500;
  - the same 2 MiB pushed by a peer trusted full (signed POST): answer under
    200 KB, capped, with its summary;
  - small bodies keep their per-statement answers: 3 bad lines → 3
    `rejected:` lines; a duplicate plus a bad line → `duplicate`, `rejected: …`.
"""
import os
import re
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from mtharness import Harness  # noqa: E402
from nodeutil import Node, signed  # noqa: E402
from secutil import check_serving, run_main  # noqa: E402

h = Harness(sys.argv)
nodes = []
MAX_REPLY = 200 * 1024
MAX_LISTED = 1000


def total(summary, word):
    """The count next to `word` in the summary line: "accepted=3",
    "accepted: 3", "3 accepted" all read as 3. None when absent."""
    m = re.search(r"\b%s\b\s*[=:]?\s*(\d+)" % word, summary)
    if m:
        return int(m.group(1))
    m = re.search(r"(\d+)\s+%s\b" % word, summary)
    return int(m.group(1)) if m else None


def check_big(label, st, reply, n_bad, n_ok):
    size = len(reply)
    lines = reply.decode(errors="replace").split("\n")
    while lines and lines[-1] == "":
        lines.pop()
    rejected = [l for l in lines if l.startswith("rejected:")]
    last = lines[-1] if lines else ""
    print("  %s: status %s, %d bytes, %d lines, %d rejected: lines, last %r" % (
        label, st, size, len(lines), len(rejected), last[:200]))
    h.check("%s: 200" % label, st == 200, (st, reply[:300]))
    h.check("%s: answer under %d KB" % (label, MAX_REPLY // 1024), size < MAX_REPLY,
            "%d bytes" % size)
    h.check("%s: at most %d `rejected:` lines listed" % (label, MAX_LISTED),
            0 < len(rejected) <= MAX_LISTED, "%d listed" % len(rejected))
    if n_ok:
        h.check("%s: the first %d lines answer the valid statements (accepted)" % (label, n_ok),
                lines[:n_ok] == ["accepted"] * n_ok, lines[:n_ok + 1])
    h.check("%s: the last line starts with `summary:`" % label, last.startswith("summary:"),
            "last line %r" % last[:300])
    if last.startswith("summary:"):
        got = (total(last, "accepted"), total(last, "duplicate"), total(last, "rejected"))
        h.check("%s: summary totals accepted=%d duplicate=0 rejected=%d" % (label, n_ok, n_bad),
                got == (n_ok, 0, n_bad), "read %s from %r" % (got, last))


def main():
    a, o = h.path("a"), h.path("o")
    ida, ido = h.init(a, legacy=True), h.init(o, legacy=True)
    for i in range(3):
        r = h.run(["refer", ida, "--note", "n%d" % i], home=o)
        h.check("o issues statement %d" % i, r.returncode == 0, r.stderr)
    _, good = h.export_lines(o, ido)
    h.run(["trust", "add", ido, "--level", "full", "--score", "0.9"], home=a)
    node = Node(h, a, "a").start()
    nodes.append(node)

    n_bad = (2 * 1024 * 1024) // 3
    body = b"\n".join(good) + b"\n" + b"{}\n" * n_bad
    t0 = time.monotonic()
    st, reply, _ = node.get("/v1/statements", method="POST", body=body, timeout=80)
    print("  2 MiB POST answered in %.1f s" % (time.monotonic() - t0))
    check_big("bearer, 3 valid + %d `{}` lines" % n_bad, st, reply, n_bad, 3)

    st, reply, _ = node.get("/v1/statements", method="POST", body=b"{}\n" * 1500, timeout=30)
    check_big("bearer, 1500 `{}` lines", st, reply, 1500, 0)

    # A full peer pushes the same flood (signed; o is trusted full by a).
    bf = h.path("flood.ndjson")
    with open(bf, "wb") as f:
        f.write(b"{}\n" * n_bad)
    st, text = signed(h, o, "POST", node.url + "/v1/statements", ["--body", bf], timeout=80)
    check_big("full peer, %d `{}` lines" % n_bad, st, (text or "").encode(), n_bad, 0)

    # Small bodies: one answer per statement.
    st, reply, _ = node.get("/v1/statements", method="POST", body=b"{}\n{}\n{}\n")
    lines = reply.decode(errors="replace").split("\n")
    rej = [l for l in lines if l.startswith("rejected:")]
    h.check("3 bad lines: 200 with 3 `rejected:` lines, first", st == 200 and len(rej) == 3 and
            all(l.startswith("rejected:") for l in lines[:3]), (st, reply[:400]))
    st, reply, _ = node.get("/v1/statements", method="POST", body=good[0] + b"\n{}\n")
    lines = reply.decode(errors="replace").split("\n")
    h.check("a duplicate and a bad line: `duplicate`, `rejected: …`",
            st == 200 and lines[0] == "duplicate" and lines[1].startswith("rejected:"),
            (st, reply[:400]))
    check_serving(h, node)


run_main(h, "reject cap", main, nodes)
