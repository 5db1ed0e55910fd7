"""The run's worker processes, shared by the CPU-bound stages: parsing feeds and extraction.

They start on first need, in a thread, so a run where every source answers 304 never starts
them and the event loop keeps fetching while they import their stack. Until they are up,
`started()` says so and callers do the work in a thread instead (parsing the first feeds
does not wait for trafilatura to import).

forkserver: safe from a threaded parent (the web app and the scheduler run pulls from
threads), and its preload makes each worker's fork cheap.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
from concurrent.futures import Executor, ProcessPoolExecutor

PARSE = ("veille.parse",)
EXTRACT = ("veille.pipeline.preload",)  # the extraction stack and its models, loaded once


def process_pool(workers: int, preload: tuple[str, ...]) -> ProcessPoolExecutor:
    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload(list(preload))
    return ProcessPoolExecutor(max_workers=workers or os.cpu_count() or 1, mp_context=ctx)


class WorkerPool:
    """A process pool started once, off the event loop, on first need."""

    def __init__(self, workers: int = 0, preload: tuple[str, ...] = PARSE + EXTRACT) -> None:
        self.workers = workers or os.cpu_count() or 1
        self.preload = preload
        self._task: asyncio.Future[Executor] | None = None

    def _start(self) -> Executor:
        pool = process_pool(self.workers, self.preload)
        # Spawn every worker now, off the event loop (they start on demand otherwise).
        for future in [pool.submit(int) for _ in range(self.workers)]:
            future.result()
        return pool

    def started(self) -> Executor | None:
        """The pool when it is up, else None (and it is being started)."""
        if self._task is None:
            self._task = asyncio.ensure_future(asyncio.to_thread(self._start))
        if self._task.done() and not self._task.exception():
            return self._task.result()
        return None

    async def get(self) -> Executor:
        self.started()
        assert self._task is not None
        return await self._task

    async def aclose(self) -> None:
        if self._task is None:
            return
        try:
            pool = await self._task  # a start still under way is waited for, then stopped
        except Exception:  # it never started: nothing to stop
            return
        await asyncio.to_thread(pool.shutdown, wait=True, cancel_futures=True)
