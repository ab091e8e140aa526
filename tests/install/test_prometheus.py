#!/usr/bin/python3
"""contrib/prometheus checked by promtool, against a live node (issue #20).

1. A real node on 127.0.0.1 whose home is bound to a community (coop:g,
   founded with two other homes that trust each other in it), holds a fork
   (two homes made from one seed each signed a different seq 1, both
   imported) and syncs with a second node (a peer): its /metrics has
   mesh_forks 1, mesh_scope_gini / mesh_policy_max_gini / mesh_scope_nodes
   for coop:g, and the peer's mesh_sync_last_success_timestamp_seconds.
2. `promtool check metrics` on that text: no error, no lint problem.
3. prometheus.yml, with the node's address and its api.cookie as the
   credentials file: `promtool check config` (which also checks alerts.yml,
   its rule_files); `promtool check rules alerts.yml`; `promtool test rules
   alerts_test.yml` (each alert fires, and stays silent, as written there).

promtool comes with Debian's `prometheus` (scripts/install-deps.sh). Without
it the test fails when CI or MESH_PROMTOOL_REQUIRED is set (./test.sh runs
install-deps first, CI sets CI), and is skipped (77) otherwise.

usage: test_prometheus.py SOURCE_DIR MESH_BINARY"""
import os
import re
import shutil
import subprocess
import sys
import time

SOURCE, MESH = sys.argv[1], sys.argv[2]
sys.path.insert(0, os.path.join(SOURCE, "tests", "integration"))
from mtharness import Harness  # noqa: E402
from nodeutil import Node, stop_all  # noqa: E402

PROM = os.path.join(SOURCE, "contrib", "prometheus")
promtool = shutil.which("promtool")
if not promtool:
    required = os.environ.get("CI") or os.environ.get("MESH_PROMTOOL_REQUIRED")
    print("%s: promtool not found (apt-get install prometheus, or scripts/install-deps.sh)"
          % ("FAIL" if required else "skip"))
    sys.exit(1 if required else 77)

h = Harness([sys.argv[0], MESH, "unused"])
nodes = []


def ok(home, args, stdin=None):
    r = h.run(args, home=home, stdin=stdin)
    if r.returncode != 0:
        raise RuntimeError("mesh %s: %s%s" % (" ".join(args), r.stderr.decode(errors="replace"),
                                               r.stdout.decode(errors="replace")))
    return r.stdout


def promtool_run(args, stdin=None):
    r = subprocess.run([promtool] + args, input=stdin, capture_output=True, timeout=60)
    out = (r.stdout + r.stderr).decode(errors="replace")
    print("     promtool %s: rc %d\n%s" % (" ".join(args), r.returncode,
                                           "".join("       " + l + "\n"
                                                   for l in out.strip().splitlines())))
    return r.returncode, out


def sample(text, name, labels=""):
    """The value of one sample (labels: the exact {…} text, or "" for none)."""
    m = re.search(r"^%s%s (\S+)$" % (re.escape(name), re.escape(labels)), text, re.M)
    return float(m.group(1)) if m else None


def live_metrics():
    homes = {n: h.path(n) for n in ("a", "b", "c")}
    ids = {n: h.init(homes[n]) for n in homes}
    # a binds itself to coop:g, founded with b and c (SPEC §9.3)
    ok(homes["a"], ["community", "create", "coop:g", "--founders",
                    ids["b"] + "," + ids["c"], "--period", "1d"])
    for src, dst, score in [("a", "b", "1.0"), ("a", "c", "1.0"), ("b", "a", "1.0"),
                            ("b", "c", "0.3"), ("c", "a", "1.0")]:
        ok(homes[src], ["trust", "add", ids[dst], "--level", "full", "--score", score,
                        "--scope", "coop:g"])
    # b is a peer of a's: each trusts the other fully (global), as sync wants
    ok(homes["a"], ["trust", "add", ids["b"], "--level", "full"])
    ok(homes["b"], ["trust", "add", ids["a"], "--level", "full"])
    for src in ("b", "c"):
        ok(homes["a"], ["log", "import", "-"], stdin=ok(homes[src], ["log", "export"]))
    # one identity on two machines: each signs its own seq 1, a holds both
    seed = h.path("p.seed")
    with open(seed, "w") as f:
        f.write("42" * 32 + "\n")
    for n, dst in (("p1", "b"), ("p2", "c")):
        ok(h.path(n), ["init", "--seed-file", seed, "--new-feed"])
        ok(h.path(n), ["trust", "add", ids[dst], "--level", "full"])
        ok(homes["a"], ["log", "import", "-"], stdin=ok(h.path(n), ["log", "export"]))

    nb = Node(h, homes["b"], "b")
    nodes.append(nb)
    nb.start()
    ok(homes["a"], ["peer", "add", nb.url])
    na = Node(h, homes["a"], "a")
    nodes.append(na)
    na.start()
    ok(homes["a"], ["sync"])  # a's store records the sync; the node reads it

    text = ""
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        st, body, _ = na.get("/metrics")
        text = body.decode(errors="replace")
        if st == 200 and "mesh_sync_last_success_timestamp_seconds{" in text:
            break
        time.sleep(0.3)
    h.check("/metrics answers the API token", st == 200, st)
    st, log, _ = na.get_json("/v1/log")
    forks = (log or {}).get("forks", [])
    h.check("/metrics: mesh_forks counts the forks /v1/log lists (p1 and p2 each signed "
            "their own seq 1 and 2)",
            sample(text, "mesh_forks") == len(forks) == 2, (sample(text, "mesh_forks"), forks))
    gini = sample(text, "mesh_scope_gini", '{scope="coop:g"}')
    h.check("/metrics: mesh_scope_gini and mesh_scope_nodes of the bound community",
            gini is not None and 0 <= gini <= 1 and
            sample(text, "mesh_scope_nodes", '{scope="coop:g"}') == 3, text[-1200:])
    h.check("/metrics: mesh_policy_max_gini of coop:g is policy.maxGini (0.7 by default)",
            sample(text, "mesh_policy_max_gini", '{scope="coop:g"}') == 0.7, text[-1200:])
    last = re.search(r'^mesh_sync_last_success_timestamp_seconds\{peer="%s",url="%s"\} (\d+)$'
                     % (re.escape(ids["b"]), re.escape(nb.url)), text, re.M)
    h.check("/metrics: the peer's last successful sync, a recent Unix time",
            last and abs(int(last.group(1)) - time.time()) < 600, text[-1500:])
    return text, na


def main():
    text, na = live_metrics()
    rc, out = promtool_run(["check", "metrics"], stdin=text.encode())
    h.check("promtool check metrics on the live node's /metrics: no problem",
            rc == 0 and not out.strip(), out)

    work = h.path("prom")
    os.makedirs(work)
    for f in ("alerts.yml", "alerts_test.yml"):
        shutil.copy(os.path.join(PROM, f), work)
    with open(os.path.join(PROM, "prometheus.yml")) as f:
        conf = f.read()
    cookie = os.path.join(na.home, "api.cookie")
    hostport = na.url.split("://", 1)[1]
    live = conf.replace("/etc/prometheus/mesh-node.cookie", cookie) \
               .replace('"127.0.0.1:7070"', '"%s"' % hostport)
    h.check("prometheus.yml reads the token from the cookie file (authorization: "
            "credentials_file) and scrapes /metrics",
            live != conf and "credentials_file: %s" % cookie in live and
            "metrics_path: /metrics" in live and "type: Bearer" in live)
    with open(os.path.join(work, "prometheus.yml"), "w") as f:
        f.write(live)
    rc, out = promtool_run(["check", "config", os.path.join(work, "prometheus.yml")])
    h.check("promtool check config prometheus.yml (and its rule file)",
            rc == 0 and "SUCCESS" in out, out)
    rc, out = promtool_run(["check", "rules", os.path.join(work, "alerts.yml")])
    names = set(re.findall(r"^\s+- alert: (\w+)$", open(os.path.join(work, "alerts.yml")).read(),
                           re.M))
    h.check("promtool check rules alerts.yml", rc == 0 and "SUCCESS" in out, out)
    h.check("the alerts: node down, sync stalled, Gini over the policy, a fork seen",
            {"MeshNodeDown", "MeshSyncStalled", "MeshScopeGiniOverPolicy",
             "MeshForkSeen"} <= names, names)
    r = subprocess.run([promtool, "test", "rules", "alerts_test.yml"], cwd=work,
                       capture_output=True, timeout=60)
    out = (r.stdout + r.stderr).decode(errors="replace")
    print("     " + out.strip().replace("\n", "\n     "))
    h.check("promtool test rules alerts_test.yml: every alert fires and stays silent as tested",
            r.returncode == 0 and "SUCCESS" in out, out)
    tested = set(re.findall(r"alertname: (\w+)", open(os.path.join(work,
                                                                   "alerts_test.yml")).read()))
    h.check("alerts_test.yml tests every alert of alerts.yml", tested == names,
            (sorted(names - tested), sorted(tested - names)))


try:
    h.guard("prometheus", main)
finally:
    stop_all(nodes)
h.finish()
