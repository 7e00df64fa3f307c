#!/usr/bin/env python3
"""Summarises `go test -json` output read from stdin.

Prints each package's result, the output of every failed test, every skipped
test with the reason it gave, and a closing line "N passed, N failed, N
skipped". Exits 1 if anything failed (or a package did not build), else 0.
"""
import json
import sys

outputs = {}   # (package, test) -> [lines]
results = {}   # (package, test) -> action
pkg_results = {}
build_errors = []

for raw in sys.stdin:
    raw = raw.rstrip("\n")
    try:
        ev = json.loads(raw)
    except ValueError:
        build_errors.append(raw)  # compiler output is not JSON
        continue
    pkg, test, action = ev.get("Package", ""), ev.get("Test"), ev.get("Action")
    key = (pkg, test)
    if action == "output":
        outputs.setdefault(key, []).append(ev.get("Output", ""))
    elif action in ("pass", "fail", "skip"):
        if test:
            results[key] = action
        else:
            pkg_results[pkg] = action

failed = sorted(k for k, a in results.items() if a == "fail")
skipped = sorted(k for k, a in results.items() if a == "skip")
passed = [k for k, a in results.items() if a == "pass"]

for pkg, action in sorted(pkg_results.items()):
    print(f"{action:4} {pkg}")
for line in build_errors:
    print(line)

for pkg, test in skipped:
    reason, last = "", ""
    for line in outputs.get((pkg, test), []):
        s = line.strip()
        if not s or s.startswith("=== ") or s.startswith("--- "):
            continue
        last = s
        if "skip" in s.lower():
            reason = s
    reason = reason or last
    print(f"SKIP {pkg} {test}: {reason or 'no reason given'}")

for pkg, test in failed:
    # Parents fail with their children; print only the leaves.
    if any(t and t != test and t.startswith(test + "/") for (p, t) in failed if p == pkg):
        continue
    print(f"\n=== FAIL {pkg} {test}")
    sys.stdout.write("".join(outputs.get((pkg, test), [])))

bad_pkgs = [p for p, a in pkg_results.items() if a == "fail"]
print(f"\n{len(passed)} passed, {len(failed)} failed, {len(skipped)} skipped")
sys.exit(1 if failed or bad_pkgs else 0)
