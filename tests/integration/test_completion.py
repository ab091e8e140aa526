#!/usr/bin/python3
"""Shell completion (contrib/completion/): bash driven for real, zsh and fish.

bash: contrib/completion/mesh.bash is sourced in `bash --norc --noprofile`,
COMP_WORDS/COMP_CWORD are set as readline would set them and _mesh is called;
COMPREPLY is checked: command families, sub-commands, flags per command,
option values (a|b|c lists of the usage line, scopes), config keys, @NAMEs and
Node IDs from a test home, `help CMD`, and a missing home (empty, fast).
zsh: `zsh -n _mesh` when zsh is installed (skipped with a note otherwise).
fish: `fish -n mesh.fish`, then the same questions through `complete -C`
when fish is installed (skipped with a note otherwise).

usage: test_completion.py MESH
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.normpath(os.path.join(HERE, "..", ".."))
COMP = os.path.join(SRC, "contrib", "completion")
failures = []


def check(ok, what):
    print(("ok   " if ok else "FAIL ") + what, flush=True)
    if not ok:
        failures.append(what)
    return ok


def sh_quote(s):
    return "'" + s.replace("'", "'\\''") + "'"


def bash_complete(mesh, env, *words):
    """COMPREPLY for the line `mesh WORDS…` with the cursor at the end of the
    last word (an empty last word: after a space). Words are split as bash
    splits them (COMP_WORDBREAKS: `=` and `:` are words of their own)."""
    comp = [mesh] + list(words)
    script = ("source %s\nCOMP_WORDS=(%s)\nCOMP_CWORD=%d\nCOMP_LINE=%s\nCOMP_POINT=${#COMP_LINE}\n"
              "_mesh\nprintf '%%s\\n' \"${COMPREPLY[@]}\"\n"
              % (sh_quote(os.path.join(COMP, "mesh.bash")), " ".join(sh_quote(w) for w in comp),
                 len(comp) - 1, sh_quote(" ".join(comp))))
    r = subprocess.run(["bash", "--norc", "--noprofile", "-c", script], capture_output=True,
                       text=True, env=env, timeout=60)
    if r.returncode != 0 or r.stderr.strip():
        print("     bash: rc %d, stderr %r" % (r.returncode, r.stderr[:300]))
    return [l for l in r.stdout.split("\n") if l]


def main():
    mesh = os.path.abspath(sys.argv[1])
    tmp = tempfile.mkdtemp(prefix="mesh-compl-")
    try:
        home, other = os.path.join(tmp, "home"), os.path.join(tmp, "other")
        env = {k: v for k, v in os.environ.items() if not k.startswith("MESH_")}
        env["MESH_HOME"] = home
        env["PATH"] = os.path.dirname(mesh) + os.pathsep + env.get("PATH", "/usr/bin:/bin")
        run = lambda *a, h=home: subprocess.run([mesh, "--home", h] + list(a), env=env,
                                                capture_output=True, text=True, check=True)
        run("init")
        run("init", h=other)
        oid = json.loads(run("id", "--json", h=other).stdout)["node_id"]
        run("trust", "add", oid, "--level", "full", "--scope", "topic:rust")
        run("name", "set", oid, "alice")

        c = lambda *w: bash_complete(mesh, env, *w)
        check(c("tr") == ["trust"], "bash: mesh tr<TAB> -> trust (%s)" % c("tr"))
        top = c("")
        check({"trust", "config", "node", "peer", "help"} <= set(top),
              "bash: mesh <TAB> lists the families (%d)" % len(top))
        subs = c("trust", "")
        check({"add", "list", "path", "explain", "scopes"} <= set(subs),
              "bash: mesh trust <TAB> has add list path explain scopes (%s)" % " ".join(subs))
        check(c("trust", "list", "--sc") == ["--scope"], "bash: mesh trust list --sc<TAB> -> --scope")
        flags = c("trust", "list", "--")
        check({"--scope", "--from", "--depth", "--json", "--help"} <= set(flags),
              "bash: mesh trust list --<TAB> lists its flags (%s)" % " ".join(flags))
        check(c("trust", "list", "--mode", "") == ["best-path", "flow", "flow-adaptive"],
              "bash: --mode <TAB> -> best-path flow flow-adaptive (from the usage line)")
        check(c("trust", "add", "x", "--level", "") == ["full", "limited"],
              "bash: trust add --level <TAB> -> full limited")
        scopes = c("trust", "list", "--scope", "")
        check("topic:rust" in scopes and "global" in scopes,
              "bash: --scope <TAB> offers the held scopes (%s)" % " ".join(scopes))
        check(c("trust", "list", "--scope", "topic", ":", "r") == ["rust"],
              "bash: --scope topic:r<TAB> -> rust (after the `:` word break)")
        check(c("trust", "list", "--scope", "=", "top") == ["topic:", "topic:rust"],
              "bash: --scope=top<TAB> -> topic: topic:rust")
        keys = c("config", "get", "")
        check("trust.maxDepth" in keys and "trust.decay" in keys,
              "bash: mesh config get <TAB> lists trust.maxDepth (%d keys)" % len(keys))
        check(c("config", "set", "trust.maxD") == ["trust.maxDepth"],
              "bash: mesh config set trust.maxD<TAB> -> trust.maxDepth")
        check(c("trust", "path", "@") == ["@alice"], "bash: mesh trust path @<TAB> -> @alice")
        ids = c("trust", "path", "")
        check("@alice" in ids and oid in ids, "bash: mesh trust path <TAB> has @alice and its ID")
        check(c("trust", "list", "--from", "@al") == ["@alice"], "bash: --from @al<TAB> -> @alice")
        check(c("help", "tr") == ["trust"], "bash: mesh help tr<TAB> -> trust")
        check(c("--home", home, "con") == ["config"], "bash: global --home DIR is skipped")
        check("--page" in c("sync", "--"), "bash: a command without sub-commands: mesh sync --<TAB>")
        check("error" in c("node", "start", "--log-level", ""), "bash: node start --log-level <TAB>")
        # No home: nothing from the store, quickly, no error, no prompt.
        t0 = time.time()
        none = c("--home", os.path.join(tmp, "nowhere"), "trust", "path", "")
        dt = time.time() - t0
        check(none == [] and dt < 10, "bash: no home: mesh trust path <TAB> is empty (%.1f s)" % dt)

        zsh = shutil.which("zsh")
        if zsh:
            r = subprocess.run([zsh, "-n", os.path.join(COMP, "_mesh")], capture_output=True,
                               text=True)
            check(r.returncode == 0, "zsh -n _mesh%s" % (": " + r.stderr if r.returncode else ""))
        else:
            print("skip zsh is not installed: _mesh not checked")
        fish = shutil.which("fish")
        if fish:
            fpath = os.path.join(COMP, "mesh.fish")
            r = subprocess.run([fish, "-n", fpath], capture_output=True, text=True)
            check(r.returncode == 0, "fish -n mesh.fish%s" % (": " + r.stderr if r.returncode else ""))
            fenv = dict(env, HOME=tmp, XDG_CONFIG_HOME=os.path.join(tmp, "xdg"))

            def f(line):
                r = subprocess.run([fish, "--no-config", "-c",
                                    "source %s; complete -C%s" % (sh_quote(fpath), sh_quote(line))],
                                   capture_output=True, text=True, env=fenv, timeout=60)
                return [l.split("\t")[0] for l in r.stdout.split("\n") if l]
            check(f("mesh tr") == ["trust"], "fish: mesh tr<TAB> -> trust")
            check({"add", "list", "path", "explain", "scopes"} <= set(f("mesh trust ")),
                  "fish: mesh trust <TAB> has the sub-commands")
            check(f("mesh trust list --sc") == ["--scope"], "fish: --sc<TAB> -> --scope")
            check("trust.maxDepth" in f("mesh config get "), "fish: config get <TAB> lists keys")
            check(f("mesh trust path @") == ["@alice"], "fish: mesh trust path @<TAB> -> @alice")
            check("topic:rust" in f("mesh trust list --scope "), "fish: --scope <TAB> has topic:rust")
        else:
            print("skip fish is not installed: mesh.fish not checked")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    if failures:
        print("\n%d check(s) failed:\n  %s" % (len(failures), "\n  ".join(failures)))
        return 1
    print("\nall completion checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
