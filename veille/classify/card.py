"""The model card: models/MODEL_CARD.md with a precision-recall plot and a confusion table.

Everything is drawn from the sidecar (which keeps a thinned precision-recall curve per topic),
so a rollback redraws the card of the model it restores. Matplotlib's object API with the Agg
canvas: no pyplot state, no display needed.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from sklearn.metrics import precision_recall_curve

from veille.types import TOPIC_NAMES, TOPICS

CARD = "MODEL_CARD.md"
PR_PNG = "pr_curves.png"
CONFUSION_PNG = "confusion.png"


def curves(truth: np.ndarray, scores: np.ndarray, points: int = 60) -> dict[str, dict]:
    """Per topic, about `points` (recall, precision, threshold) triples of the PR curve."""
    out = {}
    for j, topic in enumerate(TOPICS):
        precision, recall, cuts = precision_recall_curve(truth[:, j], scores[:, j])
        keep = np.unique(np.linspace(0, len(cuts) - 1, min(points, len(cuts))).astype(int))
        out[topic] = {
            "recall": [round(float(recall[i]), 4) for i in keep],
            "precision": [round(float(precision[i]), 4) for i in keep],
            "threshold": [round(float(cuts[i]), 4) for i in keep],
        }
    return out


def _figure(width: float, height: float):  # noqa: ANN202
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=100)
    FigureCanvasAgg(fig)
    return fig


def draw_pr(sidecar: dict, path: Path) -> None:
    fig = _figure(9, 3.2)
    cv = sidecar["metrics"]["cv"]["topics"]
    for j, topic in enumerate(TOPICS):
        ax = fig.add_subplot(1, len(TOPICS), j + 1)
        curve = sidecar["curves"][topic]
        ax.plot(curve["recall"], curve["precision"], color="#1f6f8b")
        ax.plot([cv[topic]["recall"]], [cv[topic]["precision"]], "o", color="#c0392b")
        ax.set(xlim=(0, 1), ylim=(0, 1.02), xlabel="recall", title=TOPIC_NAMES[topic]["en"])
        if j == 0:
            ax.set_ylabel("precision")
        ax.grid(alpha=0.3)
    fig.suptitle("Out-of-fold precision-recall (dot: chosen threshold)", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, format="png", metadata={"Software": None})


def draw_confusion(sidecar: dict, path: Path) -> None:
    fig = _figure(9, 2.6)
    tables = sidecar["metrics"]["cv"]["confusion"]
    for j, topic in enumerate(TOPICS):
        ax = fig.add_subplot(1, len(TOPICS), j + 1)
        c = tables[topic]
        grid = np.array([[c["tp"], c["fn"]], [c["fp"], c["tn"]]])
        share = grid / max(grid.sum(), 1)
        ax.imshow(share, cmap="Blues", vmin=0, vmax=0.6)
        for (r, k), value in np.ndenumerate(grid):
            color = "white" if share[r, k] > 0.35 else "black"
            ax.text(k, r, str(value), ha="center", va="center", fontsize=11, color=color)
        ax.set_xticks([0, 1], ["predicted yes", "predicted no"], fontsize=8)
        ax.set_yticks([0, 1], ["labelled yes", "labelled no"], fontsize=8)
        ax.set_title(TOPIC_NAMES[topic]["en"], fontsize=10)
    fig.tight_layout()
    fig.savefig(path, format="png", metadata={"Software": None})


def _row(name: str, model: dict, base: dict) -> str:
    cells = [f"{model[k]:.3f} ({base[k]:.3f})" for k in ("precision", "recall", "f1")]
    return f"| {name} | " + " | ".join(cells) + f" | {model.get('support', '')} |"


def _scheme(cv: dict) -> str:
    if cv.get("scheme", "stratified") == "whole_source":
        folds = cv["folds"]
        return f"whole-source cross-validation ({folds}-fold: each fold leaves whole sources out)"
    return f"stratified {cv['folds']}-fold cross-validation"


def _groups(sidecar: dict) -> str:
    weight = float(sidecar.get("params", {}).get("features__group_weight", 0) or 0)
    return f", and one column per term group (weight {weight})" if weight else ""


def _band_lines(sidecar: dict) -> list[str]:
    band = sidecar.get("band")
    if not band:
        return [f"An unsure band of ±{sidecar['unsure_band']} around each threshold."]
    lines = [
        "Unsure band per topic, [low, high): an item scoring there waits for a curator. It is "
        "asymmetric: above the threshold it holds confidently-but-wrongly filed items, below "
        "it the near misses.",
        "",
        "| topic | low | threshold | high |",
        "|---|---|---|---|",
        *[f"| {t} | {band[t][0]} | {sidecar['thresholds'][t]} | {band[t][1]} |" for t in TOPICS],
    ]
    held = sidecar["metrics"]["cv"].get("band")
    if held:
        lines += [
            "",
            f"On the same out-of-fold scores: {held['held_share']:.0%} of items held for review; "
            f"what goes out unreviewed is {held['unreviewed_precision']:.3f} in-scope "
            f"(labels {held['unreviewed_label_precision']:.3f} right), with recall "
            f"{held['unreviewed_recall']:.3f} ({held['recall_after_review']:.3f} once the "
            "held items are judged).",
        ]
    return lines


def markdown(sidecar: dict) -> str:
    m, sizes = sidecar["metrics"], sidecar["sizes"]
    cv, base = m["cv"], m["baseline"]
    same = m.get("same_source")
    lines = [
        "# Model card: topic classifier",
        "",
        f"Version `{sidecar['version']}`, trained {sidecar['created_at'][:19]} UTC on "
        f"{sizes['total']} labelled items ({sizes.get('curated', 0)} from curators) in "
        f"{sidecar['train_seconds']} s. Data hash `{sidecar['data_hash'][:16]}`.",
        "",
        "Files each item under zero, one or several of the three topics of the taxonomy "
        "(no topic = off-topic), French and English alike, with a calibrated probability "
        "per topic. Written by `veille train`; do not edit.",
        "",
        "## Model",
        "",
        "Accent-folded words (title counted twice) and their character 3–5-grams, TF-IDF, "
        "plus the taxonomy's vocabulary (veille/classify/lexicon.py): one flag per topic for "
        f"the terms the taxonomy names{_groups(sidecar)} → one linear SVM per topic "
        "(class-balanced) → Platt scaling fitted on out-of-fold scores → a per-topic "
        f"threshold maximising F1, all chosen by {_scheme(cv)}.",
        "",
        "| topic | training items | threshold |",
        "|---|---|---|",
        *[f"| {t} | {sizes[t]} | {sidecar['thresholds'][t]} |" for t in TOPICS],
        f"| off-topic | {sizes['off_topic']} | |",
        "",
        *_band_lines(sidecar),
        "",
        f"## Figures: {_scheme(cv)}, keyword baseline in brackets",
        "",
        "What a feed the model never trained on gets.",
        "",
        "| topic | precision | recall | F1 | labelled |",
        "|---|---|---|---|---|",
        *[_row(t, cv["topics"][t], base["topics"][t]) for t in TOPICS],
        f"| **macro-F1** | | | **{cv['macro_f1']:.3f}** ({base['macro_f1']:.3f}) | |",
        _row("off-topic", cv["off_topic"], base["off_topic"]),
        "",
    ]
    if "in_scope_precision" in cv:
        lines += [
            f"In-scope precision (of the items given a topic, the share that has one): "
            f"{cv['in_scope_precision']:.3f}.",
            "",
        ]
    if same:
        lines += [
            f"Same-source ({_scheme(same)}, sources shared between training and test): "
            f"macro-F1 {same['macro_f1']:.3f}, in-scope precision "
            f"{same['in_scope_precision']:.3f}; per topic F1 "
            + ", ".join(f"{t} {same['topics'][t]['f1']:.3f}" for t in TOPICS)
            + ". Items of feeds already in the training data score like this; a new feed "
            "like the figures above.",
            "",
        ]
    held = m.get("held_out_sources")  # models trained before whole-source figures
    if held:
        lines += [
            f"Held out by source ({held['folds']}-fold, whole sources left out): macro-F1 "
            f"{held['macro_f1']:.3f} (baseline {held['baseline_macro_f1']:.3f}).",
            "",
        ]
    lines += [
        "The baseline keeps an item for a topic when one of the taxonomy's terms occurs in it, "
        "the way feed readers filter.",
        "",
        f"![precision-recall]({PR_PNG})",
        "",
        f"![confusion]({CONFUSION_PNG})",
        "",
        "## Limits",
        "",
        "Sources weigh heavily in the seed data: on sources never seen in training the model is "
        "weaker than on known ones (whole-source against same-source figures). Texts beyond "
        "6,000 characters are cut. Items in other languages get low scores and usually land "
        "off-topic.",
        "",
        "Libraries: " + ", ".join(f"{k} {v}" for k, v in sidecar["libraries"].items()) + ".",
        "",
    ]
    return "\n".join(lines)


def write(models_dir: Path, sidecar: dict) -> None:
    draw_pr(sidecar, models_dir / PR_PNG)
    draw_confusion(sidecar, models_dir / CONFUSION_PNG)
    (models_dir / CARD).write_text(markdown(sidecar), encoding="utf-8")
