"""`veille train|evaluate|classify|reclassify` and `veille model history|rollback`: the
classifier from the command line, thin calls into veille.classify."""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import IO, TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table

from veille.cli import app
from veille.cli.common import run_leased, state
from veille.errors import ConfigError, VeilleError
from veille.store import labels as stored
from veille.store import session_scope, utcnow
from veille.types import TOPICS

if TYPE_CHECKING:
    from veille.classify.examples import Problem, Record

# veille.classify (scikit-learn, skops) is imported inside the commands that use it, so the
# other commands of the CLI do not pay for it at start-up.

model_app = typer.Typer(help="Versions of the classifier model.", no_args_is_help=True)
app.add_typer(model_app, name="model")
CHUNK = 2000  # input lines classified at once

InputOption = Annotated[Path, typer.Option("--input", help="JSON lines; `-` reads stdin.")]


def _models_dir(ctx: typer.Context) -> Path:
    return state(ctx).settings.models_dir


def _figures_table(title: str, model: dict, baseline: dict | None) -> Table:
    table = Table(title=title, box=None)
    table.add_column("topic", no_wrap=True, min_width=25)
    for name in ("precision", "recall", "F1", "labelled"):
        table.add_column(name, no_wrap=True)
    rows = [(t, model["topics"][t], baseline["topics"][t] if baseline else None) for t in TOPICS]
    rows.append(("off-topic", model["off_topic"], baseline["off_topic"] if baseline else None))
    for name, m, b in rows:
        cells = [f"{m[k]:.3f}" + (f" ({b[k]:.3f})" if b else "") for k in ("precision", "recall")]
        cells.append(f"{m['f1']:.3f}" + (f" ({b['f1']:.3f})" if b else ""))
        table.add_row(name, *cells, str(m["support"]))
    macro = f"{model['macro_f1']:.3f}" + (f" ({baseline['macro_f1']:.3f})" if baseline else "")
    table.add_row("macro-F1", "", "", macro, "")
    return table


def _console() -> Console:
    # Not a terminal (a pipe, a log): rich would wrap the tables at 80 columns.
    console = Console()
    return console if console.is_terminal else Console(width=110)


def _say_problems(path: Path | str, problems: list[Problem]) -> None:
    for problem in problems[:20]:
        typer.echo(f"{path}: {problem}", err=True)
    if len(problems) > 20:
        typer.echo(f"{path}: … and {len(problems) - 20} more unusable lines", err=True)


@app.command("train")
def train_cmd(
    ctx: typer.Context,
    labels: Annotated[
        Path | None, typer.Option("--labels", help="Seed labels (default ../shared/labels).")
    ] = None,
    corpus: Annotated[
        Path | None, typer.Option("--corpus", help="Their texts (default ../shared/corpora).")
    ] = None,
    force: Annotated[
        bool, typer.Option("--force", help="Make the new model current even if it scores lower.")
    ] = False,
    export_seed: Annotated[
        Path | None,
        typer.Option(
            "--export-seed",
            help="Instead of training: write the seed labels' feature vectors under the "
            "shipped seed model's vocabulary to this file (the package's seed_vectors.npz).",
        ),
    ] = None,
) -> None:
    """Train on seed and curators' labels; keep the model only if it is not worse on recent
    judged items that neither model trained on."""
    from veille.pipeline import retrain
    from veille.scheduler.plan import RETRAIN

    st = state(ctx)
    if export_seed is not None:
        _export_seed(export_seed, labels, corpus)
        return
    found: list[retrain.Retrained] = []

    def run(now: datetime) -> dict[str, int]:
        found.append(
            retrain.retrain(
                st.engine, st.settings.models_dir, now, labels=labels, corpus=corpus, force=force
            )
        )
        return retrain.figures(found[0])

    # The scheduler's retrain lease and history: two trainings at once would race to promote.
    busy = "another retrain is running (veille serve, veille run or the model page)"
    outcome = run_leased(st.engine, RETRAIN, run, busy=busy)
    if not found:  # a bug (its traceback is logged) or the database went away
        raise VeilleError(f"the training did not run ({outcome}); see the log above")
    done = found[0]
    _say_problems(labels or "seed labels", done.problems)
    typer.echo(f"trained on {done.result.sizes['total']} items: {done.note}")
    cv, baseline = done.result.metrics["cv"], done.result.metrics.get("baseline")
    scheme = "whole-source" if cv.get("scheme") == "whole_source" else "stratified"
    title = f"{cv['folds']}-fold {scheme} cross-validation" + (
        " (keyword baseline)" if baseline else ""
    )
    _console().print(_figures_table(title, cv, baseline))
    same = done.result.metrics.get("same_source")
    if same:
        typer.echo(
            f"same-source (stratified) cross-validation: macro-F1 {same['macro_f1']:.3f}, "
            f"in-scope precision {same['in_scope_precision']:.3f}; whole-source in-scope "
            f"precision {cv['in_scope_precision']:.3f}"
        )
    decision = done.decision
    verdict = "now current" if decision.promoted else "NOT promoted"
    before = decision.current_version or "none"
    typer.echo(
        f"model {decision.version}: cross-validated macro-F1 {decision.macro_f1:.3f}; "
        f"current {before}; {verdict}: {decision.reason}"
    )
    if done.rescored is not None:
        typer.echo(
            f"re-scored {done.rescored['items']} items not yet in a digest: "
            f"{done.rescored['changed']} changed topic"
        )


def _export_seed(path: Path, labels: Path | None, corpus: Path | None) -> None:
    """The vectors belong to the seed model shipped in the package, whatever serves here."""
    from veille import classify
    from veille.classify import artefacts, seedvectors
    from veille.classify import examples as seed_files

    model = classify.load_model(artefacts.SEED_DIR)
    examples, problems = classify.read_seed(
        labels or seed_files.SEED_LABELS, corpus or seed_files.SEED_CORPUS
    )
    _say_problems(labels or "seed labels", problems)
    found = seedvectors.export(model, examples, path)
    typer.echo(
        f"{path}: {found['rows']} seed items, {found['stored']} values, "
        f"{int(found['bytes']) / 1e6:.1f} MB, vocabulary of model {model.version}"
    )


@contextmanager
def _opened(path: Path, mode: str) -> Iterator[IO[str]]:
    if str(path) == "-":
        yield sys.stdin if "r" in mode else sys.stdout
        return
    try:
        with path.open(mode, encoding="utf-8") as f:
            yield f
    except OSError as exc:
        raise VeilleError(f"{path}: cannot open ({exc.strerror or exc})") from None


def _records(path: Path, need_labels: bool) -> Iterator[Record | Problem]:
    from veille import classify

    if str(path) != "-":
        yield from classify.read_lines(path, need_labels=need_labels)
        return
    from veille.classify.examples import parse_line

    for number, line in enumerate(sys.stdin, start=1):
        if line.strip():
            yield parse_line(number, line, need_labels=need_labels)


def _chunks(path: Path, need_labels: bool, problems: list[Problem]) -> Iterator[list[Record]]:
    from veille.classify.examples import Problem

    chunk: list[Record] = []
    for found in _records(path, need_labels):
        if isinstance(found, Problem):
            typer.echo(f"{path}: {found}", err=True)
            problems.append(found)
            continue
        chunk.append(found)
        if len(chunk) >= CHUNK:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


@app.command("classify")
def classify_cmd(
    ctx: typer.Context,
    input: InputOption,  # noqa: A002
    output: Annotated[Path, typer.Option("--output", help="JSON lines; `-` writes stdout.")],
) -> None:
    """Label each line ({id, title, text[, summary, lang, url]}) with topics and scores."""
    from veille import classify

    model = classify.load_model(_models_dir(ctx))
    start, count, problems = time.perf_counter(), 0, []
    with _opened(output, "w") as out:
        for chunk in _chunks(input, False, problems):
            for record, p in zip(chunk, model.predict([r.doc for r in chunk]), strict=True):
                line = {
                    "id": record.id,
                    "labels": list(p.labels),
                    "scores": p.scores,
                    "unsure": list(p.unsure),
                    "model_version": p.model_version,
                }
                out.write(json.dumps(line, ensure_ascii=False) + "\n")
            count += len(chunk)
    seconds = time.perf_counter() - start
    typer.echo(
        f"classified {count} items with model {model.version} in {seconds:.1f} s"
        f"{f'; {len(problems)} unusable lines skipped' if problems else ''}",
        err=True,
    )


@app.command("evaluate")
def evaluate_cmd(
    ctx: typer.Context,
    input: InputOption,  # noqa: A002
    as_json: Annotated[bool, typer.Option("--json", help="Print the figures as JSON.")] = False,
    baseline: Annotated[
        bool, typer.Option("--baseline", help="Score the keyword rules instead of the model.")
    ] = False,
) -> None:
    """Score the model on lines that carry their true `labels`."""
    from veille import classify
    from veille.classify import metrics

    model = None if baseline else classify.load_model(_models_dir(ctx))
    truth, predicted, problems = [], [], []
    for chunk in _chunks(input, True, problems):
        docs = [r.doc for r in chunk]
        found = classify.keyword_predict(docs) if model is None else model.predict(docs)
        truth += [r.labels or () for r in chunk]
        predicted += [p.labels for p in found]
    if not truth:
        raise ConfigError(f"{input}: no usable labelled line to evaluate")
    figures = metrics.report(metrics.indicator(truth), metrics.indicator(predicted))
    figures |= {"model": model.version if model else "keywords", "skipped_lines": len(problems)}
    if as_json:
        typer.echo(json.dumps(figures, indent=2))
        return
    _console().print(_figures_table(f"{figures['model']} on {len(truth)} items", figures, None))
    typer.echo(f"off-topic precision {figures['off_topic']['precision']:.3f}")


@app.command("reclassify")
def reclassify_cmd(
    ctx: typer.Context,
    days: Annotated[int, typer.Option("--days", min=1, help="Items first seen this recently.")],
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Show what would change; write nothing.")
    ] = False,
) -> None:
    """Run the current model again over recent items; show (and save) topic changes."""
    from veille import classify
    from veille.pipeline.offsets import offsets, predict_by_source

    st = state(ctx)
    model = classify.load_model(st.settings.models_dir)
    now = utcnow()
    changed, seen, verdicts = 0, 0, []
    with session_scope(st.engine) as session:
        items = list(stored.recent_items(session, since=now - timedelta(days=days)))
        found = offsets(session, model, (i.source_id for i in items), until=now)  # as a pull
        for start in range(0, len(items), CHUNK):
            chunk = items[start : start + CHUNK]
            docs, sources = [i.doc for i in chunk], [i.source_id for i in chunk]
            for item, p in zip(chunk, predict_by_source(model, docs, sources, found), strict=True):
                seen += 1
                verdicts.append((item.id, p))
                if tuple(item.labels) != p.labels:
                    changed += 1
                    kept = " (curator's labels kept)" if item.reviewed else ""
                    typer.echo(
                        f"item {item.id}: {list(item.labels)} → {list(p.labels)}{kept}  "
                        f"{item.doc.title[:70]}"
                    )
        if not dry_run:
            stored.save_predictions(session, verdicts=verdicts, now=now)
    action = "would change" if dry_run else "changed"
    typer.echo(
        f"{seen} items of the last {days} days, {changed} {action} topic "
        f"(model {model.version}){'; nothing written' if dry_run else ''}"
    )


@model_app.command("history")
def history_cmd(ctx: typer.Context) -> None:
    """Every trained model, newest first, with its figures and whether it is current."""
    from veille import classify

    rows = classify.history(_models_dir(ctx))
    if not rows:
        typer.echo("no model trained yet: run `veille train`")
        return
    table = Table(
        "version", "trained", "items", "macro-F1", "status", "fresh evidence", "why", box=None
    )
    for e in rows:
        ev = e.get("evidence") or {}
        fresh = (
            f"{ev['candidate']:.3f} vs {ev['current']:.3f} on {ev['items']}"
            if ev.get("candidate") is not None and ev.get("current") is not None
            else (f"{ev['items']} items" if ev else "")
        )
        table.add_row(
            e["version"],
            e["created_at"][:16].replace("T", " "),
            str(e["items"]),
            f"{e['macro_f1']:.3f}",
            e["status"],
            fresh,
            e.get("reason", ""),
        )
    _console().print(table)


@model_app.command("rollback")
def rollback_cmd(ctx: typer.Context) -> None:
    """Make the previous model current again."""
    from veille import classify

    version = classify.rollback(_models_dir(ctx))
    typer.echo(f"model {version} is current again")
