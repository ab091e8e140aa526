#!/usr/bin/python3
"""Terminal escapes (SPEC §9.4, issue #14): text that an author or a peer chose
reaches a person's terminal only escaped.

An author publishes a lesson whose title and body hold an OSC window-title
sequence (ESC ] 0 ; … BEL), a clear-screen sequence, CR LF followed by a fake
status line, a right-to-left override (U+202E) and a C1 control (U+009B, the
8-bit CSI); a trust note holds the same. Every human-readable listing of them
(`lesson list`, `lesson show`, `search`, `log show`, `trust list`) must show
them as visible escapes (\\x1b, \\r\\n, \\u202e, \\u009b) and never write the raw
bytes, and `--json` must still carry the exact original strings. An error
message that quotes such an argument is escaped too.

usage: test_terminal_escape.py MESH BENCH_INGEST
"""
import json
import os
import sys

sys.dont_write_bytecode = True  # keep the source tree clean
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "integration"))
from mtharness import Harness  # noqa: E402

h = Harness(sys.argv)

EVIL = ("A\x1b]0;pwned\x07B\x1b[2J\r\nall peers verified OK \u202e gnp.exe \u009b31m"
        " back\\slash")
EVIL_BODY = "first line\n\x1b[31mred\x1b[0m\rover\u202eright\u0085end\nlast\tline"
NOTE = "friend\x1b[8m hidden\r\nfake \u202e\u009b"

# Raw sequences that must never reach the terminal (UTF-8 of the C1 and bidi
# characters included), and the escaped forms that must appear instead.
RAW = [b"\x1b", b"\x07", b"\r", b"\xc2\x9b", b"\xc2\x85", b"\xe2\x80\xae"]
ESCAPED_TITLE = [b"\\x1b]0;pwned\\x07B\\x1b[2J\\r\\nall peers verified OK \\u202e gnp.exe "
                 b"\\u009b31m back\\\\slash"]


def no_raw(name, out):
    for seq in RAW:
        h.check("%s: no raw %r" % (name, seq), seq not in out, out[:400])


def shows(name, out, fragments):
    for frag in fragments:
        h.check("%s: shows %r" % (name, frag), frag in out, out[:400])


def ok(name, r):
    h.check(name + ": exit 0", r.returncode == 0,
            "%d %s" % (r.returncode, r.stderr.decode(errors="replace")[:300]))
    return r.returncode == 0


def main():
    home = h.path("author")
    other = h.path("other")
    me = h.init(home)
    them = h.init(other)

    body = h.path("body.txt")
    with open(body, "wb") as f:
        f.write(EVIL_BODY.encode())
    r, j = h.run_json(["lesson", "publish", "--topic", "evil", "--title", EVIL, "--json", body],
                      home=home)
    if not ok("publish the lesson", r) or not j:
        return
    lid = j["id"]

    r = h.run(["trust", "add", them, "--level", "full", "--note", NOTE], home=home)
    ok("trust add with a hostile note", r)

    # ---- human-readable listings --------------------------------------------
    r = h.run(["lesson", "list"], home=home)
    if ok("lesson list", r):
        no_raw("lesson list", r.stdout)
        shows("lesson list", r.stdout, ESCAPED_TITLE)

    r = h.run(["lesson", "show", lid], home=home)
    if ok("lesson show", r):
        no_raw("lesson show", r.stdout)
        shows("lesson show", r.stdout, ESCAPED_TITLE + [
            # a body keeps its lines and tabs, nothing else
            b"first line\n\\x1b[31mred\\x1b[0m\\rover\\u202eright\\u0085end\nlast\tline"])

    r = h.run(["search", "evil"], home=home)
    if ok("search", r):
        no_raw("search", r.stdout)
        shows("search", r.stdout, ESCAPED_TITLE)
        h.check("search: the fake status line is not a line of its own",
                not any(l.startswith(b"all peers verified OK") for l in r.stdout.split(b"\n")),
                r.stdout[:400])

    r = h.run(["log", "show"], home=home)
    if ok("log show", r):
        no_raw("log show", r.stdout)
        shows("log show", r.stdout, ESCAPED_TITLE)

    r = h.run(["trust", "list"], home=home)
    if ok("trust list", r):
        no_raw("trust list", r.stdout)
        shows("trust list", r.stdout, [b"friend\\x1b[8m hidden\\r\\nfake \\u202e\\u009b"])

    r = h.run(["trust", "list", "--mode", "flow"], home=home)
    if ok("trust list --mode flow", r):
        no_raw("trust list --mode flow", r.stdout)
        shows("trust list --mode flow", r.stdout,
              [b"friend\\x1b[8m hidden\\r\\nfake \\u202e\\u009b"])

    # ---- an error message quoting a hostile argument ----------------------------
    r = h.run(["trust", "list", "--scope", "coop:\x1b]0;pwned\x07\r\u202e"], home=home)
    h.check("bad --scope: refused", r.returncode != 0, r.returncode)
    no_raw("bad --scope (stderr)", r.stderr)
    shows("bad --scope (stderr)", r.stderr, [b"coop:\\x1b]0;pwned\\x07\\r\\u202e"])
    # bytes that are not UTF-8 (a stray byte, an overlong NUL, a surrogate) as \xNN
    r = h.run(["trust", "list", "--scope", b"coop:\xff\xc0\x80\xed\xa0\x80\xc2"], home=home)
    h.check("non-UTF-8 --scope: refused", r.returncode != 0, r.returncode)
    shows("non-UTF-8 --scope (stderr)", r.stderr, [b"coop:\\xff\\xc0\\x80\\xed\\xa0\\x80\\xc2"])
    h.check("non-UTF-8 --scope (stderr): nothing but ASCII",
            all(b < 0x80 for b in r.stderr), r.stderr[:300])

    # ---- --json is byte-exact: the original strings, unchanged --------------------
    r, j = h.run_json(["lesson", "list", "--json"], home=home)
    titles = [l["title"] for l in (j or {}).get("lessons", [])]
    h.check("lesson list --json: exact title", titles == [EVIL], titles)
    r, j = h.run_json(["lesson", "show", lid, "--json"], home=home)
    st = (j or {}).get("statement", {})
    h.check("lesson show --json: exact title and body",
            st.get("title") == EVIL and st.get("body") == EVIL_BODY, st)
    r, j = h.run_json(["search", "evil", "--json"], home=home)
    titles = [x["title"] for x in (j or {}).get("results", [])]
    h.check("search --json: exact title", titles == [EVIL], titles)
    r, j = h.run_json(["trust", "list", "--json"], home=home)
    notes = [x["note"] for x in (j or {}).get("results", []) if x["node_id"] == them]
    h.check("trust list --json: exact note", notes == [NOTE], notes)
    r, j = h.run_json(["log", "show", "--json"], home=home)
    titles = [x["statement"]["title"] for x in (j or {}).get("statements", [])
              if x["statement"]["type"] == "lesson"]
    h.check("log show --json: exact title", titles == [EVIL], titles)
    h.check("the author is this home", me and me != them)


h.guard("terminal escapes", main)
h.finish()
