"""Model page: the current model's figures, plots and card, the corrections made since it was
trained, "retrain now" (in the background), and the history of versions with rollback.

A retrain started here runs as the scheduler's `retrain` job (same lease, same history rows),
so a click and the weekly run never train at the same time.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from datetime import datetime
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import FileResponse, RedirectResponse, Response
from markdown_it import MarkdownIt
from markupsafe import Markup

from veille.classify import artefacts, promotion
from veille.errors import VeilleError
from veille.scheduler.plan import RETRAIN
from veille.scheduler.runner import JobRunner
from veille.store import jobs as store_jobs
from veille.store import reviews, session_scope
from veille.types import TOPICS
from veille.web import charts, messages
from veille.web.auth import require_admin, require_curator
from veille.web.render import renderer
from veille.web.session import Curator

log = logging.getLogger(__name__)
router = APIRouter(dependencies=[Depends(require_curator)])
JobFunc = Callable[[datetime], Mapping[str, int] | None]


def render_card(text: str) -> Markup:
    """The model card's Markdown as HTML: raw HTML escaped, only safe links, plots from here."""
    md = MarkdownIt("commonmark", {"html": False}).enable("table")
    default_image = md.renderer.rules.get("image")

    def image(renderer, tokens, idx, options, env):  # noqa: ANN001, ANN202
        src = tokens[idx].attrGet("src") or ""
        if "/" not in src and src.endswith(".png"):
            tokens[idx].attrSet("src", f"/model/figures/{src}")
        return default_image(tokens, idx, options, env)

    md.add_render_rule("image", image)
    return Markup(md.render(text))


class Retrainer:
    """Runs one retrain at a time in a background thread, recorded as the `retrain` job."""

    def __init__(self, runner: JobRunner, job: JobFunc, on_done: Callable[[], None]) -> None:
        self.runner, self.job, self.on_done = runner, job, on_done
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> bool:
        """False when a retrain started here is still running."""
        with self._lock:
            if self.running:
                return False
            self._thread = threading.Thread(target=self._run, name="veille-retrain", daemon=True)
            self._thread.start()
            return True

    def _run(self) -> None:
        outcome = self.runner.run(RETRAIN, self.job)
        log.info("retrain finished", extra={"stage": "classify", "outcome": outcome})
        self.on_done()

    def wait(self, timeout: float | None = None) -> None:
        if self._thread is not None:
            self._thread.join(timeout)


GRADES = ((0.85, "very well"), (0.75, "well"), (0.6, "fairly well"), (0.0, "poorly"))


def in_words(cv: Mapping) -> list[dict]:
    """Per topic, the cross-validated figures as a reader can say them: out of 10 articles the
    model files under the topic, how many are right; out of 10 articles of the topic, how many
    it finds; and a grade from F1."""
    out = []
    for topic in TOPICS:
        m = cv.get("topics", {}).get(topic, {})
        f1 = float(m.get("f1", 0))
        out.append(
            {
                "topic": topic,
                "right": round(10 * float(m.get("precision", 0))),
                "found": round(10 * float(m.get("recall", 0))),
                "grade": next(word for floor, word in GRADES if f1 >= floor),
                "support": int(m.get("support", 0)),
            }
        )
    return out


def quality_charts(cv: Mapping, tr: Callable[[str], str], topic_name) -> list[Markup]:  # noqa: ANN001
    """Two small charts of the page's own: right out of 10, and found out of 10, per topic."""
    out = []
    for title, key in (
        (tr("Out of 10 articles it files under a topic, how many belong there"), "precision"),
        (tr("Out of 10 articles of a topic, how many it finds"), "recall"),
    ):
        rows = []
        for topic in TOPICS:
            value = float(cv.get("topics", {}).get(topic, {}).get(key, 0))
            rows.append((topic_name(topic), value, f"{round(10 * value)}/10"))
        out.append((title, charts.bars(title, rows, maximum=1.0)))
    return out


def trade_off(
    sidecar: Mapping, tr: Callable[[str], str], topic_name, percent: str
) -> Markup | None:  # noqa: ANN001
    """The cross-validated precision-recall curve of each topic, with the threshold in use:
    the card's plot, drawn here in the page's language."""
    curves = sidecar.get("curves") or {}
    cv = sidecar.get("metrics", {}).get("cv", {}).get("topics", {})
    lines = []
    for topic in TOPICS:
        c = curves.get(topic)
        if not c:
            continue
        m = cv.get(topic, {})
        point = (float(m["recall"]), float(m["precision"])) if "recall" in m else None
        lines.append((topic_name(topic), c["recall"], c["precision"], point))
    if not lines:
        return None
    title = tr("Found against right, for every threshold (dot: the one in use)")
    return charts.curves(title, lines, tr("found"), tr("right"), percent)


def _figures(models_dir: Path) -> list[str]:
    return sorted(p.name for p in models_dir.glob("*.png") if p.is_file())


@router.get("/model")
def model_page(request: Request) -> Response:
    state = request.app.state
    trained_dir: Path = state.settings.models_dir
    models_dir = artefacts.serving_dir(trained_dir)  # the card and plots of what serves
    model = state.model.current()
    sidecar = model.sidecar if model is not None else {}
    created = sidecar.get("created_at")
    since = datetime.fromisoformat(created) if created else None
    card = models_dir / "MODEL_CARD.md"
    with session_scope(state.engine) as s:
        judged, corrected = reviews.corrections_since(s, since=since)
        runs = store_jobs.recent_runs(s, job=RETRAIN, limit=8)
    try:
        versions = artefacts.history(trained_dir)
    except VeilleError as exc:
        log.warning("model registry unreadable", extra={"error": str(exc)})
        versions = []
    render = renderer(request)
    env = render.envs[render.lang(request)]

    def tr(text: str) -> str:
        return render.gettext(request, text)

    for v in versions:  # one time zone on the page: the registry's UTC stamps are converted
        v["created"] = datetime.fromisoformat(v["created_at"]) if v.get("created_at") else None
        v["reason_said"] = messages.promotion_reason(v.get("reason"), tr, env.filters["fixed"])
    cv = model.metrics.get("cv", {}) if model is not None else {}
    latest = versions[0] if versions else None
    promoted = next((v for v in versions if v.get("rescored") is not None), None)
    return render.page(
        request,
        "model.html",
        model=model,
        sidecar=sidecar,
        since=since,
        judged=judged,
        corrected=corrected,
        runs=runs,
        job_said=lambda run: messages.job_error(run.error, run.outcome, tr),
        words=in_words(cv) if cv else [],
        quality=quality_charts(cv, tr, env.filters["topic"]) if cv else [],
        trade_off=trade_off(sidecar, tr, env.filters["topic"], env.filters["percent"](0)[1:]),
        versions=versions,
        figures=_figures(models_dir),
        card=render_card(card.read_text(encoding="utf-8")) if card.is_file() else None,
        retraining=state.retrainer.running or any(r.outcome == "running" for r in runs),
        flash=request.session.pop("flash", None),
        can_roll_back=models_dir == trained_dir and bool(versions),
        shipped=models_dir != trained_dir,
        min_evidence=promotion.MIN_EVIDENCE,
        latest=latest,
        rescored=promoted.get("rescored") if promoted else None,
        rescored_version=promoted["version"] if promoted else None,
    )


@router.get("/model/figures/{name}")
def figure(request: Request, name: str) -> Response:
    models_dir = artefacts.serving_dir(request.app.state.settings.models_dir)
    if name not in _figures(models_dir):
        raise HTTPException(status_code=404)
    return FileResponse(models_dir / name, media_type="image/png")


@router.post("/model/retrain")
def retrain(request: Request, user: Annotated[Curator, Depends(require_admin)]) -> Response:
    started = request.app.state.retrainer.start()
    log.info("retrain requested", extra={"user": user.name, "started": started})
    tr = renderer(request).gettext
    request.session["flash"] = (
        tr(request, "Training started: reload this page to see the result.")
        if started
        else tr(request, "A training is already running.")
    )
    return RedirectResponse("/model", status_code=303)


@router.post("/model/rollback")
def rollback(request: Request, user: Annotated[Curator, Depends(require_admin)]) -> Response:
    tr = renderer(request).gettext
    try:
        version = artefacts.rollback(request.app.state.settings.models_dir)
    except VeilleError as exc:
        log.warning("rollback refused", extra={"error": str(exc)})
        request.session["flash"] = messages.model_error(exc, lambda text: tr(request, text))
        return RedirectResponse("/model", status_code=303)
    request.app.state.model.reload()
    log.info("model rolled back", extra={"user": user.name, "version": version})
    request.session["flash"] = tr(request, "Current model is now {version}.").format(
        version=version
    )
    return RedirectResponse("/model", status_code=303)
