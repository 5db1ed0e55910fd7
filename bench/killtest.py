"""The queue kill test, N times with N seeds: how many runs pass out of N.

    python -m bench.killtest --runs 10 [--seed 1]

Each run is tests/faults/test_queue_kills.py in its own pytest process (its own PostgreSQL
database, three `veille worker`s, twenty SIGKILLs); the figures of each run are printed.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TEST = "tests/faults/test_queue_kills.py"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--seed", type=int, default=int(time.time()))
    args = parser.parse_args()
    passed = 0
    for run in range(args.runs):
        seed = args.seed + run
        env = dict(os.environ, QUEUE_KILL_SEED=str(seed))
        started = time.monotonic()
        done = subprocess.run(
            [sys.executable, "-m", "pytest", TEST, "-q", "-s", "-p", "no:cacheprovider"],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
        )
        figures = next(
            (line for line in done.stdout.splitlines() if line.startswith("{'seed'")), "?"
        )
        ok = done.returncode == 0
        passed += ok
        print(
            f"run {run + 1}/{args.runs} seed={seed} {'PASS' if ok else 'FAIL'} "
            f"in {time.monotonic() - started:.0f} s: {figures}",
            flush=True,
        )
    print(f"{passed}/{args.runs} runs passed")
    return 0 if passed == args.runs else 1


if __name__ == "__main__":
    sys.exit(main())
