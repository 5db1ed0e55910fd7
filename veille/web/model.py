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
from veille.scheduler.runner import JobRunner
from veille.store import jobs as store_jobs
from veille.store import reviews, session_scope
from veille.web.auth import require_admin, require_curator
from veille.web.render import renderer
from veille.web.session import Curator

log = logging.getLogger(__name__)
router = APIRouter(dependencies=[Depends(require_curator)])
RETRAIN = "retrain"
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
    latest = versions[0] if versions else None
    promoted = next((v for v in versions if v.get("rescored") is not None), None)
    return renderer(request).page(
        request,
        "model.html",
        model=model,
        sidecar=sidecar,
        since=since,
        judged=judged,
        corrected=corrected,
        runs=runs,
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
        request.session["flash"] = str(exc)
        return RedirectResponse("/model", status_code=303)
    request.app.state.model.reload()
    log.info("model rolled back", extra={"user": user.name, "version": version})
    request.session["flash"] = tr(request, "Current model is now {version}.").format(
        version=version
    )
    return RedirectResponse("/model", status_code=303)
