"""Retraining: seed labels and curators' calls in, a model out, promoted only if it is not
worse on fresh evidence, then the items still waiting for a digest re-scored with it.

`veille train`, the weekly `retrain` job, `veille run` and the model page's "retrain now" all
call `retrain`, so they train on the same data, judge the same way and re-score alike.

1. Curators' calls are split (classify/promotion.py): the most recent ones that the current
   model never trained on are held back as evidence; the rest join the training data.
2. Training data: the seed labels with their texts when ../shared (or --labels/--corpus) is
   there; else the seed examples' vectors shipped in the package (classify/seedvectors.py) in
   the seed model's vocabulary; else curators' labels alone.
3. Candidate and current model label the held-back items; the candidate is promoted unless
   it does worse (or there are too few of them), `force` overrides.
4. After a promotion, items first seen in the last RESCORE_DAYS that no digest issue holds
   yet are scored again (curators' labels untouched), each with its source's offset for the
   new model as a pull would (offsets.py), and what changed is recorded with the version,
   for the model page.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy.engine import Engine

from veille import classify
from veille.errors import ModelError
from veille.store import labels as stored_labels
from veille.store import reviews, session_scope
from veille.types import Example

if TYPE_CHECKING:
    from veille.classify.artefacts import PromotionDecision
    from veille.classify.examples import Problem
    from veille.classify.model import Model
    from veille.classify.seedvectors import SeedVectors
    from veille.classify.train import TrainResult

log = logging.getLogger(__name__)
RESCORE_DAYS = 30  # items older than this are past any digest
CHANGES_LISTED = 200  # topic changes kept for the model page


@dataclass
class Retrained:
    result: TrainResult
    decision: PromotionDecision
    note: str  # what it trained on, one line
    problems: list[Problem] = field(default_factory=list)
    rescored: dict | None = None  # {"items", "changed", "list"} after a promotion


def _aware(when: datetime) -> datetime:
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def _current(models_dir: Path) -> Model | None:
    from veille.classify import artefacts

    try:
        return artefacts.load_serving(models_dir)
    except ModelError as exc:
        log.warning("current model unreadable", extra={"stage": "classify", "error": str(exc)})
        return None


@dataclass
class Seed:
    """What the seed contributes to a retrain: its examples with their texts (../shared),
    else its shipped vectors (with the seed model whose vocabulary they use), else nothing."""

    examples: list[Example] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    vectors: SeedVectors | None = None
    model: Model | None = None
    pages: frozenset[str] = frozenset()

    def holds(self, example: Example) -> bool:
        """Whether the seed already holds this page (then it is no fresh evidence)."""
        from veille.classify import seedvectors

        return bool(seedvectors.keys_of(example) & self.pages)


def load_seed(labels: Path | None, corpus: Path | None) -> Seed:
    from veille.classify import artefacts, seedvectors
    from veille.classify import examples as seed_files

    shared = seed_files.SEED_LABELS.is_file() and seed_files.SEED_CORPUS.is_file()
    if labels is not None or corpus is not None or shared:
        examples, problems = classify.read_seed(
            labels or seed_files.SEED_LABELS, corpus or seed_files.SEED_CORPUS
        )
        pages = frozenset(k for e in examples for k in seedvectors.keys_of(e))
        return Seed(examples=examples, problems=problems, pages=pages)
    path = artefacts.SEED_DIR / seedvectors.FILE
    if not path.is_file():
        return Seed()
    try:
        model = classify.load_model(artefacts.SEED_DIR)
        vectors = seedvectors.load(path, model)
    except ModelError as exc:
        log.warning("seed vectors unusable", extra={"stage": "classify", "error": str(exc)})
        return Seed()
    return Seed(vectors=vectors, model=model, pages=vectors.pages())


def fit(seed: Seed, curated: list[Example]) -> tuple[TrainResult, str]:
    """Train on the seed and `curated`; the result and a one-line note of what it read."""
    from veille.classify import seedvectors

    if seed.vectors is not None and seed.model is not None:
        note = (
            f"{seed.vectors.rows.shape[0]} seed items as shipped vectors (seed model "
            f"{seed.model.version}'s vocabulary), {len(curated)} curator-labelled items"
        )
        return seedvectors.train_on_vectors(seed.vectors, seed.model, curated), note
    if not seed.examples:
        note = f"no seed data: training on {len(curated)} curator-labelled items alone"
        return classify.train(curated), note
    examples = classify.merge(seed.examples, curated)
    replaced = len(seed.examples) + len(curated) - len(examples)
    note = (
        f"{len(seed.examples)} seed items, {len(curated)} curator-labelled items "
        f"({replaced} of them override a seed label)"
    )
    return classify.train(examples), note


def retrain(
    engine: Engine,
    models_dir: Path,
    now: datetime,
    *,
    labels: Path | None = None,
    corpus: Path | None = None,
    force: bool = False,
) -> Retrained:
    """Hold back fresh evidence, train, judge both models on it, maybe promote, re-score."""
    from veille.classify import artefacts, promotion

    with session_scope(engine) as s:
        judged = [promotion.Judged(e, _aware(when)) for e, when in stored_labels.judged_examples(s)]
    current = _current(models_dir)
    until = (current.sidecar.get("training") or {}).get("curated_until") if current else None
    seed = load_seed(labels, corpus)
    since = datetime.fromisoformat(until) if until else None
    curated, held = promotion.split(judged, trained_until=since, seen=seed.holds)
    fresh = len(held) or len(promotion.fresh_items(judged, trained_until=since, seen=seed.holds))
    result, note = fit(seed, curated)
    note += f"; {len(held)} recent judged items held back to compare the models"
    log.info("retraining", extra={"stage": "classify", "note": note})
    evidence = promotion.Evidence(
        fresh, promotion.score(result.model, held), promotion.score(current, held)
    )
    kept = {e.key for e in curated}
    times = [j.reviewed_at for j in judged if j.example.key in kept]
    training = {
        "curated": len(curated),
        "held_back": len(held),
        "curated_until": max(times).isoformat() if times else until,
        "note": note,
    }
    decision = artefacts.save_and_maybe_promote(
        result, models_dir, now, force=force, evidence=evidence, training=training
    )
    done = Retrained(result, decision, note, seed.problems)
    if decision.promoted:
        done.rescored = rescore(engine, models_dir, now)
        artefacts.record(models_dir, decision.version, rescored=done.rescored)
    return done


def rescore(engine: Engine, models_dir: Path, now: datetime) -> dict:
    """Score again, with the current model, the items no digest issue holds yet; curators'
    labels are separate columns and stay. Returns the count and the items that changed."""
    from veille.pipeline.offsets import offsets, predict_by_source

    model = classify.load_model(models_dir)
    changed: list[dict] = []
    seen = 0
    with session_scope(engine) as s:
        items = list(stored_labels.unsent_items(s, since=now - timedelta(days=RESCORE_DAYS)))
        found = offsets(s, model, (i.source_id for i in items), until=now)  # as a pull would
        verdicts = []
        for start in range(0, len(items), 1000):
            chunk = items[start : start + 1000]
            scored = predict_by_source(
                model, [i.doc for i in chunk], [i.source_id for i in chunk], found
            )
            for item, p in zip(chunk, scored, strict=True):
                seen += 1
                verdicts.append((item.id, p))
                if tuple(item.labels) != p.labels:
                    changed.append(
                        {
                            "id": item.id,
                            "title": item.doc.title[:120],
                            "before": list(item.labels),
                            "after": list(p.labels),
                            "reviewed": item.reviewed,
                        }
                    )
        stored_labels.save_predictions(s, verdicts=verdicts, now=now)
    log.info(
        "items re-scored",
        extra={"stage": "classify", "items": seen, "changed": len(changed)},
    )
    return {"items": seen, "changed": len(changed), "list": changed[:CHANGES_LISTED]}


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
    """The weekly job and the model page's button: `retrain`, figures for the job's row."""

    def run(now: datetime) -> dict[str, int]:
        return figures(retrain(engine, models_dir, now, labels=labels, corpus=corpus))

    return run


def figures(done: Retrained) -> dict[str, int]:
    """A retrain's counts for its job history row (the scheduler and `veille train` alike)."""
    evidence = done.decision.evidence
    return {
        "examples": done.result.sizes["total"],
        "curated": done.result.sizes.get("curated", 0),
        "fresh_judged": evidence.items if evidence else 0,
        "promoted": int(done.decision.promoted),
        "macro_f1_permille": round(1000 * done.decision.macro_f1),
        "rescored": (done.rescored or {}).get("items", 0),
        "changed_topic": (done.rescored or {}).get("changed", 0),
    }
