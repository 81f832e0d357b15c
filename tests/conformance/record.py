#!/usr/bin/env python3
"""Record expected outputs for conformance programs by running CPython.

Usage: python3 tests/conformance/record.py [FILE.co or DIR ...]
With no arguments, records every .co under this folder.

For each NAME.co: copies it into a fresh temp dir, runs `python3 NAME.co`
there (cwd = temp dir, stdin = /dev/null) and writes
  NAME.out   exact stdout
  NAME.err   last non-empty stderr line   (only when exit status != 0 and stderr non-empty)
  NAME.code  exit status                  (only when exit status != 0)
Stale .err/.code files are removed when the program now exits 0.
Each program is run twice with different PYTHONHASHSEED values; any difference
is reported as NONDETERMINISTIC and nothing is written for that program.
"""
import os, shutil, subprocess, sys, tempfile

HERE = os.path.dirname(os.path.abspath(__file__))


def run(prog, seed):
    env = dict(os.environ, PYTHONHASHSEED=str(seed))
    with tempfile.TemporaryDirectory(prefix="covm-rec-") as tmp:
        local = os.path.join(tmp, os.path.basename(prog))
        shutil.copy(prog, local)
        p = subprocess.run(["python3", os.path.basename(prog)], cwd=tmp, capture_output=True,
                           stdin=subprocess.DEVNULL, env=env, timeout=60)
    return p.returncode, p.stdout, p.stderr.decode("utf-8", "replace")


def last_line(text):
    lines = [l for l in text.splitlines() if l.strip()]
    return lines[-1].strip() if lines else ""


def record(prog):
    base = prog[:-3]
    rc1, out1, err1 = run(prog, 1)
    rc2, out2, err2 = run(prog, 12345)
    if (rc1, out1, last_line(err1)) != (rc2, out2, last_line(err2)):
        print(f"NONDETERMINISTIC {prog}", file=sys.stderr)
        return False
    if rc1 < 0:
        print(f"CRASHED (signal {-rc1}) {prog}", file=sys.stderr)
        return False
    with open(base + ".out", "wb") as f:
        f.write(out1)
    for ext in (".err", ".code"):
        if os.path.exists(base + ext):
            os.remove(base + ext)
    if rc1 != 0:
        with open(base + ".code", "w") as f:
            f.write(f"{rc1}\n")
        if last_line(err1):
            with open(base + ".err", "w") as f:
                f.write(last_line(err1) + "\n")
    status = "ok" if rc1 == 0 else f"exit {rc1}: {last_line(err1)}"
    print(f"{prog}: {status}")
    return True


def collect(args):
    if not args:
        args = [HERE]
    progs = []
    for a in args:
        if os.path.isdir(a):
            for root, _, files in os.walk(a):
                progs += [os.path.join(root, f) for f in files if f.endswith(".co")]
        else:
            progs.append(a)
    return sorted(progs)


def main():
    ok = all([record(p) for p in collect(sys.argv[1:])])
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
