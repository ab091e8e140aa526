#!/usr/bin/python3
"""Bad input to `mesh`: every case fails with a clear error naming the
problem, exits non-zero and leaves the store unchanged (SPEC §1, §2, §7, §8).

usage: test_bad_input.py MESH BENCH_INGEST
"""
import json
import os
import stat
import subprocess
import sys
import time

sys.dont_write_bytecode = True  # keep the source tree clean
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from mtharness import Harness, stmt_id  # noqa: E402

h = Harness(sys.argv)
BIG_LINE = 200 * 1024 * 1024
STMT_MAX = 131072

# A valid Node ID that is nobody's key here (vector "A").
OTHER = "12D3KooWGkuRW7yst9fr1KppdciUiJTGRMgtZSA7AvDuAsF2UfuU"
OTHER2 = "12D3KooWD41VTaDQ2dC5ywDSnSLGbUNpqPTF1PdwGay1FCMW56oK"


def err_text(r):
    return r.stderr.decode(errors="replace")


def write(path, data):
    with open(path, "wb") as f:
        f.write(data)
    return path


def ndjson(lines, trailing_newline=True):
    return b"\n".join(lines) + (b"\n" if trailing_newline else b"")


def unchanged(name, home, before):
    after = h.head(home)
    h.check(name + ": store unchanged (digest, count)", after == before,
            "before %s after %s" % (before, after))


def refused_whole(name, home, r, must_contain):
    """A refused run: exit non-zero, message has every fragment."""
    e = err_text(r)
    h.check(name + ": exits non-zero", r.returncode != 0, r.returncode)
    for frag in must_contain:
        h.check(name + ": message says %r" % frag, frag.lower() in e.lower(), e.strip()[:300])


def mutate(line, **fields):
    """Re-serialise a canonical statement with some fields changed (keys stay sorted)."""
    d = json.loads(line)
    d.update(fields)
    out = json.dumps(d, separators=(",", ":"), sort_keys=True, ensure_ascii=False).encode()
    return out


# --------------------------------------------------------------------------
def setup():
    """Home S with its own statements and some imported ones; lines G not yet
    imported."""
    home = h.path("S")
    me = h.init(home, legacy=True)
    r = h.run(["trust", "add", OTHER, "--level", "full", "--score", "0.5"], home=home)
    assert r.returncode == 0, err_text(r)
    g = h.gen(80, h.path("g.ndjson"), 4)
    r = h.run(["log", "import", write(h.path("first.ndjson"), ndjson(g[:10]))], home=home)
    assert r.returncode == 0, err_text(r)
    digest, count = h.head(home)
    h.check("setup: store holds 11 statements", count == 11, count)
    return home, me, g[10:]


def test_truncated(home, g):
    before = h.head(home)
    # Cut at end of file (a download cut short): 10 valid lines, then half a line.
    f = write(h.path("trunc-eof.ndjson"),
              ndjson(g[0:10]) + g[10][:len(g[10]) // 2])
    r = h.run(["log", "import", f], home=home)
    refused_whole("truncated at EOF", home, r, ["line 11", "not JSON", "nothing imported"])
    unchanged("truncated at EOF", home, before)
    # A line cut in the middle of the file.
    f = write(h.path("trunc-mid.ndjson"),
              ndjson(g[0:5] + [g[5][:200]] + g[6:10]))
    r = h.run(["log", "import", "--json", f], home=home)
    refused_whole("line cut mid-file", home, r, ["line 6", "not JSON", "nothing imported"])
    unchanged("line cut mid-file", home, before)
    # None of the valid lines went in.
    ids = h.export_ids(home)
    h.check("truncated: none of the valid lines was imported",
            not (set(stmt_id(l) for l in g[0:10]) & ids))
    # The same data read from standard input is refused too.
    r = h.run(["log", "import", "-"], home=home,
              stdin=ndjson(g[0:10]) + g[10][:len(g[10]) // 2])
    refused_whole("truncated on stdin", home, r, ["standard input", "line 11", "nothing imported"])
    unchanged("truncated on stdin", home, before)


def test_huge_line(home, g):
    before = h.head(home)
    path = h.path("huge.ndjson")
    chunk = b"a" * (1 << 20)
    with open(path, "wb") as f:
        f.write(ndjson(g[0:3]))
        f.write(b'{"x":"')
        for _ in range(BIG_LINE // len(chunk)):
            f.write(chunk)
        f.write(b'"}\n')
        f.write(ndjson(g[3:6]))
    try:
        t0 = time.monotonic()
        p = subprocess.Popen([h.mesh, "--home", home, "log", "import", path],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=h.env)
        try:
            out, err = p.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            p.kill()
            p.communicate(timeout=30)
            raise
        elapsed = time.monotonic() - t0
    finally:
        os.unlink(path)
    h.check("200 MB line: exits non-zero", p.returncode != 0, p.returncode)
    e = err.decode(errors="replace")
    h.check("200 MB line: message names line 4 and the %d-byte limit" % STMT_MAX,
            "line 4" in e and str(STMT_MAX) in e and "nothing imported" in e, e[:300])
    h.check("200 MB line: refused within 30 s (%.1f s)" % elapsed, elapsed < 30, elapsed)
    unchanged("200 MB line", home, before)


def test_huge_line_memory(home, g):
    """Same refusal, measuring the child's peak RSS with wait4."""
    path = h.path("huge2.ndjson")
    chunk = b"b" * (1 << 20)
    with open(path, "wb") as f:
        f.write(b'{"x":"')
        for _ in range(BIG_LINE // len(chunk)):
            f.write(chunk)
        f.write(b'"}\n')
    try:
        devnull = open(os.devnull, "wb")
        p = subprocess.Popen([h.mesh, "--home", home, "log", "import", path],
                             stdout=devnull, stderr=devnull, env=h.env)
        deadline = time.monotonic() + 60
        res = None
        while time.monotonic() < deadline:
            pid, status, ru = os.wait4(p.pid, os.WNOHANG)
            if pid == p.pid:
                res = (status, ru)
                break
            time.sleep(0.05)
        if res is None:
            p.kill()
            os.wait4(p.pid, 0)
        p.returncode = 0  # reaped by hand; keep Popen from waiting again
        devnull.close()
    finally:
        os.unlink(path)
    h.check("200 MB line (memory run): finished within 60 s", res is not None)
    if res:
        status, ru = res
        maxrss_mb = ru.ru_maxrss / 1024.0
        h.check("200 MB line (memory run): exit status 1",
                os.WIFEXITED(status) and os.WEXITSTATUS(status) == 1, status)
        h.check("200 MB line: peak RSS %.1f MB < 64 MB (not read into memory)" % maxrss_mb,
                maxrss_mb < 64, maxrss_mb)


def test_over_limit_stdin(home, g):
    before = h.head(home)
    big = b'{"x":"' + b"c" * (STMT_MAX + 10) + b'"}'
    r = h.run(["log", "import", "-"], home=home, stdin=ndjson(g[0:2] + [big] + g[2:4]))
    refused_whole("over-limit line on stdin", home, r, ["line 3", str(STMT_MAX), "nothing imported"])
    unchanged("over-limit line on stdin", home, before)
    # a NUL byte is refused whole.
    nul = g[4][:50] + b"\x00" + g[4][51:]
    r = h.run(["log", "import", write(h.path("nul.ndjson"), ndjson(g[0:2] + [nul]))], home=home)
    refused_whole("NUL byte", home, r, ["line 3", "NUL", "nothing imported"])
    unchanged("NUL byte", home, before)


def test_bad_utf8(home, g):
    before = h.head(home)
    cases = [("lone 0xff", b"\xff"), ("surrogate", b"\xed\xa0\x80"), ("overlong", b"\xc0\xaf"),
             ("cut sequence", b"\xe2\x82")]
    for name, bad in cases:
        line = g[1].replace(b'"type":"trust"', b'"type":"tr' + bad + b'ust"')
        assert line != g[1]
        f = write(h.path("utf8.ndjson"), ndjson([g[0], line, g[2]]))
        r = h.run(["log", "import", f], home=home)
        e = err_text(r)
        refused_whole("invalid UTF-8 (%s)" % name, home, r, ["line 2", "nothing imported"])
        h.check("invalid UTF-8 (%s): message names the bad bytes" % name,
                "utf-8" in e.lower() or "decode byte" in e.lower(), e[:300])
        unchanged("invalid UTF-8 (%s)" % name, home, before)


def test_non_canonical_and_bad_sig(home, g):
    lines = g[20:30]
    d0, n0 = h.head(home)
    spaced = json.dumps(json.loads(lines[2])).encode()           # ", " and ": "
    reordered = json.dumps(dict(reversed(list(json.loads(lines[4]).items()))),
                           separators=(",", ":")).encode()
    assert spaced != lines[2] and reordered != lines[4]
    sig_line = lines[6]
    i = sig_line.index(b'"sig":"') + 7 + 10
    bad_sig = sig_line[:i] + (b"A" if sig_line[i:i + 1] != b"A" else b"B") + sig_line[i + 1:]
    score = json.loads(lines[8])["score"]
    bad_body = mutate(lines[8], score=score + 1 if score < 1000 else score - 1)
    assert bad_body != lines[8]
    bad = {3: spaced, 5: reordered, 7: bad_sig, 9: bad_body}   # 1-based line numbers
    mixed = [bad.get(k + 1, l) for k, l in enumerate(lines)]
    f = write(h.path("mixed.ndjson"), ndjson(mixed))
    r, j = h.run_json(["log", "import", "--json", f], home=home)
    h.check("mixed file: exit 1 (some rejected)", r.returncode == 1, (r.returncode, err_text(r)))
    h.check("mixed file: --json report parsed", isinstance(j, dict), r.stdout[:200])
    if not isinstance(j, dict):
        return
    rej = {x.get("line"): x.get("reason", "") for x in j.get("rejected", [])}
    h.check("mixed file: 6 accepted, 0 duplicate",
            j.get("accepted") == 6 and j.get("duplicate") == 0, j)
    h.check("mixed file: rejected exactly lines 3,5,7,9", sorted(rej) == [3, 5, 7, 9], rej)
    h.check("white space -> 'not canonical'", "not canonical" in rej.get(3, ""), rej.get(3))
    h.check("keys out of order -> 'not canonical'", "not canonical" in rej.get(5, ""), rej.get(5))
    h.check("altered sig -> 'bad signature'", "bad signature" in rej.get(7, ""), rej.get(7))
    h.check("altered body -> 'bad signature'", "bad signature" in rej.get(9, ""), rej.get(9))
    ids = h.export_ids(home)
    good = [l for k, l in enumerate(lines) if k + 1 not in bad]
    h.check("mixed file: the 6 valid lines are stored",
            all(stmt_id(l) in ids for l in good))
    h.check("mixed file: no rejected statement is stored",
            not any(stmt_id(b) in ids for b in bad.values())
            and not any(stmt_id(lines[k - 1]) in ids for k in bad))
    d1, n1 = h.head(home)
    h.check("mixed file: count grew by exactly 6", n1 == n0 + 6, (n0, n1))
    # Without --json the reasons go to stderr with line numbers.
    r = h.run(["log", "import", f], home=home)
    e = err_text(r)
    h.check("mixed file again: exit 1, stderr names line 3 not canonical and line 7 bad signature",
            r.returncode == 1 and "line 3 rejected: not canonical" in e
            and "line 7 rejected: bad signature" in e, e[:400])
    h.check("mixed file again: summary says 0 accepted, 6 duplicate, 4 rejected",
            b"0 accepted, 6 duplicate, 4 rejected" in r.stdout, r.stdout[:200])
    h.check("mixed file again: store unchanged", h.head(home) == (d1, n1))


def test_key_mode(home):
    key = os.path.join(home, "identity.key")
    for mode in (0o644, 0o640, 0o604):
        os.chmod(key, mode)
        before = h.head(home)
        for args in (["trust", "add", OTHER2, "--level", "full"],
                     ["trust", "block", OTHER2],
                     ["refer", OTHER2, "--note", "hello"],
                     ["id"], ["id", "--json"]):
            r = h.run(args, home=home)
            e = err_text(r)
            h.check("key mode %04o: `%s` fails with 'too open'" % (mode, " ".join(args[:2])),
                    r.returncode != 0 and "too open" in e and "identity.key" in e,
                    (r.returncode, e[:200]))
        unchanged("key mode %04o" % mode, home, before)
    os.chmod(key, 0o600)
    before = h.head(home)
    r = h.run(["trust", "add", OTHER2, "--level", "full"], home=home)
    h.check("key mode back to 0600: trust add works", r.returncode == 0, err_text(r))
    h.check("key mode back to 0600: one statement issued", h.head(home)[1] == before[1] + 1)


def test_init_existing(home):
    key = os.path.join(home, "identity.key")
    with open(key, "rb") as f:
        old = f.read()
    old_mode = stat.S_IMODE(os.stat(key).st_mode)
    seed = write(h.path("seed.hex"), b"11" * 32 + b"\n")
    for extra in ([], ["--seed-file", seed]):
        r = h.run(["init"] + extra, home=home)
        e = err_text(r)
        h.check("init over existing key %s: refused (exit 1, 'already exists')" % extra,
                r.returncode == 1 and "already exists" in e, (r.returncode, e[:200]))
        with open(key, "rb") as f:
            h.check("init over existing key %s: key file unchanged" % extra, f.read() == old)
        h.check("init over existing key %s: mode unchanged" % extra,
                stat.S_IMODE(os.stat(key).st_mode) == old_mode)


def test_bad_arguments(home):
    before = h.head(home)
    bad_ids = ["12D3KooWbad", "did:key:z6Mkbad", "12D3KooW" + "0" * 44, "", "hello"]
    for bid in bad_ids:
        r = h.run(["trust", "add", bid, "--level", "full"], home=home)
        e = err_text(r)
        h.check("malformed id %r: exit 2, message names <id> and the text" % bid,
                r.returncode == 2 and "<id>" in e and ('"%s"' % bid) in e, (r.returncode, e[:200]))
    for args, frag in ((["trust", "block", "12D3KooWbad"], "<id>"),
                       (["trust", "remove", "12D3KooWbad"], "<id>"),
                       (["trust", "path", "12D3KooWbad"], "<id>"),
                       (["trust", "list", "--from", "12D3KooWbad"], "--from"),
                       (["log", "export", "--iss", "12D3KooWbad"], "--iss"),
                       (["refer", OTHER, "--note", "x", "--to", "bogus"], "--to")):
        r = h.run(args, home=home)
        e = err_text(r)
        h.check("malformed id in `%s`: exit 2 naming %s" % (" ".join(args[:2]), frag),
                r.returncode == 2 and frag in e, (r.returncode, e[:200]))
    cases = [
        (["--level", "high"], "--level"),
        (["--level", "none"], "--level"),
        ([], "--level"),
        (["--level", "full", "--score", "0"], "--score"),
        (["--level", "full", "--score", "1.5"], "--score"),
        (["--level", "full", "--score", "-0.5"], "--score"),
        (["--level", "full", "--score", "0.8x"], "--score"),
        (["--level", "full", "--score", "0.0001"], "--score"),
        (["--level", "full", "--scope", "coop:X"], "scope"),
        (["--level", "full", "--scope", "planet:earth"], "scope"),
        (["--level", "full", "--scope", "coop:"], "scope"),
        (["--level", "full", "--expires", "soon"], "--expires"),
    ]
    for extra, frag in cases:
        r = h.run(["trust", "add", OTHER] + extra, home=home)
        e = err_text(r)
        h.check("trust add %s: exit 2 naming %s" % (" ".join(extra) or "(no level)", frag),
                r.returncode == 2 and frag in e, (r.returncode, e[:200]))
    r = h.run(["trust", "block", OTHER, "--scope", "Global"], home=home)
    h.check("trust block --scope Global: exit 2", r.returncode == 2, err_text(r)[:200])
    r = h.run(["trust", "add", h.node_id(home), "--level", "full"], home=home)
    h.check("trust add <self>: exit 2, says oneself",
            r.returncode == 2 and "itself" in err_text(r), err_text(r)[:200])
    unchanged("bad arguments: nothing issued", home, before)


def test_trust_import_corrupt(home):
    # A real export from another node, to corrupt.
    x = h.path("X")
    h.init(x, legacy=True)
    for t, s in ((OTHER, "0.7"), (OTHER2, "0.9")):
        r = h.run(["trust", "add", t, "--level", "full", "--score", s, "--note", "n"], home=x)
        assert r.returncode == 0, err_text(r)
    r = h.run(["trust", "export", "--with-notes"], home=x)
    assert r.returncode == 0, err_text(r)
    good = r.stdout
    doc = json.loads(good)
    before = h.head(home)
    variants = {
        "not JSON": (b"this is not json\n", ["not a JSON document"]),
        "truncated export": (good[:len(good) // 2], ["not a JSON document"]),
        "empty file": (b"", ["not a JSON document"]),
        "top-level array": (json.dumps(doc["statements"]).encode(), ["not a trust export"]),
        "version 2": (json.dumps(dict(doc, version=2)).encode(), ["version"]),
        "no statements": (json.dumps({"version": 1}).encode(), ["statements"]),
        "statements not array": (json.dumps(dict(doc, statements={"a": 1})).encode(),
                                 ["statements"]),
        "notes not object": (json.dumps(dict(doc, notes=["x"])).encode(), ["notes"]),
        "notes keyed by non-ID": (json.dumps(dict(doc, notes={"bob": "x"})).encode(), ["notes"]),
        "duplicate key": (good.replace(b'"version": 1', b'"version": 1, "version": 1', 1),
                          ["not a JSON document"]),
    }
    for name, (data, frags) in variants.items():
        f = write(h.path("corrupt.json"), data)
        r = h.run(["trust", "import", f], home=home)
        refused_whole("trust import %s" % name, home, r, frags + ["nothing imported"])
        unchanged("trust import %s" % name, home, before)
    ids = h.export_ids(home)
    xs = h.export_ids(x)
    h.check("corrupt trust imports: none of X's statements got in", not (ids & xs))
    # Control: the uncorrupted document imports (the refusals were the corruption).
    f = write(h.path("good.json"), good)
    r, j = h.run_json(["trust", "import", "--json", f], home=home)
    h.check("control: the valid export imports (2 accepted)",
            r.returncode == 0 and j and j.get("accepted") == 2, (r.returncode, j, err_text(r)))


def main():
    home, me, g = setup()
    h.guard("truncated", lambda: test_truncated(home, g[0:20]))
    h.guard("huge line", lambda: test_huge_line(home, g[0:10]))
    h.guard("huge line memory", lambda: test_huge_line_memory(home, g))
    h.guard("over-limit stdin", lambda: test_over_limit_stdin(home, g[0:10]))
    h.guard("bad utf8", lambda: test_bad_utf8(home, g[0:5]))
    h.guard("non-canonical / bad sig", lambda: test_non_canonical_and_bad_sig(home, g))
    h.guard("key mode", lambda: test_key_mode(home))
    h.guard("init existing", lambda: test_init_existing(home))
    h.guard("bad arguments", lambda: test_bad_arguments(home))
    h.guard("trust import corrupt", lambda: test_trust_import_corrupt(home))


main()
h.finish()
