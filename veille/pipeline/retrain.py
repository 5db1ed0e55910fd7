"""Retraining: seed labels and every curator's call in, a model out, promoted unless worse.

The same function serves `veille train`'s scheduled twin (the weekly job), the review page's
"retrain now" and `veille run`, so they all train on the same data the same way.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from sqlalchemy.engine import Engine

from veille import classify
from veille.errors import ModelError
from veille.store import labels as stored_labels
from veille.store import reviews, session_scope

log = logging.getLogger(__name__)


def retrain(
    engine: Engine,
    models_dir: Path,
    now: datetime,
    *,
    labels: Path | None = None,
    corpus: Path | None = None,
) -> dict[str, int]:
    """Train and maybe promote; figures for the job's history row."""
    with session_scope(engine) as s:
        curated = stored_labels.curator_examples(s)
    examples, _, note = classify.training_examples(curated, labels, corpus)
    log.info("retraining", extra={"stage": "classify", "note": note})
    result = classify.train(examples)
    decision = classify.save_and_maybe_promote(result, models_dir, now)
    return {
        "examples": len(examples),
        "curated": len(curated),
        "promoted": int(decision.promoted),
        "macro_f1_permille": round(1000 * decision.macro_f1),
    }


def corrections_since_training(engine: Engine, models_dir: Path) -> int:
    """Items curators judged since the current model was trained (all of them if none)."""
    try:
        created = classify.load_model(models_dir).sidecar.get("created_at")
    except ModelError:
        created = None
    since = datetime.fromisoformat(created) if created else None
    with session_scope(engine) as s:
        judged, _ = reviews.corrections_since(s, since=since)
    return judged


def retrain_job(
    engine: Engine, models_dir: Path, *, labels: Path | None = None, corpus: Path | None = None
) -> Callable[[datetime], dict[str, int]]:
    return lambda now: retrain(engine, models_dir, now, labels=labels, corpus=corpus)
