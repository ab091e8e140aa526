"""Shared helpers of the security tests (stdlib only): raw HTTP over a socket,
Prometheus text parsing, a process's RSS, option probing, and the `mesh` CLI
steps and test scaffolding the scripts have in common (these take the
script's mtharness.Harness `h` as their first argument). Imported by the
tests/security/test_*.py scripts (they put this directory on sys.path; the
tests/integration directory, for mtharness and nodeutil, is on it as well)."""
import json
import os
import re
import select
import socket
import time


def host_port(url):
    """("127.0.0.1", port) of "http://127.0.0.1:port"."""
    hp = url[len("http://"):].split("/")[0]
    host, port = hp.rsplit(":", 1)
    return host, int(port)


class RawReply:
    """One answer read off a raw socket: status (None when the server closed
    or reset without answering), headers (lower-case name -> list of values),
    body bytes, and how the connection ended."""

    def __init__(self):
        self.status = None
        self.headers = {}
        self.body = b""
        self.raw = b""
        self.ended = ""  # "eof", "reset", "timeout" or "complete"

    def header(self, name):
        v = self.headers.get(name.lower())
        return v[0] if v else None

    def __repr__(self):
        return "RawReply(status=%r, ended=%r, headers=%r, body=%r)" % (
            self.status, self.ended, self.headers, self.body[:300])


def parse_head(buf, reply):
    head, _, body = buf.partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    if lines and lines[0].startswith(b"HTTP/"):
        parts = lines[0].split(b" ")
        if len(parts) >= 2 and parts[1].isdigit():
            reply.status = int(parts[1])
    for l in lines[1:]:
        k, _, v = l.partition(b":")
        reply.headers.setdefault(k.strip().lower().decode("latin-1"), []).append(
            v.strip().decode("latin-1"))
    return body


def raw(url, data, timeout=10.0, src=None):
    """Send raw bytes to the node at `url`, read one answer (or the end of the
    connection). `src`: a local address to bind first (e.g. "127.0.0.2")."""
    host, port = host_port(url)
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    r = RawReply()
    try:
        s.settimeout(timeout)
        if src:
            s.bind((src, 0))
        s.connect((host, port))
        try:
            s.sendall(data)
        except (BrokenPipeError, ConnectionResetError):
            pass
        buf = b""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                r.ended = "timeout"
                break
            s.settimeout(left)
            try:
                k = s.recv(65536)
            except ConnectionResetError:
                r.ended = "reset"
                break
            except socket.timeout:
                r.ended = "timeout"
                break
            if not k:
                r.ended = "eof"
                break
            buf += k
            if b"\r\n\r\n" in buf:
                tmp = RawReply()
                body = parse_head(buf, tmp)
                cl = tmp.header("content-length")
                if cl is not None and cl.isdigit() and len(body) >= int(cl):
                    r.ended = "complete"
                    break
        r.raw = buf
        if b"\r\n\r\n" in buf or buf.startswith(b"HTTP/"):
            r.body = parse_head(buf, r)
        return r
    finally:
        s.close()


def request_bytes(method, target, headers=(), body=b"", host="x"):
    """An HTTP/1.1 request with Connection: close (headers: list of (k, v))."""
    out = [("%s %s HTTP/1.1" % (method, target)).encode(), b"Host: " + host.encode()]
    for k, v in headers:
        out.append(k.encode() + b": " + (v if isinstance(v, bytes) else v.encode()))
    out.append(b"Connection: close")
    return b"\r\n".join(out) + b"\r\n\r\n" + body


_PROM = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*(?:\{[^}]*\})?)\s+([-+0-9.eEinfNa]+)\s*$")


def prom(text):
    """{'name{labels}': float} of a Prometheus text answer (labels as sent)."""
    out = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = _PROM.match(line.strip())
        if m:
            try:
                out[m.group(1)] = float(m.group(2))
            except ValueError:
                pass
    return out


def prom_get(metrics, name, **labels):
    """Sum of the series `name` whose labels include `labels` (any order, other
    labels allowed); None when there is none."""
    total = None
    for k, v in metrics.items():
        base, _, rest = k.partition("{")
        if base != name:
            continue
        got = dict(re.findall(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"', rest))
        if all(got.get(a) == b for a, b in labels.items()):
            total = (total or 0) + v
    return total


def rss_kb(pid):
    """VmRSS of a process in kB (None when it is gone)."""
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def node_help(h):
    """The text of `mesh node start --help` (to learn which options exist)."""
    r = h.run(["node", "start", "--help"], home=h.path("nohome-help"))
    return (r.stdout + r.stderr).decode(errors="replace")


def wait_readable(socks, timeout):
    try:
        return select.select(socks, [], [], timeout)[0]
    except (OSError, ValueError):
        return []


def security_headers_problems(hd):
    """What is missing from the SPEC §9.4 security headers of one reply
    (`hd`: header name -> value, any case). Empty list when all are there."""
    low = {}
    for k, v in hd.items():
        low[k.lower()] = v if isinstance(v, str) else ", ".join(v)
    bad = []
    csp = low.get("content-security-policy")
    if csp is None:
        bad.append("no Content-Security-Policy")
    else:
        if "frame-ancestors 'none'" not in csp:
            bad.append("CSP %r lacks frame-ancestors 'none'" % csp)
        if "default-src 'self'" not in csp:
            bad.append("CSP %r lacks default-src 'self'" % csp)
    xcto = low.get("x-content-type-options")
    if (xcto or "").strip().lower() != "nosniff":
        bad.append("X-Content-Type-Options is %r, not nosniff" % xcto)
    rp = low.get("referrer-policy")
    if (rp or "").strip().lower() != "no-referrer":
        bad.append("Referrer-Policy is %r, not no-referrer" % rp)
    return bad


def here():
    return os.path.dirname(os.path.abspath(__file__))


# ---- the `mesh` CLI and the test scaffolding ---------------------------------

def ok_run(h, args, home, what):
    """`mesh ARGS` in `home`; raise RuntimeError naming `what` (with the exit
    code and stderr) when it fails. The completed process otherwise."""
    r = h.run(args, home=home)
    if r.returncode != 0:
        raise RuntimeError("%s failed (exit %d): %s" % (what, r.returncode,
                                                         r.stderr.decode(errors="replace")))
    return r


def err_text(body, default=""):
    """The `error` field of a JSON error body ("" when it has none); `default`
    when the body is not a JSON object."""
    try:
        return json.loads(body).get("error", "")
    except (ValueError, AttributeError):
        return default


def burst(h, home, url, count):
    """`mesh node request GET URL --count N` from `home`, as fast as possible:
    (statuses histogram {"200": n, "429": n, ...}, seconds it took)."""
    r = h.run(["node", "request", "GET", url, "--count", str(count)], home=home, timeout=60)
    if r.returncode != 0:
        raise RuntimeError("node request --count failed: %s" % r.stderr.decode(errors="replace"))
    j = json.loads(r.stdout.decode())
    return {k: int(v) for k, v in j["statuses"].items()}, float(j["seconds"])


def publish(h, home, title, text):
    """`mesh lesson publish --topic t --title TITLE` of `text` in `home`
    (RuntimeError when it fails)."""
    f = h.path("lesson-%s.txt" % abs(hash((home, title))))
    with open(f, "w") as fh:
        fh.write(text + "\n")
    ok_run(h, ["lesson", "publish", "--topic", "t", "--title", title, f], home,
           "lesson publish in %s" % home)


def carry(h, src_home, iss, dst_home):
    """src's feed of `iss` into dst by `log export` / `log import` (RuntimeError
    when the import fails). The feed's NDJSON lines."""
    _, lines = h.export_lines(src_home, iss)
    f = h.path("feed-%s.ndjson" % iss[-8:])
    with open(f, "wb") as fh:
        fh.write(b"\n".join(lines) + b"\n")
    r, j = h.run_json(["log", "import", f, "--json"], home=dst_home)
    if r.returncode != 0 or not j:
        raise RuntimeError("log import of %s failed: %s %s" % (iss, r.stderr, j))
    return lines


def feed_list(text):
    """{iss: seq} of a GET /v1/feeds answer; None when it is not such a list."""
    try:
        return {x["iss"]: x["seq"] for x in json.loads(text)}
    except (ValueError, TypeError, KeyError):
        return None


def trusted_peer(h, peer, check_name):
    """The cast of a one-node test: homes "a" (the node's), `peer` and
    "stranger" are initialised and A trusts the peer `full 0.9` in global
    (recorded as the check `check_name`); nobody trusts the stranger.
    (a, peer_home, stranger_home, ida, idpeer)."""
    a, p, s = h.path("a"), h.path(peer), h.path("stranger")
    ida, idp = h.init(a), h.init(p)
    h.init(s)
    r = h.run(["trust", "add", idp, "--level", "full", "--score", "0.9"], home=a)
    h.check(check_name, r.returncode == 0, r.stderr)
    return a, p, s, ida, idp


def check_serving(h, node, name="node still serving"):
    """The check `name`: `node` answers GET /v1/id (no token) with 200."""
    st, _, _ = node.get("/v1/id", token=False)
    return h.check(name, st == 200, st)


def run_main(h, name, main, nodes):
    """The end of a test script: `main` under h.guard(name) (an exception is one
    failed check), every Node in `nodes` stopped whatever happened, then
    h.finish() prints "N passed, N failed" and exits."""
    from nodeutil import stop_all
    try:
        h.guard(name, main)
    finally:
        stop_all(nodes)
    h.finish()
