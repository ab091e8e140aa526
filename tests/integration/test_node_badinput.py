"""Bad input over HTTP: each gets a JSON error, the node keeps serving and no
accepted statement is lost."""
import json
import os
import socket
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from mtharness import Harness  # noqa: E402
from nodeutil import Node, stop_all  # noqa: E402

h = Harness(sys.argv)
nodes = []


def raw(node, data, timeout=15, send_all=True):
    """Send raw bytes; return (status, body) of the answer."""
    host, port = node.url[len("http://"):].split(":")
    s = socket.create_connection((host, int(port)), timeout=timeout)
    try:
        try:
            s.sendall(data)
        except (BrokenPipeError, ConnectionResetError):
            pass
        buf = b""
        while True:
            try:
                k = s.recv(65536)
            except (ConnectionResetError, socket.timeout):
                break
            if not k:
                break
            buf += k
            if b"\r\n\r\n" in buf:
                head, _, body = buf.partition(b"\r\n\r\n")
                cl = [l for l in head.split(b"\r\n") if l.lower().startswith(b"content-length:")]
                if cl and len(body) >= int(cl[0].split(b":")[1]):
                    break
        head, _, body = buf.partition(b"\r\n\r\n")
        status = int(head.split(b" ")[1]) if head.startswith(b"HTTP/") else None
        return status, body
    finally:
        s.close()


def is_json_error(body):
    try:
        return "error" in json.loads(body.decode())
    except (ValueError, UnicodeDecodeError):
        return False


def main():
    a, other = h.path("a"), h.path("o")
    ida, ido = h.init(a, legacy=True), h.init(other, legacy=True)
    h.run(["trust", "add", ido, "--level", "full"], home=a)
    # statements by `other`, imported over HTTP by the local client
    for i in range(3):
        h.run(["refer", ida, "--note", "n%d" % i], home=other)
    _, lines = h.export_lines(other, ido)
    node = Node(h, a, "a").start()
    nodes.append(node)
    tok = {"Authorization": "Bearer " + node.token}

    st, body, _ = node.get("/v1/statements", method="POST", body=b"\n".join(lines) + b"\n")
    h.check("POST valid statements: one line each, accepted",
            st == 200 and body.decode().split("\n")[:3] == ["accepted"] * 3, body)
    digest0, count0 = h.head(a)

    st, body, _ = node.get("/v1/statements", method="POST", body=b"{not json\n")
    h.check("malformed JSON: 400 JSON error", st == 400 and is_json_error(body), body)
    st, body, _ = node.get("/v1/statements", method="POST", body=b'{"a":1,"a":2}\n')
    h.check("duplicate keys: 400 JSON error", st == 400 and is_json_error(body), body)
    st, body, _ = node.get("/v1/statements", method="POST", body=b'"\xff\xfe"\n')
    h.check("invalid UTF-8 body: 400 JSON error", st == 400 and is_json_error(body), body)
    noncanon = json.dumps(json.loads(lines[0]), indent=1).replace("\n", " ").encode()
    st, body, _ = node.get("/v1/statements", method="POST", body=noncanon + b"\n")
    h.check("non-canonical statement: rejected with the reason",
            st == 200 and body.decode().startswith("rejected:") and "canon" in body.decode(),
            body)
    forged = json.loads(lines[0])
    forged["note"] = "forged"
    fb = json.dumps(forged, separators=(",", ":"), sort_keys=True, ensure_ascii=False).encode()
    st, body, _ = node.get("/v1/statements", method="POST", body=fb + b"\n")
    h.check("forged statement: rejected: bad signature",
            st == 200 and "signature" in body.decode(), body)
    st, body = raw(node, b"POST /v1/statements HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " +
                   node.token.encode() + b"\r\nContent-Length: 9437184\r\n\r\n" + b"x" * 65536)
    h.check("oversized body (Content-Length 9 MiB): 413 JSON", st == 413 and is_json_error(body),
            (st, body))
    big = b"a" * (8 * 1024 * 1024 + 10)
    req = (b"POST /v1/statements HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " +
           node.token.encode() + b"\r\nTransfer-Encoding: chunked\r\n\r\n" +
           b"%x\r\n" % len(big) + big + b"\r\n0\r\n\r\n")
    st, body = raw(node, req, timeout=30)
    h.check("oversized chunked body: 413 JSON", st == 413 and is_json_error(body), (st, body[:200]))
    st, body = raw(node, b"GET /v1/trust?target=%ff%fe HTTP/1.1\r\nHost: x\r\nAuthorization: "
                   b"Bearer " + node.token.encode() + b"\r\n\r\n")
    h.check("invalid UTF-8 in the query: 400 JSON", st == 400 and is_json_error(body), (st, body))
    st, body = raw(node, b"GET /v1/\xff\xfe HTTP/1.1\r\nHost: x\r\n\r\n")
    h.check("invalid UTF-8 in the path: 400 JSON", st == 400 and is_json_error(body), (st, body))
    st, body = raw(node, b"GET /v1/feeds/%C3%28 HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " +
                   node.token.encode() + b"\r\n\r\n")
    h.check("escaped invalid UTF-8 in the path: 400 JSON", st == 400 and is_json_error(body),
            (st, body))
    st, body, _ = node.get("/v1/trust?target=" + ida, token=False,
                           headers={"Authorization": "Mesh id=x,ts=1"})
    h.check("malformed Mesh header: 401 JSON", st == 401 and is_json_error(body), body)
    st, body, _ = node.get("/v1/trust?target=nope")
    h.check("bad Node ID argument: 400 naming it", st == 400 and b"target" in body, body)
    st, body, _ = node.get("/v1/trust?target=%s&scope=bogus" % ida)
    h.check("bad scope: 400 JSON", st == 400 and is_json_error(body), body)
    st, body, _ = node.get("/v1/nothing")
    h.check("unknown endpoint: 404 JSON", st == 404 and is_json_error(body), body)
    st, body, _ = node.get("/v1/trust", method="DELETE")
    h.check("wrong method: 405 JSON", st == 405 and is_json_error(body), body)
    st, body, _ = node.get("/v1/feeds/%s?from=0" % ido)
    h.check("bad from: 400 JSON", st == 400 and is_json_error(body), body)

    # A slow client holds a connection without finishing its headers; the
    # node keeps serving others and drops it after its timeout.
    host, port = node.url[len("http://"):].split(":")
    slow = socket.create_connection((host, int(port)), timeout=30)
    slow.sendall(b"GET /v1/id HTTP/1.1\r\nHost: x\r\n")
    t0 = time.monotonic()
    st, j, _ = node.get_json("/v1/id", token=False)
    h.check("serving while a slow client dawdles", st == 200 and j["node_id"] == ida)
    try:
        got = slow.recv(1024)
    except (ConnectionResetError, socket.timeout):
        got = b""
    waited = time.monotonic() - t0
    h.check("slow client dropped after the connection timeout (~10 s)",
            got == b"" and 5 <= waited <= 20, (got, waited))
    slow.close()

    st, body, _ = node.get("/v1/feeds/" + ido)
    h.check("the accepted statements are all served back",
            st == 200 and body.split(b"\n")[:3] == lines[:3], body[:300])
    h.check("nothing accepted was lost, nothing refused was added",
            h.head(a) == (digest0, count0))
    st, _, _ = node.get("/v1/id", token=False)
    h.check("node still serving", st == 200)


try:
    h.guard("bad input", main)
finally:
    stop_all(nodes)
h.finish()
