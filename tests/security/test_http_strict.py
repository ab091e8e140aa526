"""Issue #14 item 3 / SPEC §9.4: security headers on every reply, and strict
HTTP parsing.

The old node sent no Content-Security-Policy, no X-Content-Type-Options and no
Referrer-Policy (the dashboard could be framed; a JSON error echoing a path
could be sniffed as HTML; the `/#token=` URL's page leaked its origin), no
Allow on 405, parsed integer parameters with strtol and ignored the rest
(`limit=5abc` was 5), and took ambiguous framing (two Content-Length values;
Content-Length with chunked) and NUL bytes in headers: the request smuggling
and header-injection shapes that proxies in front of a node disagree about.

Checks:
  - every reply — 200 JSON, 200 NDJSON/text, 400, 401, 404, 405, 413, static
    `/`, a static asset and a static 404 — carries Content-Security-Policy
    with `frame-ancestors 'none'` and `default-src 'self'`,
    `X-Content-Type-Options: nosniff` and `Referrer-Policy: no-referrer`;
  - 405 (DELETE /v1/id, POST /v1/id) carries an Allow header listing GET;
  - strict integers → 400: /v1/feeds/<id>?limit=5abc, ?from=1x,
    /v1/search?q=a&limit=5abc, /v1/log?limit=10z, /v1/graph?depth=2x,
    /v1/graph?depth=2.5;
  - raw socket: a NUL byte inside a header value → 400 or closed without a
    200; two Content-Length headers with different values → 400;
    Content-Length with Transfer-Encoding: chunked → 400;
  - the node keeps serving afterwards.
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from mtharness import Harness  # noqa: E402
from nodeutil import Node  # noqa: E402
from secutil import raw, request_bytes, run_main, security_headers_problems  # noqa: E402

h = Harness(sys.argv)
nodes = []


def main():
    a = h.path("a")
    ida = h.init(a)
    web = h.path("web")
    os.makedirs(web)
    with open(os.path.join(web, "index.html"), "w") as f:
        f.write("<!doctype html><title>t</title><p>dash</p>\n")
    with open(os.path.join(web, "app.js"), "w") as f:
        f.write("console.log(1);\n")
    node = Node(h, a, "a", ["--web", web]).start()
    nodes.append(node)
    bearer = ("Authorization", "Bearer " + node.token)

    cases = [
        ("GET /v1/id (200 JSON)", "GET", "/v1/id", [], b"", 200),
        ("GET /v1/feeds/<id> (200 NDJSON)", "GET", "/v1/feeds/" + ida, [bearer], b"", 200),
        ("GET /metrics (200 text)", "GET", "/metrics", [bearer], b"", 200),
        ("POST /v1/statements (200 text)", "POST", "/v1/statements",
         [bearer, ("Content-Length", "3")], b"{}\n", 200),
        ("GET /v1/trust?target=nope (400)", "GET", "/v1/trust?target=nope", [bearer], b"", 400),
        ("GET /v1/trust anonymous (401)", "GET", "/v1/trust?target=" + ida, [], b"", 401),
        ("GET /v1/nothing (404)", "GET", "/v1/nothing", [bearer], b"", 404),
        ("DELETE /v1/id (405)", "DELETE", "/v1/id", [], b"", 405),
        ("POST /v1/id (405)", "POST", "/v1/id", [("Content-Length", "0")], b"", 405),
        ("POST Content-Length 9 MiB (413)", "POST", "/v1/statements",
         [bearer, ("Content-Length", str(9 * 1024 * 1024))], b"x" * 1024, 413),
        ("GET / (static index)", "GET", "/", [], b"", 200),
        ("GET /app.js (static asset)", "GET", "/app.js", [], b"", 200),
        ("GET /nope.js (static 404)", "GET", "/nope.js", [], b"", 404),
    ]
    for label, method, target, hdrs, body, want in cases:
        r = raw(node.url, request_bytes(method, target, hdrs, body), timeout=10)
        h.check("%s: status %d" % (label, want), r.status == want, r)
        flat = {k: ", ".join(v) for k, v in r.headers.items()}
        bad = security_headers_problems(flat)
        h.check("%s: security headers" % label, r.status is not None and not bad,
                "%s; headers %s" % ("; ".join(bad), flat))
        if want == 405:
            allow = r.header("allow")
            methods = [m.strip().upper() for m in (allow or "").split(",")]
            h.check("%s: Allow lists GET" % label, "GET" in methods, "Allow: %r" % allow)

    for target in ["/v1/feeds/%s?limit=5abc" % ida, "/v1/feeds/%s?from=1x" % ida,
                   "/v1/search?q=a&limit=5abc", "/v1/log?limit=10z", "/v1/graph?depth=2x",
                   "/v1/graph?depth=2.5"]:
        st, body, _ = node.get(target)
        h.check("strict integer: %s → 400" % target, st == 400 and b"error" in body,
                (st, body[:200]))

    tok = node.token.encode()
    r = raw(node.url, b"GET /v1/id HTTP/1.1\r\nHost: x\r\nX-Note: a\x00b\r\n"
            b"Connection: close\r\n\r\n", timeout=10)
    h.check("a NUL byte in a header value: 400 or closed, never 200", r.status in (400, None), r)
    r = raw(node.url, b"POST /v1/statements HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + tok +
            b"\r\nContent-Length: 3\r\nContent-Length: 6\r\nConnection: close\r\n\r\n{}\n{}\n",
            timeout=10)
    h.check("two Content-Length headers with different values: 400", r.status == 400, r)
    r = raw(node.url, b"POST /v1/statements HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + tok +
            b"\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
            b"3\r\n{}\n\r\n0\r\n\r\n", timeout=10)
    h.check("Content-Length with Transfer-Encoding: chunked: 400", r.status == 400, r)
    r = raw(node.url, request_bytes("GET", "/v1/id"), timeout=10)
    h.check("the node keeps serving", r.status == 200, r)


run_main(h, "http strict", main, nodes)
