#!/usr/bin/python3
"""Every `mesh` command declares its options once (cli/opts.h): walk them all.

usage: test_cli_help.py MESH

The commands are discovered, not listed here: the families from `mesh --help`
("commands:"), their sub-commands from `mesh FAMILY --help` (a family's help
has a "commands:" list; a leaf command's has "options:"). For every leaf
command:
  - `--help` exits 0, prints on stdout a help that starts with "usage: mesh
    <the command>", has an "options:" list naming -h/--help, and every option
    the usage line names (--x) is in that list;
  - `-h` prints the same help;
  - `--no-such-opt` exits 2, names `--no-such-opt` in a "mesh: " line on
    stderr followed by the usage line, and prints nothing on stdout;
  - `--help=x` (a value given to a flag) exits 2 and names `--help=x`.
No home is needed or created: parsing comes before anything is read.
"""
import os
import re
import subprocess
import sys
import tempfile

failures = []
checks = 0


def check(name, ok, detail=None):
    global checks
    checks += 1
    if not ok:
        failures.append(name)
        print("FAIL %s%s" % (name, "" if detail is None else ": %r" % (detail,)))


def run(mesh, home, args):
    env = dict(os.environ)
    env.pop("MESH_HOME", None)
    env.pop("MESH_PASSPHRASE_FILE", None)
    env.pop("POSIXLY_CORRECT", None)
    env["HOME"] = home
    r = subprocess.run([mesh, "--home", os.path.join(home, "nohome")] + args,
                       stdin=subprocess.DEVNULL, capture_output=True, timeout=60, env=env)
    return r.returncode, r.stdout.decode("utf-8", "replace"), r.stderr.decode("utf-8", "replace")


def section(text, title):
    """The indented lines after a line `title` up to the next blank line."""
    out, inside = [], False
    for line in text.splitlines():
        if line == title:
            inside = True
        elif inside:
            if not line.strip():
                break
            out.append(line)
    return out


def names_of(lines):
    """The first word of every line of a "commands:" list."""
    return [ln.split()[0] for ln in lines if ln.startswith("  ") and ln.split()]


def option_list(help_text):
    """The long options named at the start of the lines of the "options:" list."""
    opts = set()
    for ln in section(help_text, "options:"):
        m = re.match(r"^  (?:-\w, )?(--[a-z][a-z0-9-]*)", ln)
        if m:
            opts.add(m.group(1))
    return opts


def check_leaf(mesh, home, cmd):
    name = "mesh " + " ".join(cmd)
    rc, out, err = run(mesh, home, cmd + ["--help"])
    check("%s --help: exit 0" % name, rc == 0, (rc, err[:300]))
    check("%s --help: starts with `usage: %s`" % (name, name), out.startswith("usage: " + name),
          out[:200])
    check("%s --help: nothing on stderr" % name, err == "", err[:300])
    usage_line = out.splitlines()[0] if out else ""
    listed = option_list(out)
    check("%s --help: an options list naming --help" % name, "--help" in listed, out[-400:])
    check("%s --help: -h is listed with --help" % name,
          any(ln.startswith("  -h, --help") for ln in section(out, "options:")), out[-400:])
    for opt in sorted(set(re.findall(r"(?<![\w-])--[a-z][a-z0-9-]*", usage_line))):
        check("%s --help: %s (in the usage line) is in the options list" % (name, opt),
              opt in listed, sorted(listed))
    rc2, out2, _ = run(mesh, home, cmd + ["-h"])
    check("%s -h: the same help as --help" % name, rc2 == 0 and out2 == out, (rc2, out2[:200]))
    rc, out, err = run(mesh, home, cmd + ["--no-such-opt"])
    check("%s --no-such-opt: exit 2" % name, rc == 2, (rc, err[:300]))
    check("%s --no-such-opt: nothing on stdout" % name, out == "", out[:200])
    lines = err.splitlines()
    check("%s --no-such-opt: `mesh: ` names it on stderr" % name,
          bool(lines) and lines[0].startswith("mesh: ") and "--no-such-opt" in lines[0], err[:300])
    check("%s --no-such-opt: then the usage line" % name,
          len(lines) >= 2 and lines[1] == usage_line, (lines[1:2], usage_line))
    rc, out, err = run(mesh, home, cmd + ["--help=x"])
    check("%s --help=x: exit 2, named" % name, rc == 2 and "--help=x" in err, (rc, err[:300]))
    return len(listed)


def main():
    if len(sys.argv) != 2:
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        return 2
    mesh = sys.argv[1]
    with tempfile.TemporaryDirectory() as home:
        rc, out, err = run(mesh, home, ["--help"])
        check("mesh --help: exit 0", rc == 0, err[:300])
        families = names_of(section(out, "commands:"))
        check("mesh --help lists command families", len(families) >= 10, families)
        leaves, n_opts = [], 0
        for fam in families:
            rc, out, err = run(mesh, home, [fam, "--help"])
            check("mesh %s --help: exit 0" % fam, rc == 0, (rc, err[:300]))
            subs = names_of(section(out, "commands:"))
            if subs:
                check("mesh %s --help: usage line" % fam, out.startswith("usage: mesh " + fam),
                      out[:200])
                leaves += [[fam, s] for s in subs]
            else:
                leaves.append([fam])
        check("sub-commands found", len(leaves) > len(families), len(leaves))
        for cmd in leaves:
            n_opts += check_leaf(mesh, home, cmd)
        check("no home was created", not os.path.exists(os.path.join(home, "nohome")))
    print("%d commands, %d listed options, %d checks, %d failed"
          % (len(leaves), n_opts, checks, len(failures)))
    return 1 if failures else 0


sys.exit(main())
