"""Run one command and measure it: wall time, CPU seconds, peak memory, exit status.

CPU comes from the kernel (wait4 on the child, which includes the worker processes it
reaped). Memory is sampled from /proc every 0.1 s over the whole process tree (a pipeline with
extraction workers): the peak of the summed PSS, which counts pages shared between forked
workers once, and the largest VmHWM (a process's own peak RSS). wait4's ru_maxrss is not used:
on Linux it carries the harness's own RSS into every child it starts.
"""

from __future__ import annotations

import os
import signal
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path


@dataclass
class Run:
    cmd: list[str]
    rc: int
    wall_s: float
    cpu_s: float
    maxrss_mb: float  # largest peak RSS (VmHWM) of one process of the tree
    tree_mb: float  # peak of the tree's summed PSS (sampled)
    stdout: str
    stderr: str
    timed_out: bool = False

    @property
    def ok(self) -> bool:
        return self.rc == 0 and not self.timed_out

    def why(self) -> str:
        """One line saying why the run failed, from its stderr."""
        if self.timed_out:
            return f"timed out after {self.wall_s:.0f} s"
        lines = [line for line in self.stderr.splitlines() if line.strip()]
        return f"exit {self.rc}: {lines[-1][:160] if lines else 'no message'}"


def _children(pid: int) -> list[int]:
    found, todo = [], [pid]
    while todo:
        p = todo.pop()
        try:
            for task in os.listdir(f"/proc/{p}/task"):
                text = Path(f"/proc/{p}/task/{task}/children").read_text()
                todo.extend(int(c) for c in text.split())
        except OSError:
            continue
        found.append(p)
    return found


def _memory_mb(pid: int) -> tuple[float, float]:
    """(PSS, peak RSS) of one process, 0 when it is gone."""
    pss = hwm = 0.0
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                pss = int(line.split()[1]) / 1024
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                hwm = int(line.split()[1]) / 1024
    except OSError:
        pass
    return pss, hwm


def tree_memory_mb(pid: int) -> tuple[float, float]:
    """(summed PSS, largest peak RSS) over the process tree rooted at `pid`."""
    samples = [_memory_mb(p) for p in _children(pid)]
    return sum(s[0] for s in samples), max((s[1] for s in samples), default=0.0)


def run_measured(
    cmd: list[str],
    *,
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
    timeout: float | None = None,
) -> Run:
    """Run `cmd` to completion (killing its process group past `timeout`) and measure it."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        proc = subprocess.Popen(
            cmd,
            env=env,
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=err,
            start_new_session=True,
        )
        # Block in wait4 (exact wall time); sample memory and enforce the timeout aside.
        peak, done, timed_out = [0.0, 0.0], threading.Event(), threading.Event()

        def watch() -> None:
            while True:
                pss, hwm = tree_memory_mb(proc.pid)
                peak[:] = max(peak[0], pss), max(peak[1], hwm)
                if done.wait(0.1):
                    return
                if timeout is not None and time.perf_counter() - start > timeout:
                    timed_out.set()
                    os.killpg(proc.pid, signal.SIGKILL)
                    return

        watcher = threading.Thread(target=watch, daemon=True)
        watcher.start()
        _, status, usage = os.wait4(proc.pid, 0)
        done.set()
        watcher.join()
        wall = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        return Run(
            cmd=cmd,
            rc=proc.returncode,
            wall_s=wall,
            cpu_s=usage.ru_utime + usage.ru_stime,
            maxrss_mb=peak[1],
            tree_mb=peak[0],
            stdout=out.read().decode(errors="replace"),
            stderr=err.read().decode(errors="replace"),
            timed_out=timed_out.is_set(),
        )
