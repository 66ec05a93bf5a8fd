"""Mutation run: plant each mutant of tests/mutation/catalogue.py in a scratch copy of the tree
(never in the checkout), run its family's test selections cheapest first until one fails
(KILLED) or none does (SURVIVED), restore the file, print one JSON line per mutant.

    PYTHONPATH=. python tests/mutation/run_mutants.py [--scratch DIR] [--out FILE] [id ...]

The copy leaves out ``.git`` (a worktree's ``.git`` file would tie the copy to this checkout's
index).  Slow: a mutant that survives runs the Keras-side selections too (minutes each on a
busy 2-core machine); pass ids to run a few.  No ``-n``: the selections run one at a time."""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
sys.path.insert(0, str(HERE))
from catalogue import MUTANTS, SELECTIONS  # noqa: E402


def run_selection(scratch: Path, sel: str, timeout: int) -> tuple[int, str, float]:
    """``(return code, output, seconds)`` of one selection run in ``scratch``."""
    if sel.startswith("cli:"):
        cmd = [sys.executable, "-m", "parity.cli", "parity", "--only", sel[4:]]
    else:
        cmd = [sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider", *sel.split()]
    env = dict(os.environ, PYTHONPATH=str(scratch), TF_CPP_MIN_LOG_LEVEL="3")
    start = time.time()
    try:
        p = subprocess.run(cmd, cwd=scratch, env=env, capture_output=True, text=True,
                           timeout=timeout)
        return p.returncode, p.stdout + p.stderr, time.time() - start
    except subprocess.TimeoutExpired:
        return -9, "TIMEOUT", time.time() - start


def first_failure(out: str) -> str:
    for line in out.splitlines():
        if line.startswith(("FAILED", "ERROR")):
            return line[:200]
    tail = [line for line in out.splitlines() if line.strip()]
    return tail[-1][:200] if tail else ""


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("ids", nargs="*", help="mutant ids (default: all)")
    ap.add_argument("--scratch", default="/tmp/numpy_rnn_mutants")
    ap.add_argument("--out", help="append the JSON lines to this file too")
    ap.add_argument("--timeout", type=int, default=900, help="seconds per selection")
    args = ap.parse_args()
    scratch = Path(args.scratch)
    if scratch.exists():
        shutil.rmtree(scratch)
    shutil.copytree(ROOT, scratch, ignore=shutil.ignore_patterns(".git", "__pycache__"))
    for mid, family, file, old, new in MUTANTS:
        if args.ids and mid not in args.ids:
            continue
        path = scratch / file
        src = path.read_text()
        rec: dict = {"id": mid, "family": family}
        if src.count(old) != 1:
            rec["result"] = f"BAD SPEC ({src.count(old)} matches)"
        else:
            path.write_text(src.replace(old, new))
            rec.update(result="SURVIVED", ran=[])
            try:
                for sel in SELECTIONS[family]:
                    rc, out, dt = run_selection(scratch, sel, args.timeout)
                    rec["ran"].append([sel, rc, round(dt)])
                    if rc != 0:
                        rec.update(result="KILLED", by=sel, detail=first_failure(out))
                        break
            finally:
                path.write_text(src)
        line = json.dumps(rec)
        print(line, flush=True)
        if args.out:
            with open(args.out, "a") as f:
                f.write(line + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
