"""The "unsure" band: per topic, the scores [low, high) for which an item waits for a curator.

Chosen on whole-source out-of-fold scores (what a new feed looks like to the model), and
asymmetric, because the two sides protect different things:

- above the threshold, an item is filed under the topic: a band up to `high` holds the
  confidently-but-wrongly filed ones, the stray entries subscribers would read. `high` is
  raised, topic by topic, where each newly held item removes the most stray entries, until
  what goes out unreviewed is `precision` in-scope precision or `max_held` of items are held;
- below the threshold, an item is dropped as off-topic: a band down to `low` lets curators
  rescue the near misses. It is widened only while the next slice held is mostly items that
  do belong to the topic (`rescue`), and within what is left of `max_held`.

`figures` reports, on the same scores, what a digest would get: precision of what goes out
unreviewed, the share held, recall.
"""

from __future__ import annotations

import numpy as np

from veille.types import TOPICS

STEP = 0.005  # each move of a bound holds about this share of items more
# The band's budget. The digest policy also holds what a source curators found mostly
# off-topic files (veille/digest/hold.py); with that rule, a 10 % band beats today's 20 % on
# sources the model never saw (bench.policy, chosen on half the sources, judged on the other:
# 18.5 % held and 0.922 unreviewed precision against 21.5 % and 0.865; recall 0.60 vs 0.52).
MAX_HELD = 0.1


def held_mask(scores: np.ndarray, band: dict[str, tuple[float, float]]) -> np.ndarray:
    """Items with at least one topic in its unsure band."""
    low = np.asarray([band[t][0] for t in TOPICS])
    high = np.asarray([band[t][1] for t in TOPICS])
    return ((scores >= low) & (scores < high)).any(axis=1)


def figures(
    truth: np.ndarray, scores: np.ndarray, thresholds: dict[str, float], band: dict
) -> dict[str, float]:
    """What goes out unreviewed and what waits, item by item."""
    said = scores >= np.asarray([thresholds[t] for t in TOPICS])
    held = held_mask(scores, band)
    out = ~held & said.any(axis=1)
    relevant = truth.any(axis=1).astype(bool)
    labels_out = said & ~held[:, None]
    return {
        "unreviewed_precision": round(float(relevant[out].mean()) if out.any() else 1.0, 4),
        "unreviewed_label_precision": round(
            float(truth[labels_out].mean()) if labels_out.any() else 1.0, 4
        ),
        "held_share": round(float(held.mean()), 4),
        "unreviewed_recall": round(float((out & relevant).sum() / max(relevant.sum(), 1)), 4),
        # held items go out once a curator has judged them
        "recall_after_review": round(
            float(((out | held) & relevant).sum() / max(relevant.sum(), 1)), 4
        ),
        "items": int(len(truth)),
    }


def choose(
    truth: np.ndarray,
    scores: np.ndarray,
    thresholds: dict[str, float],
    *,
    precision: float = 0.95,
    max_held: float = MAX_HELD,
    rescue: float = 0.5,
) -> dict[str, list[float]]:
    """Per topic [low, high], low ≤ threshold ≤ high (see the module docstring)."""
    n = len(scores)
    step = max(1, int(round(STEP * n)))
    cut = np.asarray([thresholds[t] for t in TOPICS])
    said = scores >= cut
    relevant = truth.any(axis=1).astype(bool)
    low, high = cut.copy(), cut.copy()

    def state(lo: np.ndarray, hi: np.ndarray) -> tuple[np.ndarray, int]:
        held = ((scores >= lo) & (scores < hi)).any(axis=1)
        stray = int((~held & said.any(axis=1) & ~relevant).sum())
        return held, stray

    held, stray = state(low, high)
    out = ~held & said.any(axis=1)
    while out.any() and relevant[out].mean() < precision and held.mean() < max_held:
        best = None
        for j in range(len(TOPICS)):
            above = np.sort(scores[(scores[:, j] >= high[j]) & ~held, j])
            if len(above) == 0:
                continue
            nxt = high.copy()
            # just above the step-th free score: that many more items held
            nxt[j] = above[min(step, len(above) - 1)] + 1e-9
            new_held, new_stray = state(low, nxt)
            gain = (stray - new_stray) / max(int(new_held.sum() - held.sum()), 1)
            if best is None or gain > best[0]:
                best = (gain, nxt, new_held, new_stray)
        if best is None:
            break
        _, high, held, stray = best
        out = ~held & said.any(axis=1)
    while held.mean() < max_held:
        best = None
        for j in range(len(TOPICS)):
            below = np.sort(scores[(scores[:, j] < low[j]) & ~held, j])[::-1]
            if len(below) == 0:
                continue
            nxt = low.copy()
            nxt[j] = below[min(step, len(below) - 1)]
            new_held, _ = state(nxt, high)
            newly = new_held & ~held
            share = float(truth[newly, j].mean()) if newly.any() else 0.0
            if best is None or share > best[0]:
                best = (share, nxt, new_held)
        if best is None or best[0] < rescue or best[2].mean() > max_held:
            break
        low, held = best[1], best[2]
    return {t: [round(float(low[j]), 4), round(float(high[j]), 4)] for j, t in enumerate(TOPICS)}


def around(thresholds: dict[str, float], width: float) -> dict[str, list[float]]:
    """The symmetric band of models saved before bands were chosen: threshold ± width."""
    return {t: [thresholds[t] - width, thresholds[t] + width] for t in TOPICS}
