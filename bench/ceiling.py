"""The extraction ceiling: trafilatura alone over the very bodies the web serves, on all cores.

No network, no parsing, no store: the fastest a pipeline built on trafilatura could turn these
pages into text on this machine (`trafilatura.extract` with its default options). Workers are
started and warmed before the clock starts; the bodies are built in the parent from the same
`Corpus` as the server's and sent to the pool.
"""

from __future__ import annotations

import multiprocessing
import os
import random
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass

from bench.corpus import Corpus


@dataclass(frozen=True)
class Ceiling:
    pages: int
    workers: int
    wall_s: float
    texts: int  # pages that gave some text

    @property
    def items_per_s(self) -> float:
        return self.pages / self.wall_s if self.wall_s else 0.0


def _warm() -> None:
    import trafilatura

    trafilatura.extract("<html><body><article><p>Bonjour. " * 20 + "</p></article></body></html>")


def _extract(body: bytes) -> bool:
    import trafilatura

    return bool(trafilatura.extract(body))


def sample(count: int, size: int, seed: int = 8) -> list[int]:
    """`size` of the `count` article keys drawn evenly at random: a rate needs no more, and a
    stride could fall in step with the rotation of the 279 base pages."""
    if size >= count:
        return list(range(count))
    return sorted(random.Random(seed).sample(range(count), size))


def measure(corpus: Corpus, keys: list[int], workers: int | None = None) -> Ceiling:
    """Extract the article bodies `keys` with one process per core; time only the extraction."""
    workers = workers or os.cpu_count() or 1
    bodies = [corpus.article_body(k) for k in keys]
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(workers, mp_context=context) as pool:
        for f in [pool.submit(_warm) for _ in range(workers * 2)]:
            f.result()
        start = time.perf_counter()
        texts = sum(pool.map(_extract, bodies, chunksize=4))
        wall = time.perf_counter() - start
    return Ceiling(pages=len(bodies), workers=workers, wall_s=wall, texts=texts)
