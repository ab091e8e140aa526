"""Issue #14 item 3: the dashboard's static files never follow symlinks and
never leave the web directory.

The old node open()ed <web>/<path> after refusing only `..`, `//` and `\\`:
a symlink inside the web directory (a careless deploy, an unpacked archive, a
shared checkout) served whatever it pointed at — /etc, the home, the key file
— to anyone, without a token (static files need none).

Web directory (`mesh node start --web DIR`):
  index.html, ok.txt, assets/app.css        regular files
  leak.txt       -> <outside>/secret.txt      symlink to a file outside
  host.txt       -> /etc/hostname             symlink to a system file
  alias.txt      -> ok.txt                    symlink inside the directory
  sub            -> <outside>                 symlinked directory
  etc            -> /etc                      symlinked directory
  assets/up.txt  -> ../../outside/secret.txt  relative symlink climbing out
Checks: GET /, /ok.txt, /assets/app.css → 200 with their content; every
symlink (file or directory, inside or out) → 404 without the target's
content; `..` tricks (plain, percent-encoded, after a real directory) → 404.
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from mtharness import Harness  # noqa: E402
from nodeutil import Node  # noqa: E402
from secutil import raw, request_bytes, run_main  # noqa: E402

h = Harness(sys.argv)
nodes = []
SECRET = b"SECRET-OUTSIDE-THE-WEB-DIR-4f1c"


def main():
    a = h.path("a")
    h.init(a)
    web, out = h.path("web"), h.path("outside")
    os.makedirs(os.path.join(web, "assets"))
    os.makedirs(out)
    files = {"index.html": b"<!doctype html><title>t</title><p>INDEX-OK</p>\n",
             "ok.txt": b"OK-CONTENT\n", "assets/app.css": b"body{color:#123}\n"}
    for name, content in files.items():
        with open(os.path.join(web, name), "wb") as f:
            f.write(content)
    with open(os.path.join(out, "secret.txt"), "wb") as f:
        f.write(SECRET + b"\n")
    os.symlink(os.path.join(out, "secret.txt"), os.path.join(web, "leak.txt"))
    os.symlink("/etc/hostname", os.path.join(web, "host.txt"))
    os.symlink("ok.txt", os.path.join(web, "alias.txt"))
    os.symlink(out, os.path.join(web, "sub"))
    os.symlink("/etc", os.path.join(web, "etc"))
    os.symlink("../../outside/secret.txt", os.path.join(web, "assets", "up.txt"))
    etc_hostname = b""
    try:
        with open("/etc/hostname", "rb") as f:
            etc_hostname = f.read().strip()
    except OSError:
        pass

    node = Node(h, a, "a", ["--web", web]).start()
    nodes.append(node)

    for path, want in [("/", files["index.html"]), ("/ok.txt", files["ok.txt"]),
                       ("/assets/app.css", files["assets/app.css"])]:
        r = raw(node.url, request_bytes("GET", path))
        h.check("GET %s: 200 with the file" % path, r.status == 200 and r.body == want, r)

    def leaked(r):
        return SECRET in r.body or (len(etc_hostname) > 2 and etc_hostname in r.body) or \
            b"root:" in r.body or files["ok.txt"] in r.body

    for path in ["/leak.txt", "/host.txt", "/alias.txt", "/sub/secret.txt", "/etc/hostname",
                 "/etc/passwd", "/assets/up.txt", "/sub/", "/etc/"]:
        r = raw(node.url, request_bytes("GET", path))
        h.check("GET %s (through a symlink): 404, nothing of the target" % path,
                r.status == 404 and not leaked(r), r)

    for path in ["/../outside/secret.txt", "/%2e%2e/outside/secret.txt",
                 "/assets/../../outside/secret.txt", "/assets/%2e%2e/%2e%2e/outside/secret.txt",
                 "/..%2foutside%2fsecret.txt", "/assets/..%2f..%2foutside%2fsecret.txt",
                 "/%2foutside/secret.txt", "/assets/..", "/."]:
        r = raw(node.url, request_bytes("GET", path))
        h.check("GET %s: 404 (or 400), nothing outside" % path,
                r.status in (400, 404) and not leaked(r), r)
    r = raw(node.url, request_bytes("GET", "/ok.txt"))
    h.check("the node keeps serving its files", r.status == 200, r)


run_main(h, "static symlinks", main, nodes)
