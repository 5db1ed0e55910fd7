"""Run one command and measure it: wall time, CPU seconds, peak memory, exit status.

The process tree (a pipeline with extraction workers) is sampled from /proc every 0.1 s:
memory as the peak of the summed PSS, which counts pages shared between forked workers once,
and the largest VmHWM (a process's own peak RSS); CPU as each process's own time last seen.
CPU is the larger of that sum and wait4's figure for the child (exact, but blind to workers
whose parent never reaped them, such as a forkserver's). wait4's ru_maxrss is not used: on
Linux it carries the harness's own RSS into every child it starts.
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


TICK = os.sysconf("SC_CLK_TCK")


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


def _cpu_s(pid: int) -> float | None:
    """A process's own user + system time, None when it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / TICK


class TreeSampler:
    """Peaks of memory and CPU last seen per process, over the tree rooted at `pid`."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.pss_mb = self.hwm_mb = 0.0
        self.cpu: dict[int, float] = {}

    def sample(self) -> None:
        pss = 0.0
        for p in _children(self.pid):
            mem, hwm = _memory_mb(p)
            pss += mem
            self.hwm_mb = max(self.hwm_mb, hwm)
            cpu = _cpu_s(p)
            if cpu is not None:
                self.cpu[p] = cpu
        self.pss_mb = max(self.pss_mb, pss)

    @property
    def cpu_s(self) -> float:
        return sum(self.cpu.values())


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
        tree, done, timed_out = TreeSampler(proc.pid), threading.Event(), threading.Event()

        def watch() -> None:
            while True:
                tree.sample()
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
            cpu_s=max(usage.ru_utime + usage.ru_stime, tree.cpu_s),
            maxrss_mb=tree.hwm_mb,
            tree_mb=tree.pss_mb,
            stdout=out.read().decode(errors="replace"),
            stderr=err.read().decode(errors="replace"),
            timed_out=timed_out.is_set(),
        )
