#!/usr/bin/python3
"""The install tree of meshtrust (cmake/install.cmake), staged in a temp dir.

1. `cmake --install BUILD --prefix STAGE`: every expected file is there
   (bin/mesh, the .so with its SONAME and links, the .a, the public headers,
   meshtrust.pc, the dashboard, the man pages, the shell completions, the
   systemd units: `systemd-analyze verify`, and the system unit's
   `systemd-analyze security --offline=yes` exposure printed, at most 2.0).
2. `nm -D --defined-only` of the .so: only mt_* names, none with `__`, every
   one declared in a public header, and every declared function the archive
   defines is exported.
3. tests/install/consumer.c, copied out of the tree, builds with
   `pkg-config --cflags --libs meshtrust` and runs against the staged .so
   (LD_LIBRARY_PATH), then with `pkg-config --static` against the .a alone;
   both print the same, and the Node ID matches `mesh id` for the same seed.
4. The staged bin/mesh, with no --web and no $MESH_WEB_DIR, serves the staged
   dashboard (share/meshtrust/web beside bin/).
5. The compiled-in fallback: a second build of target mesh only, configured
   with CMAKE_INSTALL_PREFIX=TMP/prefix; its binary copied where nothing is
   beside it serves no dashboard (404) until `cmake --install --component web`
   puts one in TMP/prefix/share/meshtrust/web, then serves that one.
6. The man pages: each renders with groff (-ww) and man --warnings without a
   warning, has its sections, its SEE ALSO names pages that exist, and
   `man -M STAGE/share/man mesh-trust` finds it by name.
"""
import argparse
import filecmp
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

FAMILIES = ["init", "key", "trust", "config", "name", "log", "graph", "metrics", "policy",
            "lesson", "community", "pot", "sim", "node", "proof"]
SEED = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"

failures = []


def check(ok, what):
    print(("ok   " if ok else "FAIL ") + what, flush=True)
    if not ok:
        failures.append(what)
    return ok


def run(cmd, **kw):
    kw.setdefault("capture_output", True)
    kw.setdefault("text", True)
    return subprocess.run(cmd, **kw)


def must(cmd, what, **kw):
    r = run(cmd, **kw)
    if r.returncode != 0:
        print("FAIL %s: %s\n%s%s" % (what, " ".join(cmd), r.stdout, r.stderr), flush=True)
        sys.exit(1)
    return r


def clean_env(**extra):
    env = {k: v for k, v in os.environ.items()
           if k not in ("MESH_WEB_DIR", "MESH_HOME", "LD_LIBRARY_PATH", "PKG_CONFIG_PATH")}
    env.update(extra)
    return env


def public_decls(include_dir):
    """mt_* function names declared in the public headers (comments stripped)."""
    names = set()
    hdir = os.path.join(include_dir, "meshtrust")
    for h in sorted(os.listdir(hdir)):
        if not h.endswith(".h"):
            continue
        text = open(os.path.join(hdir, h), encoding="utf-8").read()
        text = re.sub(r"/\*.*?\*/", " ", text, flags=re.S)
        text = re.sub(r"//[^\n]*", " ", text)
        names.update(n for n in re.findall(r"\b(mt_[A-Za-z0-9_]+)\s*\(", text) if "__" not in n)
    return names


def check_files(a, stage, src):
    libdir = os.path.join(stage, a.libdir)
    mesh = os.path.join(stage, a.bindir, "mesh")
    check(os.access(mesh, os.X_OK), "bin/mesh is installed and executable")
    real = os.path.join(libdir, "libmeshtrust.so.%s" % a.version)
    soname = "libmeshtrust.so.%s" % a.soversion
    check(os.path.isfile(real), "%s/libmeshtrust.so.%s" % (a.libdir, a.version))
    check(os.path.islink(os.path.join(libdir, soname))
          and os.readlink(os.path.join(libdir, soname)) == os.path.basename(real),
          "%s -> %s" % (soname, os.path.basename(real)))
    check(os.path.islink(os.path.join(libdir, "libmeshtrust.so")),
          "libmeshtrust.so (the link for -lmeshtrust)")
    dyn = must(["readelf", "-d", real], "readelf").stdout
    check("Library soname: [%s]" % soname in dyn, "readelf -d: SONAME %s" % soname)
    for lib in ("libsodium", "libsqlite3", "libjansson", "libmicrohttpd", "libcurl"):
        check("[%s.so" % lib in dyn, "the .so needs %s" % lib)
    check(os.path.isfile(os.path.join(libdir, "libmeshtrust.a")), "libmeshtrust.a")
    headers = sorted(h for h in os.listdir(os.path.join(src, "include", "meshtrust"))
                     if h.endswith(".h"))
    inc = os.path.join(stage, a.includedir, "meshtrust")
    missing = [h for h in headers if not os.path.isfile(os.path.join(inc, h))]
    check(not missing, "include/meshtrust: all %d public headers%s"
          % (len(headers), " (missing: %s)" % missing if missing else ""))
    pc = os.path.join(libdir, "pkgconfig", "meshtrust.pc")
    check(os.path.isfile(pc), "%s/pkgconfig/meshtrust.pc" % a.libdir)
    web_src = os.path.join(src, "web")
    web = os.path.join(stage, a.datadir, "meshtrust", "web")
    check(os.path.isfile(os.path.join(web, "index.html")), "share/meshtrust/web/index.html")
    cmp = filecmp.dircmp(web_src, web)
    diff = cmp.left_only + cmp.diff_files
    for sub in cmp.subdirs.values():
        diff += sub.left_only + sub.diff_files
    check(not diff, "share/meshtrust/web holds web/ exactly%s" % (": %s" % diff if diff else ""))
    check_completion(a, stage, src)
    check_systemd(a, stage)
    return mesh, real, libdir, web


def check_systemd(a, stage):
    """The systemd units (contrib/systemd): installed, ExecStart the installed
    mesh, `systemd-analyze verify` (the ExecStart pointed at the staged mesh),
    and the system unit's `systemd-analyze security --offline=yes` score."""
    units = {"system": os.path.join(stage, "lib", "systemd", "system", "mesh-node.service"),
             "user": os.path.join(stage, "lib", "systemd", "user", "mesh-node.service")}
    texts = {}
    for kind, path in units.items():
        if not check(os.path.isfile(path), "lib/systemd/%s/mesh-node.service" % kind):
            continue
        texts[kind] = open(path, encoding="utf-8").read()
        m = re.search(r"^ExecStart=(\S+) node start --listen 127\.0\.0\.1:7070$", texts[kind], re.M)
        check(m is not None and "@CMAKE_" not in texts[kind] and m.group(1).endswith("/bin/mesh"),
              "%s unit: ExecStart=%s node start --listen 127.0.0.1:7070"
              % (kind, m.group(1) if m else "?"))
        # sd_notify readiness and SIGHUP reload (cli/cmd_node.c, since df9ff87)
        check(all(re.search("^" + re.escape(w) + "$", texts[kind], re.M)
                  for w in ("Type=notify", "NotifyAccess=main", "Restart=on-failure",
                            "ExecReload=/bin/kill -HUP $MAINPID")),
              "%s unit: Type=notify, NotifyAccess=main, ExecReload (SIGHUP), "
              "Restart=on-failure" % kind)
    if "system" in texts:
        t = texts["system"]
        want = ["DynamicUser=yes", "User=mesh", "StateDirectory=meshtrust",
                "Environment=MESH_HOME=%S/meshtrust", "NoNewPrivileges=yes",
                "ProtectSystem=strict", "ProtectHome=yes", "PrivateTmp=yes", "PrivateDevices=yes",
                "ProtectKernelTunables=yes", "ProtectKernelModules=yes", "ProtectKernelLogs=yes",
                "RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX",
                "SystemCallFilter=@system-service", "MemoryDenyWriteExecute=yes",
                "LockPersonality=yes", "RestrictNamespaces=yes", "CapabilityBoundingSet=\n"]
        missing = [w.strip() for w in want if not re.search("^" + re.escape(w), t, re.M)]
        check(not missing, "system unit: its own user, StateDirectory, the hardening options%s"
              % (" (missing %s)" % missing if missing else ""))
    sa = shutil.which("systemd-analyze")
    if not sa:
        print("skip systemd-analyze is not installed: the units are not verified", flush=True)
        return
    tmp = tempfile.mkdtemp(prefix="mt-units-")
    try:
        os.chmod(tmp, 0o700)
        staged_mesh = os.path.join(stage, a.bindir, "mesh")
        for kind, text in texts.items():
            d = os.path.join(tmp, kind)
            os.makedirs(d)
            unit = os.path.join(d, "mesh-node.service")
            with open(unit, "w", encoding="utf-8") as f:
                f.write(re.sub(r"^ExecStart=\S+", "ExecStart=" + staged_mesh, text, flags=re.M))
            cmd = [sa, "verify", "--man=no"] + (["--user"] if kind == "user" else []) + [unit]
            r = run(cmd, env=dict(os.environ, XDG_RUNTIME_DIR=tmp))
            out = (r.stdout + r.stderr).strip()
            check(r.returncode == 0 and not out,
                  "systemd-analyze verify%s mesh-node.service (%s unit)%s"
                  % (" --user" if kind == "user" else "", kind, ": " + out[:400] if out else ""))
        if "system" in texts:
            r = run([sa, "security", "--offline=yes", os.path.join(tmp, "system",
                                                                   "mesh-node.service")])
            m = re.search(r"Overall exposure level for \S+: ([0-9.]+) (\S+)", r.stdout)
            if m:
                print("     systemd-analyze security --offline=yes: exposure %s %s"
                      % (m.group(1), m.group(2)), flush=True)
                check(float(m.group(1)) <= 2.0,
                      "system unit: exposure level %s (at most 2.0)" % m.group(1))
            else:
                print("skip systemd-analyze security --offline=yes is not supported here (%s)"
                      % (r.stderr.strip()[:200]), flush=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def check_completion(a, stage, src):
    """The shell completions (contrib/completion) where each shell looks."""
    for rel, name in (("bash-completion/completions/mesh", "mesh.bash"),
                      ("zsh/vendor-completions/_mesh", "_mesh"),
                      ("fish/vendor_completions.d/mesh.fish", "mesh.fish")):
        path = os.path.join(stage, a.datadir, rel)
        check(os.path.isfile(path) and filecmp.cmp(path, os.path.join(src, "contrib",
                                                                        "completion", name),
                                                   shallow=False),
              "share/%s (contrib/completion/%s)" % (rel, name))
    path = os.path.join(stage, a.datadir, "bash-completion", "completions", "mesh")
    r = run(["bash", "--norc", "--noprofile", "-c", "source %s && complete -p mesh" % path])
    check(r.returncode == 0 and "-F _mesh" in r.stdout,
          "the installed bash completion registers _mesh for mesh (%s)" % r.stdout.strip())


def check_symbols(real, stage, a):
    out = must(["nm", "-D", "--defined-only", real], "nm -D").stdout
    exported = set()
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[1] == "A":  # the version node MESHTRUST_0
            continue
        exported.add(parts[-1].split("@")[0])
    decl = public_decls(os.path.join(stage, a.includedir))
    bad = sorted(s for s in exported if not s.startswith("mt_") or "__" in s)
    check(not bad, "nm -D: %d symbols, all mt_*, none internal (mt_*__*, node__*)%s"
          % (len(exported), ": %s" % bad[:20] if bad else ""))
    undeclared = sorted(exported - decl)
    check(not undeclared, "every exported symbol is declared in include/meshtrust/*.h%s"
          % (": %s" % undeclared[:20] if undeclared else ""))
    arch = must(["nm", "-g", "--defined-only", os.path.join(stage, a.libdir, "libmeshtrust.a")],
                "nm archive").stdout
    defined = {l.split()[-1] for l in arch.splitlines() if len(l.split()) == 3}
    hidden = sorted((decl & defined) - exported)
    check(not hidden, "every declared function the library defines is exported%s"
          % (": %s" % hidden[:20] if hidden else ""))
    internal = sorted(s for s in defined if "__" in s or s.startswith("node__"))
    check(internal and not (set(internal) & exported),
          "the %d internals the archive defines (e.g. %s) are not exported"
          % (len(internal), internal[0] if internal else "-"))


def check_consumer(a, tmp, stage, mesh, libdir):
    app = os.path.join(tmp, "app")
    os.makedirs(app)
    shutil.copy(os.path.join(a.source, "tests", "install", "consumer.c"), app)
    env = clean_env(PKG_CONFIG_PATH=os.path.join(libdir, "pkgconfig"))
    ver = must(["pkg-config", "--modversion", "meshtrust"], "pkg-config", env=env).stdout.strip()
    check(ver == a.version, "pkg-config --modversion meshtrust = %s" % ver)
    pc_libdir = must(["pkg-config", "--variable=libdir", "meshtrust"], "pkg-config",
                     env=env).stdout.strip()
    check(os.path.realpath(pc_libdir) == os.path.realpath(libdir),
          "meshtrust.pc is relocatable: libdir resolves into the stage (%s)" % pc_libdir)
    priv = must(["pkg-config", "--print-requires-private", "meshtrust"], "pkg-config",
                env=env).stdout.split()
    check(all(p in priv for p in ("libsodium", "sqlite3", "libmicrohttpd", "libcurl")),
          "Requires.private: %s" % " ".join(priv))

    flags = must(["pkg-config", "--cflags", "--libs", "meshtrust"], "pkg-config", env=env).stdout
    cc = ["cc", "-std=c11", "-Wall", "-Wextra", "-Werror", "consumer.c", "-o"]
    r = run(cc + ["consumer"] + flags.split(), cwd=app, env=env)
    if not check(r.returncode == 0, "cc consumer.c $(pkg-config --cflags --libs meshtrust)"):
        print(r.stdout + r.stderr)
        return
    needed = must(["readelf", "-d", os.path.join(app, "consumer")], "readelf").stdout
    check("[libmeshtrust.so.%s]" % a.soversion in needed,
          "the consumer needs libmeshtrust.so.%s" % a.soversion)
    r = run([os.path.join(app, "consumer"), SEED], env=clean_env())
    check(r.returncode != 0, "without LD_LIBRARY_PATH it does not start (it is linked to the .so)")
    shared = run([os.path.join(app, "consumer"), SEED], env=clean_env(LD_LIBRARY_PATH=libdir))
    check(shared.returncode == 0, "the consumer runs against the staged .so%s"
          % ("" if shared.returncode == 0 else ": " + shared.stderr))
    out = dict(l.split(" ", 1) for l in shared.stdout.splitlines())
    # The same seed through the installed CLI.
    seedfile = os.path.join(tmp, "seed.hex")
    with open(seedfile, "w") as f:
        f.write(SEED + "\n")
    home = os.path.join(tmp, "seed-home")
    must([mesh, "--home", home, "init", "--seed-file", seedfile, "--new-feed"], "mesh init",
         env=clean_env())

    ident = json.loads(must([mesh, "--home", home, "id", "--json"], "mesh id",
                            env=clean_env()).stdout)
    check(out.get("node_id") == ident["node_id"] and out.get("did") == ident["did"],
          "its Node ID and DID are mesh id's for the same seed (%s)" % out.get("node_id"))
    check(out.get("fresh") == "ok", "a generated key pair has a valid Node ID")
    check(out.get("canon") == '{"labels":["b","a"],"note":"caf\u00e9\\u0001","score":800}',
          "canonical JSON: %s" % out.get("canon"))
    check(re.fullmatch(r"[0-9a-f]{64}", out.get("stmt", "")) is not None,
          "a signed trust statement decodes and verifies (id %s)" % out.get("stmt"))
    check(out.get("tampered", "").startswith("refused -"),
          "a changed signature is refused (%s)" % out.get("tampered"))

    # Static: libmeshtrust.a with pkg-config --static. The closure of
    # Requires.private names libraries whose -dev packages Debian's
    # libcurl4-openssl-dev does not pull in (nghttp2, rtmp, ssh2, psl, ldap…):
    # those the toolchain cannot find are left out (they are libcurl's, not ours).
    sflags = must(["pkg-config", "--static", "--cflags", "--libs", "meshtrust"], "pkg-config",
                  env=env).stdout.split()
    for need in ("-lmeshtrust", "-lsodium", "-lsqlite3", "-ljansson", "-lmicrohttpd", "-lcurl",
                 "-lm"):
        check(need in sflags, "pkg-config --static --libs has %s" % need)
    link, dropped = [], []
    for f in sflags:
        if f == "-lmeshtrust":
            link.append("-l:libmeshtrust.a")
        elif f.startswith("-l") and not any(
                os.path.isabs(run(["cc", "-print-file-name=lib%s%s" % (f[2:], ext)]).stdout.strip())
                for ext in (".so", ".a")):
            dropped.append(f)
        else:
            link.append(f)
    r = run(cc + ["consumer-static"] + link, cwd=app, env=env)
    if not check(r.returncode == 0, "cc consumer.c $(pkg-config --static …) with libmeshtrust.a"
                 " (not on this machine, left out: %s)" % " ".join(sorted(set(dropped)))):
        print(r.stdout + r.stderr)
        return
    needed = must(["readelf", "-d", os.path.join(app, "consumer-static")], "readelf").stdout
    check("libmeshtrust" not in needed, "the static consumer does not need libmeshtrust.so")
    static = run([os.path.join(app, "consumer-static"), SEED], env=clean_env())
    check(static.returncode == 0 and static.stdout == shared.stdout,
          "the static consumer runs without LD_LIBRARY_PATH and prints the same")


def serve_index(mesh, home, what):
    """Start `mesh node start` on a free port in home (no --web, no $MESH_WEB_DIR);
    return (status, body) of GET /."""
    env = clean_env()
    if not os.path.exists(os.path.join(home, "identity.key")):
        must([mesh, "--home", home, "init"], "mesh init", env=env)
    p = subprocess.Popen([mesh, "--home", home, "node", "start", "--listen", "127.0.0.1:0",
                          "--sync-interval", "0"], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True, env=env)
    try:
        line = p.stdout.readline()
        m = re.search(r"http://127\.0\.0\.1:(\d+)/", line)
        if not m:
            check(False, "%s: the node starts (%r %s)" % (what, line, p.stderr.read()))
            return None, None
        url = "http://127.0.0.1:%s/" % m.group(1)
        try:
            with urllib.request.urlopen(url, timeout=10) as r:
                return r.status, r.read()
        except urllib.error.HTTPError as e:
            return e.code, e.read()
    finally:
        p.send_signal(signal.SIGTERM)
        try:
            p.wait(timeout=20)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


def check_web_staged(mesh, web, tmp):
    index = open(os.path.join(web, "index.html"), "rb").read()
    status, body = serve_index(mesh, os.path.join(tmp, "home-staged"), "staged mesh")
    check(status == 200 and body == index,
          "the staged bin/mesh serves the staged share/meshtrust/web/index.html (%s)" % status)


def check_web_compiled_in(a, tmp):
    prefix = os.path.join(tmp, "prefix")
    b = os.path.join(tmp, "build-prefix")
    t0 = time.time()
    must(["cmake", "-S", a.source, "-B", b, "-G", a.generator, "-DCMAKE_BUILD_TYPE=Debug",
          "-DMT_BENCH=OFF", "-DCMAKE_INSTALL_PREFIX=" + prefix], "configure the second build")
    must(["cmake", "--build", b, "--target", "mesh", "-j2"], "build its mesh")
    print("     (second build: %.0f s)" % (time.time() - t0), flush=True)
    # Nothing beside it: no web/, ../web, ../../web, ../share/meshtrust/web.
    bindir = os.path.join(tmp, "elsewhere", "deep", "bin")
    os.makedirs(bindir)
    mesh = os.path.join(bindir, "mesh")
    shutil.copy(os.path.join(b, "mesh"), mesh)
    want = os.path.join(prefix, a.datadir, "meshtrust", "web")
    check(want.encode() in open(mesh, "rb").read(),
          "the binary holds the compiled-in path %s" % want)
    home = os.path.join(tmp, "home-prefix")
    index_src = open(os.path.join(a.source, "web", "index.html"), "rb").read()
    status, body = serve_index(mesh, home, "before the web component")
    check(body != index_src, "with nothing installed it serves no dashboard (GET / -> %s, %r)"
          % (status, (body or b"")[:60]))
    must(["cmake", "--install", b, "--component", "web"], "install the web component")
    status, body = serve_index(mesh, home, "after the web component")
    index = open(os.path.join(want, "index.html"), "rb").read()
    check(status == 200 and body == index,
          "after `cmake --install --component web` it serves %s/index.html (%s)"
          % (want, status))


def check_man(a, stage, tmp, mesh):
    mandir = os.path.join(stage, a.mandir)
    if not check(bool(a.scdoc), "scdoc was found at configure time (the man pages are built)"):
        print("     install it (apt-get install scdoc; scripts/install-deps.sh does) and "
              "re-run cmake")
        return
    sources = sorted(f[:-4] for f in os.listdir(os.path.join(a.source, "man"))
                     if f.endswith(".scd"))
    expect = ["mesh.1", "meshtrust.7"] + ["mesh-%s.1" % f for f in FAMILIES]
    missing = [p for p in expect if p not in sources]
    check(not missing, "man/ has mesh(1), meshtrust(7) and the %d family pages%s"
          % (len(FAMILIES), ": missing %s" % missing if missing else ""))
    env = clean_env(MANWIDTH="80", LC_ALL="C.UTF-8", MANPAGER="cat", PAGER="cat")
    texts = {}
    for page in sources:
        name, sec = page.rsplit(".", 1)
        path = os.path.join(mandir, "man" + sec, page)
        if not check(os.path.isfile(path), "share/man/man%s/%s" % (sec, page)):
            continue
        g = run(["groff", "-man", "-Tutf8", "-ww", "-z", path], env=env)
        check(g.returncode == 0 and not g.stderr.strip(),
              "groff -man -ww renders %s without a warning%s" % (page, ": " + g.stderr[:300]
                                                                  if g.stderr.strip() else ""))
        m = run(["man", "--warnings", "-l", path], env=env)
        check(m.returncode == 0 and not m.stderr.strip(),
              "man --warnings -l %s is clean%s" % (page, ": " + m.stderr[:300]
                                                   if m.stderr.strip() else ""))
        texts[page] = m.stdout
        heads = ["NAME", "DESCRIPTION", "SEE ALSO"]
        if sec == "1":
            heads += ["SYNOPSIS", "EXIT STATUS", "EXAMPLES"]
        absent = [h for h in heads if not re.search(r"^%s\s*$" % h, m.stdout, re.M)]
        check(not absent, "%s has %s%s" % (page, ", ".join(heads),
                                           " (missing %s)" % absent if absent else ""))
    for page, text in texts.items():
        see = text[text.rfind("SEE ALSO"):] if "SEE ALSO" in text else ""
        refs = set(re.findall(r"\b(mesh(?:-[a-z]+)?|meshtrust)\((\d)\)", see))
        dangling = sorted("%s(%s)" % r for r in refs if "%s.%s" % r not in sources)
        check(not dangling, "%s: SEE ALSO names existing pages%s"
              % (page, ": not %s" % dangling if dangling else ""))
    r = run(["man", "-M", mandir, "mesh-trust"], env=env)
    check(r.returncode == 0 and "mesh trust add" in r.stdout,
          "man -M STAGE/share/man mesh-trust finds the page by name")
    # Every command of `mesh --help` is on some page (a warning: new commands
    # may land before their page).
    helptext = run([mesh, "--help"], env=clean_env()).stdout
    section = helptext.split("commands:", 1)[-1].split("global options:", 1)[0]
    cmds = re.findall(r"^  ([a-z][a-z-]*)\s", section, re.M)
    alltext = "\n".join(texts.values())
    uncovered = [c for c in cmds if not re.search(r"\bmesh %s\b" % re.escape(c), alltext)]
    check(bool(cmds), "mesh --help lists %d commands" % len(cmds))
    if uncovered:
        print("warn commands without a man page yet: %s (add them to a man/mesh-*.1.scd "
              "family page)" % " ".join(uncovered), flush=True)


def main():
    ap = argparse.ArgumentParser()
    for opt in ("source", "build", "version", "soversion", "bindir", "libdir", "includedir",
                "datadir", "mandir", "generator", "scdoc"):
        ap.add_argument("--" + opt, required=opt != "scdoc", default="")
    a = ap.parse_args()
    if a.scdoc.endswith("-NOTFOUND"):
        a.scdoc = ""
    tmp = tempfile.mkdtemp(prefix="mt-install-")
    try:
        stage = os.path.join(tmp, "stage")
        r = run(["cmake", "--install", a.build, "--prefix", stage])
        if not check(r.returncode == 0, "cmake --install %s --prefix %s" % (a.build, stage)):
            print(r.stdout + r.stderr)
            return 1
        mesh, real, libdir, web = check_files(a, stage, a.source)
        check_symbols(real, stage, a)
        check_consumer(a, tmp, stage, mesh, libdir)
        check_web_staged(mesh, web, tmp)
        check_man(a, stage, tmp, mesh)
        check_web_compiled_in(a, tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    if failures:
        print("\n%d check(s) failed:\n  %s" % (len(failures), "\n  ".join(failures)))
        return 1
    print("\nall install checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
