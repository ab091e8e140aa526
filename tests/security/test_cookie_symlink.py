"""Issue #14 item 3: the bearer token's cookie file is written without
following symlinks.

The old node wrote the token to `$MESH_HOME/.api.cookie.<pid>` with
open(O_WRONLY|O_CREAT|O_TRUNC), fchmod 0600, then rename()d it over
`api.cookie`. Whoever could plant symlinks named `.api.cookie.<n>` for the
coming pids made the node truncate and overwrite (and chmod 0600) any file the
node's user may write — and `api.cookie` itself then became that symlink.

Checks:
  - with 3000 symlinks `.api.cookie.<n>` planted for the next pids (aimed with
    /proc/sys/kernel/ns_last_pid) pointing at a victim file outside the home,
    three start/stop rounds: the node starts, the victim keeps its content
    and mode, and `api.cookie` is a regular file (not a symlink), mode 0600,
    holding exactly the token the node printed;
  - in a home whose `api.cookie` was replaced by a symlink to the victim:
    after a start the victim is unchanged and `api.cookie` is a regular 0600
    file holding the token (the link was replaced, not followed).
"""
import os
import stat
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from mtharness import Harness  # noqa: E402
from nodeutil import Node  # noqa: E402
from secutil import run_main  # noqa: E402

h = Harness(sys.argv)
nodes = []
PLANT = 3000
VICTIM_TEXT = b"VICTIM-ORIGINAL-CONTENT: must never change\n"


def read_int(path, default):
    try:
        with open(path) as f:
            return int(f.read().strip())
    except (OSError, ValueError):
        return default


def plant(home, victim):
    """Symlinks .api.cookie.<n> -> victim for the next PLANT pids."""
    last = read_int("/proc/sys/kernel/ns_last_pid", None)
    pid_max = read_int("/proc/sys/kernel/pid_max", 32768)
    if last is None:
        return set()
    pids = set()
    p = last
    for _ in range(PLANT):
        p += 1
        if p >= pid_max:
            p = 300  # the kernel wraps to RESERVED_PIDS
        pids.add(p)
        link = os.path.join(home, ".api.cookie.%d" % p)
        try:
            os.symlink(victim, link)
        except FileExistsError:
            pass
    return pids


def victim_state(victim):
    st = os.stat(victim)
    with open(victim, "rb") as f:
        return f.read(), stat.S_IMODE(st.st_mode)


def check_cookie(label, home, node, victim):
    content, mode = victim_state(victim)
    h.check("%s: the victim outside the home is unchanged" % label, content == VICTIM_TEXT,
            "victim now holds %r" % content[:100])
    h.check("%s: the victim keeps its mode 0644" % label, mode == 0o644, "mode %o" % mode)
    path = os.path.join(home, "api.cookie")
    st = os.lstat(path)
    h.check("%s: api.cookie is a regular file, not a symlink" % label, stat.S_ISREG(st.st_mode),
            "api.cookie -> %s" % (os.readlink(path) if stat.S_ISLNK(st.st_mode) else "?"))
    h.check("%s: api.cookie has mode 0600" % label, stat.S_IMODE(st.st_mode) == 0o600,
            "mode %o" % stat.S_IMODE(st.st_mode))
    if stat.S_ISREG(st.st_mode):
        with open(path) as f:
            tok = f.read()
        h.check("%s: api.cookie holds the printed token" % label, tok == node.token,
                (tok[:70], node.token))


def main():
    a, b = h.path("a"), h.path("b")
    h.init(a)
    h.init(b)
    victim = h.path("victim.txt")
    with open(victim, "wb") as f:
        f.write(VICTIM_TEXT)
    os.chmod(victim, 0o644)

    node = Node(h, a, "a")
    for rnd in range(1, 4):
        pids = plant(a, victim)
        try:
            node.start()
        except RuntimeError as e:
            h.check("round %d: the node starts among the planted symlinks" % rnd, False, e)
            break
        aimed = node.proc.pid in pids
        print("  round %d: node pid %d %s the %d planted pids" % (
            rnd, node.proc.pid, "within" if aimed else "OUTSIDE", len(pids)))
        h.check("round %d: the attack is aimed (the node's pid was planted)" % rnd, aimed,
                "pid %d; planted %d..%d" % (node.proc.pid, min(pids or [0]), max(pids or [0])))
        check_cookie("round %d" % rnd, a, node, victim)
        node.stop()
        # Restore the victim so that each round stands on its own.
        with open(victim, "wb") as f:
            f.write(VICTIM_TEXT)
        os.chmod(victim, 0o644)
        cookie = os.path.join(a, "api.cookie")
        if os.path.islink(cookie):
            os.unlink(cookie)

    # api.cookie itself a symlink to the victim.
    cookie = os.path.join(b, "api.cookie")
    if os.path.lexists(cookie):
        os.unlink(cookie)
    os.symlink(victim, cookie)
    nb = Node(h, b, "b")
    try:
        nb.start()
        nodes.append(nb)
        check_cookie("api.cookie planted as a symlink", b, nb, victim)
    except RuntimeError as e:
        h.check("the node starts with api.cookie planted as a symlink", False, e)


run_main(h, "cookie symlink", main, nodes)
