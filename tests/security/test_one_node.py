#!/usr/bin/python3
"""One node per home (SPEC §9.4, issue #14).

A second `mesh node start` on a home whose node runs exits 1 within seconds,
naming the running node's pid and address, and touches nothing: the first
node's api.cookie (its bearer token) is unchanged and still accepted. The lock
file names the node but never holds the token. After the first node stops, a
new start works; after a node is killed with SIGKILL (no clean-up at all), a
new start works too. Of two starts racing on one home exactly one serves. A
symbolic link in place of node.lock is not followed.

usage: test_one_node.py MESH BENCH_INGEST
"""
import os
import signal
import subprocess
import sys
import time

sys.dont_write_bytecode = True  # keep the source tree clean
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "integration"))
from mtharness import Harness  # noqa: E402
from nodeutil import Node, stop_all  # noqa: E402

h = Harness(sys.argv)
BOUND = 8  # seconds for a refusal; more is a hang
START = ["node", "start", "--listen", "127.0.0.1:0", "--sync-interval", "0", "--threads", "2"]


def second_start(home):
    """A second start: (CompletedProcess or None when it did not exit, seconds)."""
    t0 = time.monotonic()
    try:
        r = h.run(START, home=home, timeout=BOUND)
    except subprocess.TimeoutExpired as e:
        # it is serving (or hanging): the test fails; the child was killed by run()
        r = None
        print("# second start still running after %d s: %r" % (BOUND, e.stdout))
    return r, time.monotonic() - t0


def cookie(home):
    with open(os.path.join(home, "api.cookie")) as f:
        return f.read()


def token_works(n, token):
    n_token = n.token
    n.token = token
    try:
        st, _, _ = n.get("/v1/feeds")
    finally:
        n.token = n_token
    return st == 200


def main():
    home = h.path("home")
    h.init(home)
    lock = os.path.join(home, "node.lock")
    nodes = []
    try:
        a = Node(h, home, "a").start()
        nodes.append(a)
        tok = cookie(home)
        h.check("first node serves with its token", token_works(a, tok))
        st, _, _ = a.get("/v1/feeds", token=False)
        h.check("(the token matters: without it 401)", st == 401, st)
        with open(lock) as f:
            text = f.read()
        h.check("node.lock names the node's pid and URL",
                text == "pid %d\nurl %s\n" % (a.proc.pid, a.url), repr(text))
        h.check("node.lock does not hold the token", tok not in text and "token" not in text)
        h.check("node.lock is 0600", (os.stat(lock).st_mode & 0o777) == 0o600,
                oct(os.stat(lock).st_mode))

        r, secs = second_start(home)
        e = r.stderr.decode(errors="replace") if r else ""
        h.check("second start exits 1 within %d s" % BOUND, r is not None and r.returncode == 1,
                "%s %.1fs" % (r and r.returncode, secs))
        h.check("second start names the running node's pid", ("pid %d" % a.proc.pid) in e, e)
        h.check("second start names the running node's URL", a.url in e, e)
        h.check("second start says a node already runs", "already runs" in e, e)
        h.check("second start serves nothing (no listening line)",
                r is not None and b"listening" not in r.stdout, r and r.stdout)
        h.check("api.cookie unchanged", cookie(home) == tok)
        h.check("the first node's token still works", token_works(a, tok))
        h.check("the first node still runs", a.proc.poll() is None)

        r = h.run(["node", "start", "--help"], home=home, timeout=BOUND)
        h.check("node start --help while a node runs: exit 0", r.returncode == 0, r.stderr)

        # stopped cleanly: a new start serves, with a new token
        h.check("first node stops on SIGTERM with exit 0", a.stop() == 0)
        b = Node(h, home, "b").start()
        nodes.append(b)
        h.check("after a clean stop, a new start serves", b.url is not None)
        h.check("the new node has a new token that works",
                b.token != tok and token_works(b, cookie(home)))

        # killed with SIGKILL: the lock dies with the process
        bpid = b.proc.pid
        b.stop(sig=signal.SIGKILL)
        with open(lock) as f:
            stale = f.read()
        h.check("(after SIGKILL the lock file still names the dead node: no clean-up ran)",
                stale.startswith("pid %d\n" % bpid), repr(stale))
        c = Node(h, home, "c").start()
        nodes.append(c)
        h.check("after kill -9, a new start serves", c.url is not None)
        with open(lock) as f:
            text = f.read()
        h.check("node.lock now names the new node",
                text == "pid %d\nurl %s\n" % (c.proc.pid, c.url), repr(text))
        c.stop()

        # two starts at once: exactly one serves
        cmd = [h.mesh, "--home", home] + START
        procs = [subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                  env=h.env) for _ in range(2)]
        outs = []
        deadline = time.monotonic() + 15
        for p in procs:
            line = b""
            while time.monotonic() < deadline and p.poll() is None:
                line = p.stdout.readline()
                if line:
                    break
            outs.append(line)
        serving = [p for p, l in zip(procs, outs) if l.startswith(b"listening on http://")]
        h.check("two racing starts: exactly one serves", len(serving) == 1, outs)
        for p in procs:
            if p not in serving:
                try:
                    p.wait(timeout=BOUND)
                except subprocess.TimeoutExpired:
                    pass
                h.check("two racing starts: the other exits 1", p.returncode == 1,
                        p.returncode)
        for p in procs:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
                try:
                    p.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()
            p.stdout.close()
            p.stderr.close()

        # a symbolic link in place of node.lock is not followed
        target = h.path("not-yours")
        with open(target, "w") as f:
            f.write("keep me\n")
        os.unlink(lock)
        os.symlink(target, lock)
        r, secs = second_start(home)
        e = r.stderr.decode(errors="replace") if r else ""
        h.check("node.lock a symbolic link: start refused", r is not None and r.returncode == 1,
                e)
        h.check("node.lock a symbolic link: the message names it", lock in e, e)
        with open(target) as f:
            h.check("node.lock a symbolic link: its target untouched", f.read() == "keep me\n")
    finally:
        stop_all(nodes)


h.guard("one node per home", main)
h.finish()
