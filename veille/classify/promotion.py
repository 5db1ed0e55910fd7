"""Whether a newly trained model replaces the current one: both are scored on the same fresh
evidence, curator-judged items that neither of them trained on.

Cross-validated figures cannot decide it: a model trained on 36 curator labels scores 0.95 on
its own folds and 0.67 on the seed items it never saw. So the most recent curator-judged
items (those judged after the current model was trained) are held back from the candidate's
training, both models label them, and the candidate becomes current only if its figure is not
below the current one's by more than TOLERANCE. Fewer than MIN_EVIDENCE such items is too
little to tell two models apart (one item moves a 30-item figure by about 0.03): the candidate
is recorded but not promoted, and the reason says how many more judgements are needed.

The figure is the mean F1 of four classes, the three topics and "off-topic", so that a small
sample where a topic is absent still counts what each model said about it (a topic neither
the truth nor the model gives an item counts as agreement).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

import numpy as np

from veille.types import TOPICS, Doc, Example, Prediction

MIN_EVIDENCE = 30  # judged items neither model trained on, needed to compare two models
HOLD_SHARE = 0.25  # of the fresh judged items, held back beyond the minimum
TOLERANCE = 0.01  # a candidate this much below the current model still replaces it


class Scorer(Protocol):
    version: str

    def predict(self, docs: list[Doc]) -> list[Prediction]: ...


@dataclass(frozen=True, slots=True)
class Judged:
    """A curator's call with when it was made: what the evidence is chosen from."""

    example: Example
    reviewed_at: datetime


@dataclass(frozen=True)
class Evidence:
    items: int  # judged items neither model trained on
    candidate: float | None  # the candidate's figure on them (None: not scored)
    current: float | None


@dataclass(frozen=True)
class Verdict:
    promoted: bool
    code: str  # no_current | forced | better | worse | too_little_evidence
    reason: str  # one line, English (the web page translates `code` with the figures)


def split(
    judged: Sequence[Judged],
    *,
    trained_until: datetime | None,
    seen: Callable[[Example], bool] = lambda e: False,
) -> tuple[list[Example], list[Example]]:
    """(training examples, held-back evidence). Fresh = judged after `trained_until` (the
    current model's last curator judgement) and not a page it trained on (`seen`, e.g. a
    seed item); the most recent fresh ones, MIN_EVIDENCE or HOLD_SHARE of them, are held
    back. Fewer than MIN_EVIDENCE fresh items: nothing is held back."""
    fresh = fresh_items(judged, trained_until=trained_until, seen=seen)
    if len(fresh) < MIN_EVIDENCE:
        return [j.example for j in judged], []
    fresh.sort(key=lambda j: (j.reviewed_at, j.example.key))
    count = max(MIN_EVIDENCE, int(round(HOLD_SHARE * len(fresh))))
    held = fresh[-count:]
    held_keys = {j.example.key for j in held}
    train = [j.example for j in judged if j.example.key not in held_keys]
    return train, [j.example for j in held]


def fresh_items(
    judged: Sequence[Judged],
    *,
    trained_until: datetime | None,
    seen: Callable[[Example], bool] = lambda e: False,
) -> list[Judged]:
    """Judged after `trained_until` and not a page the current model trained on."""
    return [
        j
        for j in judged
        if (trained_until is None or j.reviewed_at > trained_until) and not seen(j.example)
    ]


def figure(truth: Sequence[Sequence[str]], said: Sequence[Sequence[str]]) -> float:
    """Mean F1 over the three topics and off-topic (see the module docstring)."""
    f1s = []
    for topic in (*TOPICS, None):
        t = np.asarray([(topic in ls) if topic else not ls for ls in truth])
        p = np.asarray([(topic in ls) if topic else not ls for ls in said])
        tp, fp, fn = int((t & p).sum()), int((~t & p).sum()), int((t & ~p).sum())
        f1s.append(1.0 if tp + fp + fn == 0 else 2 * tp / (2 * tp + fp + fn))
    return round(float(np.mean(f1s)), 4)


def score(model: Scorer | None, held: Sequence[Example]) -> float | None:
    if model is None or not held:
        return None
    said = [p.labels for p in model.predict([e.doc for e in held])]
    return figure([e.labels for e in held], said)


def decide(evidence: Evidence, *, has_current: bool, force: bool = False) -> Verdict:
    if not has_current:
        return Verdict(True, "no_current", "no current model")
    if force:
        return Verdict(True, "forced", "forced")
    if evidence.items < MIN_EVIDENCE or evidence.candidate is None or evidence.current is None:
        return Verdict(
            False,
            "too_little_evidence",
            f"too little evidence: {evidence.items} judged items that neither model trained "
            f"on, {MIN_EVIDENCE} needed (judge {MIN_EVIDENCE - evidence.items} more on the "
            "review page)",
        )
    a, b = evidence.candidate, evidence.current
    if a >= b - TOLERANCE:
        return Verdict(
            True,
            "better",
            f"{a:.3f} vs {b:.3f} on {evidence.items} fresh judged items (tolerance {TOLERANCE})",
        )
    return Verdict(
        False,
        "worse",
        f"{a:.3f} is below the current model's {b:.3f} - {TOLERANCE} "
        f"on {evidence.items} fresh judged items",
    )
