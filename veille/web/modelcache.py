"""The classifier as the web app sees it: loaded once, reloaded when the models folder changes
(a retrain or rollback, here or from the scheduler), with explanations cached per item.

The queue never calls the model: it ranks items from their stored scores. Only the "why"
panel of an item runs `Model.explain` (with its source's offset, as the item was scored),
which is why its results are cached. The classifier
(scikit-learn) is imported on first use, so the app starts fast.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Set
from pathlib import Path
from typing import TYPE_CHECKING, Any

from veille.errors import ModelError
from veille.types import TOPICS, Doc

if TYPE_CHECKING:
    from veille.pipeline.offsets import SourceOffset

log = logging.getLogger(__name__)
DEFAULT_THRESHOLD = 0.5
Explanation = dict[str, list[tuple[str, float]]]


class ModelCache:
    def __init__(self, models_dir: Path, check_every: float = 5.0, explained: int = 512) -> None:
        self.models_dir = models_dir
        self.check_every = check_every
        self._model: Any = None
        self._stamp: tuple[float, ...] | None = None
        self._checked = 0.0
        self._lock = threading.Lock()
        self._explained: OrderedDict[tuple[str, int, object], tuple[Explanation, int]] = (
            OrderedDict()
        )
        self._explained_max = explained

    def _folder_stamp(self) -> tuple[float, ...]:
        # The folder's own mtime changes when a model is added or the current pointer swapped.
        try:
            return (self.models_dir.stat().st_mtime,) + tuple(
                p.stat().st_mtime for p in sorted(self.models_dir.iterdir()) if p.is_file()
            )
        except OSError:
            return ()

    def current(self) -> Any:
        """The current model, or None when none has been trained (or it cannot be read)."""
        now = time.monotonic()
        with self._lock:
            if now - self._checked < self.check_every and self._stamp is not None:
                return self._model
            self._checked = now
            stamp = self._folder_stamp()
            if stamp == self._stamp:
                return self._model
            self._stamp = stamp
            from veille.classify import artefacts

            try:
                self._model = artefacts.load_serving(self.models_dir)
            except ModelError as exc:
                log.warning("no model loaded", extra={"error": str(exc)})
                self._model = None
            self._explained.clear()
            return self._model

    def reload(self) -> None:
        with self._lock:
            self._stamp = None
            self._checked = 0.0

    def thresholds(self) -> dict[str, float]:
        model = self.current()
        found = dict(getattr(model, "thresholds", None) or {})
        return {t: float(found.get(t, DEFAULT_THRESHOLD)) for t in TOPICS}

    def review_order(
        self,
        candidates: list[tuple[int, dict[str, float], int]],
        reports: dict[int, int] | None = None,
        held: Set[int] = frozenset(),
    ) -> list[int]:
        """Candidate ids, most useful to review first: readers' reports, then those `held` for
        the digest, then the classifier's active-learning order (which also spreads them over
        sources)."""
        from veille import classify

        reports = reports or {}
        wrapped = [
            classify.ReviewCandidate(
                id=i, scores=s, source=str(src), reports=reports.get(i, 0), held=i in held
            )
            for i, s, src in candidates
        ]
        return list(classify.review_order(wrapped, self.thresholds()))

    def explain(
        self,
        item_id: int,
        doc: Doc,
        k: int = 8,
        *,
        offset_of: Callable[[Any], SourceOffset | None] | None = None,
        stamp: object = None,
    ) -> tuple[Explanation | None, int]:
        """Per topic, the terms that pushed its score up or down (None without a model), and
        how many judgements its source's offset was fitted on (0: none). `offset_of(model)`
        gives that offset (it appears as the term explain.SOURCE_TERM); `stamp` is what it
        depends on besides the model (the item's classification time), for the cache; None:
        it may change with every judgement, not cached."""
        model = self.current()
        if model is None:
            return None, 0
        key = (str(model.version), item_id, stamp)
        with self._lock:
            if stamp is not None and key in self._explained:
                self._explained.move_to_end(key)
                return self._explained[key]
        offset = offset_of(model) if offset_of else None
        delta = offset.delta if offset else None
        found = {
            t: [(str(term), float(w)) for term, w in model.explain(doc, t, k=k, offset=delta)]
            for t in TOPICS
        }
        answer = (found, offset.judged if offset else 0)
        if stamp is None:
            return answer
        with self._lock:
            self._explained[key] = answer
            while len(self._explained) > self._explained_max:
                self._explained.popitem(last=False)
        return answer
