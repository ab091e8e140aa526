#!/usr/bin/env python3
"""Run every CTest test with a given label under valgrind, with its exact
command line (from `ctest --show-only=json-v1`). Usage:
    scripts/valgrind-tests.py BUILD_DIR [LABEL]
Prints one line per test and "N passed, N failed"; exit 1 on any error."""
import json, os, subprocess, sys

build, label = os.path.abspath(sys.argv[1]), (sys.argv[2] if len(sys.argv) > 2 else "unit")
info = json.loads(subprocess.run(["ctest", "--show-only=json-v1", "-L", label], cwd=build,
                                 check=True, capture_output=True, text=True).stdout)
passed = failed = 0
for t in info["tests"]:
    cmd = t.get("command")
    if not cmd:
        continue
    cwd = next((p["value"] for p in t.get("properties", []) if p["name"] == "WORKING_DIRECTORY"), build)
    log = os.path.join(build, f"valgrind-{t['name']}.log")
    vg = ["valgrind", "-q", "--error-exitcode=99", "--leak-check=full",
          "--errors-for-leak-kinds=definite", f"--log-file={log}"]
    try:
        # test_store_keys, test_pot_replay: sampled arrival orders under
        # valgrind (every order runs natively and under ASan)
        env = dict(os.environ, MT_KEYS_SHUFFLES="24", MT_POT_REPLAY_ORDERS="300")
        r = subprocess.run(vg + cmd, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                           timeout=900, env=env)
        ok, why = r.returncode == 0, f"exit {r.returncode}"
    except subprocess.TimeoutExpired:
        ok, why = False, "timed out after 900 s"
    if ok:
        passed += 1
        print(f"valgrind ok   {t['name']}")
    else:
        failed += 1
        print(f"valgrind FAIL {t['name']} ({why}; see {log})")
        with open(log, errors="replace") as f:
            print(f.read()[-3000:])
print(f"{passed} passed, {failed} failed")
sys.exit(1 if failed else 0)
