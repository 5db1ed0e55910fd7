"""Models on disk: versioned skops files with a JSON sidecar, a registry, promotion, rollback.

    models/registry.json            {"current": version, "versions": [entry, …]} (oldest first)
    models/<version>.skops          the fitted Pipeline (skops: no pickle, no code execution)
    models/<version>.npz            its linear form, all that scoring needs (linear.py)
    models/<version>.json           sidecar: labels, sizes, data hash, CV figures, thresholds,
                                    calibration, library versions, date, sha256 of both files
    models/MODEL_CARD.md, *.png     the card of the current model (card.py)

Loading checks the sha256s recorded in the sidecar, reads the .npz with no pickle allowed and
reads the .skops file only when the fitted Pipeline itself is asked for, refusing any type in it
that is not on a short list: only a model veille wrote is ever loaded. A model saved before the
.npz existed is scored from its .skops file.
A retrain replaces the current model only if it is not worse on fresh evidence (promotion.py:
both scored on curator-judged items neither trained on); a rejected candidate keeps its
sidecar (the figures) but not its model files.

The seed model ships inside the package (`seed/`, package data). A models folder with no
current model (a fresh install: `VEILLE_MODELS_DIR` defaults to DATA_DIR/models) serves it;
versions trained later live in the models folder, and rolling back past the first of them
serves the seed again. A model trained on a fixed vocabulary (seedvectors.py) has no .skops
file: its .npz is all there is.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import zipfile
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

from veille.classify import promotion
from veille.classify.band import around as model_band_around
from veille.classify.linear import Linear
from veille.classify.model import Calibration, Model
from veille.errors import ModelError, VeilleError
from veille.types import TOPICS

if TYPE_CHECKING:
    from sklearn.pipeline import Pipeline

    from veille.classify.train import TrainResult

log = logging.getLogger(__name__)
FORMAT = "veille-model/1"
REGISTRY = "registry.json"
PROMOTION_TOLERANCE = promotion.TOLERANCE
SEED_DIR = Path(__file__).resolve().parent / "seed"  # the shipped model, read-only
# The only non-standard type a veille model contains; skops trusts scikit-learn and numpy.
TRUSTED_TYPES = ["veille.classify.features.TextFeatures"]
HINT = "run `veille train` to build one"


@dataclass(frozen=True)
class PromotionDecision:
    version: str
    promoted: bool
    macro_f1: float  # the candidate's cross-validated macro-F1
    current_version: str | None
    current_macro_f1: float | None
    reason: str
    code: str = ""  # promotion.Verdict.code: what the web page says, translated
    evidence: promotion.Evidence | None = None


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _write_json(path: Path, data: object) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(data, indent=2, ensure_ascii=False, sort_keys=False) + "\n")
    os.replace(tmp, path)


def _read_json(path: Path, what: str) -> dict:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ModelError(f"{path}: no {what}; {HINT}") from None
    except (OSError, ValueError) as exc:
        raise ModelError(f"{path}: unreadable {what} ({exc}); {HINT}") from None
    if not isinstance(data, dict):
        raise ModelError(f"{path}: not a veille {what}; {HINT}")
    return data


def read_registry(models_dir: Path) -> dict:
    if not (models_dir / REGISTRY).exists():
        return {"current": None, "versions": []}
    registry = _read_json(models_dir / REGISTRY, "model registry")
    registry.setdefault("versions", [])
    return registry


def serving_dir(models_dir: Path) -> Path:
    """The folder whose current model serves: the models folder once it has one, else the
    seed shipped in the package."""
    if read_registry(models_dir).get("current"):
        return models_dir
    return SEED_DIR


def load_serving(models_dir: Path) -> Model:
    """The model that serves pulls and the web app: the current one, or, when it cannot be
    read (a damaged or foreign file, a model of another version), the shipped seed with one
    warning naming the culprit; a broken file never leaves items unclassified."""
    try:
        return load_model(models_dir)
    except ModelError as exc:
        if not read_registry(SEED_DIR).get("current") or models_dir == SEED_DIR:
            raise
        log.warning(
            "current model unreadable: the shipped seed model serves",
            extra={"stage": "classify", "error": str(exc)},
        )
        return load_model(SEED_DIR)


def is_seed(models_dir: Path) -> bool:
    return serving_dir(models_dir) == SEED_DIR


def load_model(models_dir: Path, version: str | None = None) -> Model:
    """The current model (or `version`), checked against its sidecar before it is read.

    With no current model in `models_dir`, the seed shipped in the package."""
    if version is None:
        models_dir = serving_dir(models_dir)
    elif not (models_dir / f"{version}.json").exists() and (SEED_DIR / f"{version}.json").exists():
        models_dir = SEED_DIR
    registry = read_registry(models_dir)
    version = version or registry.get("current")
    if not version:
        raise ModelError(f"{models_dir / REGISTRY}: no current model; {HINT}")
    sidecar = _read_json(models_dir / f"{version}.json", "model sidecar")
    if sidecar.get("format") != FORMAT:
        raise ModelError(
            f"{models_dir / f'{version}.json'}: not a {FORMAT} sidecar (written by another "
            f"version of veille, or not by veille); {HINT}"
        )
    fitted = None
    if "model_file" in sidecar or "linear_file" not in sidecar:
        path = _checked(
            models_dir / sidecar.get("model_file", f"{version}.skops"), sidecar.get("sha256")
        )
        fitted = partial(_load_pipeline, path)
    try:
        if "linear_file" in sidecar:
            linear_path = _checked(models_dir / sidecar["linear_file"], sidecar["linear_sha256"])
            linear = Linear.load(linear_path)
        else:  # saved before .npz files: the pipeline is read now, and once
            assert fitted is not None
            pipeline = fitted()
            linear, fitted = Linear.of(pipeline), lambda: pipeline
        calibration = Calibration.from_dict(sidecar["calibration"])
        thresholds = {t: float(sidecar["thresholds"][t]) for t in TOPICS}
        unsure_band = float(sidecar.get("unsure_band", 0.1))
        band = (
            {t: [float(b) for b in sidecar["band"][t]] for t in TOPICS} if "band" in sidecar else {}
        )
    except ModelError:
        raise
    except Exception as exc:  # numpy, zipfile and KeyError alike: a damaged artefact
        raise ModelError(f"{models_dir / version}: cannot be loaded ({exc}); {HINT}") from None
    return Model(
        linear,
        calibration,
        thresholds,
        version=version,
        metrics=sidecar.get("metrics", {}),
        unsure_band=unsure_band,
        sidecar=sidecar | {"band": band or model_band_around(thresholds, unsure_band)},
        band=band,
        fitted=fitted,
    )


def _checked(path: Path, sha256: str | None) -> Path:
    if not path.is_file():
        raise ModelError(f"{path}: model file missing; {HINT}")
    if _sha256(path) != sha256:
        raise ModelError(
            f"{path}: checksum differs from its sidecar (damaged or not written by veille); {HINT}"
        )
    return path


def _load_pipeline(path: Path) -> Pipeline:
    import skops.io

    try:
        untrusted = skops.io.get_untrusted_types(file=path)
        if set(untrusted) - set(TRUSTED_TYPES):
            raise ModelError(f"{path}: contains types veille never writes; {HINT}")
        return skops.io.load(path, trusted=untrusted)
    except ModelError:
        raise
    except Exception as exc:  # skops and zipfile alike: a damaged artefact
        raise ModelError(f"{path}: cannot be loaded ({exc}); {HINT}") from None


def _new_version(models_dir: Path, now: datetime) -> str:
    base = now.strftime("%Y%m%d-%H%M%S")
    taken = {p.stem for p in models_dir.glob("*.json")}
    version, n = base, 1
    while version in taken:
        n += 1
        version = f"{base}-{n}"
    return version


def sidecar_of(result: TrainResult, version: str, now: datetime) -> dict:
    from veille.classify import card
    from veille.classify.train import library_versions

    model = result.model
    try:
        params = {
            k: str(v)
            for k, v in model.pipeline.get_params(deep=True).items()
            if "__" in k and not k.endswith("estimator")
        }
    except AttributeError:  # trained on a fixed vocabulary: no Pipeline, see seedvectors.py
        params = dict(model.sidecar.get("params", {}))
    return {
        "format": FORMAT,
        "version": version,
        "created_at": now.isoformat(),
        "labels": list(TOPICS),
        "sizes": result.sizes,
        "data_hash": result.data_hash,
        "metrics": result.metrics,
        "thresholds": model.thresholds,
        "unsure_band": model.unsure_band,
        "band": model.bounds(),
        "calibration": model.calibration.as_dict(),
        "params": params,
        "train_seconds": result.seconds,
        "libraries": library_versions(),
        "curves": card.curves(result.truth, result.oof_scores),
    }


def save_and_maybe_promote(
    result: TrainResult,
    models_dir: Path,
    now: datetime,
    *,
    force: bool = False,
    evidence: promotion.Evidence | None = None,
    training: dict | None = None,
) -> PromotionDecision:
    """Record a trained model; make it current when `evidence` (both models scored on the
    same fresh judged items, see promotion.py) says it is not worse, or when forced, or when
    nothing serves yet. `training` (what it was trained on) goes into its sidecar."""
    models_dir.mkdir(parents=True, exist_ok=True)
    registry = read_registry(models_dir)
    version = _new_version(models_dir, now)
    new_f1 = float(result.metrics["cv"]["macro_f1"])
    serving = serving_dir(models_dir)
    current = read_registry(serving).get("current")
    current_f1 = None
    if current:
        entry = next((e for e in read_registry(serving)["versions"] if e["version"] == current), {})
        current_f1 = entry.get("macro_f1")
    evidence = evidence or promotion.Evidence(0, None, None)
    verdict = promotion.decide(evidence, has_current=bool(current), force=force)
    promoted, reason = verdict.promoted, verdict.reason
    sidecar = sidecar_of(result, version, now) | {"training": training or {}}
    if promoted:
        sidecar |= _save_model_files(result, models_dir, version)
    _write_json(models_dir / f"{version}.json", sidecar)
    decision = PromotionDecision(
        version, promoted, new_f1, current, current_f1, reason, verdict.code, evidence
    )
    registry["versions"].append(
        {
            "version": version,
            "created_at": now.isoformat(),
            "macro_f1": new_f1,
            "items": result.sizes["total"],
            "status": "current" if promoted else "rejected",
            "compared_with": {"version": current, "macro_f1": current_f1},
            # Both models on the same judged items that neither trained on (promotion.py).
            "evidence": {
                "items": evidence.items,
                "candidate": evidence.candidate,
                "current": evidence.current,
            },
            "code": verdict.code,
            "reason": reason,
        }
    )
    if promoted:
        _set_current(models_dir, registry, version)
    else:
        _write_json(models_dir / REGISTRY, registry)
    log.info("model recorded", extra={"stage": "classify", "version": version, "reason": reason})
    return decision


def _save_model_files(result: TrainResult, models_dir: Path, version: str) -> dict[str, str]:
    out: dict[str, str] = {}
    if result.model.fitted is not None:
        import skops.io

        path = models_dir / f"{version}.skops"
        tmp = path.with_name(f".{path.name}.tmp")
        skops.io.dump(result.model.pipeline, tmp, compression=zipfile.ZIP_DEFLATED)
        os.replace(tmp, path)
        out |= {"model_file": path.name, "sha256": _sha256(path)}
    return out | _save_linear(result.model.linear, models_dir / f"{version}.npz")


def record(models_dir: Path, version: str, **fields: object) -> None:
    """Add figures to a version's history entry (e.g. what re-scoring changed)."""
    registry = read_registry(models_dir)
    for entry in registry["versions"]:
        if entry["version"] == version:
            entry.update(fields)
    _write_json(models_dir / REGISTRY, registry)


def _save_linear(linear: Linear, path: Path) -> dict[str, str]:
    tmp = path.with_name(f".{path.name}.tmp")
    linear.save(tmp)
    os.replace(tmp, path)
    return {"linear_file": path.name, "linear_sha256": _sha256(path)}


def add_linear(models_dir: Path, version: str) -> bool:
    """Give a model saved before .npz files existed its linear form; False if it had one."""
    sidecar = _read_json(models_dir / f"{version}.json", "model sidecar")
    if "linear_file" in sidecar:
        return False
    model = load_model(models_dir, version)
    sidecar |= _save_linear(model.linear, models_dir / f"{version}.npz")
    _write_json(models_dir / f"{version}.json", sidecar)
    return True


def _set_current(models_dir: Path, registry: dict, version: str) -> None:
    from veille.classify import card

    for entry in registry["versions"]:
        if entry["status"] == "current" and entry["version"] != version:
            entry["status"] = "previous"
        if entry["version"] == version:
            entry["status"] = "current"
    registry["current"] = version
    card.write(models_dir, _read_json(models_dir / f"{version}.json", "model sidecar"))
    _add_card_section(models_dir / "MODEL_CARD.md")
    _write_json(models_dir / REGISTRY, registry)


def _add_card_section(path: Path) -> None:
    """The card's paragraph on retraining without the seed corpus (seedvectors.py)."""
    from veille.classify.seedvectors import CARD_SECTION

    text = path.read_text(encoding="utf-8") if path.is_file() else ""
    if CARD_SECTION.strip() not in text:
        path.write_text(text.rstrip("\n") + "\n" + CARD_SECTION, encoding="utf-8")


def history(models_dir: Path) -> list[dict]:
    """Every recorded version, newest first."""
    return list(reversed(read_registry(models_dir)["versions"]))


def rollback(models_dir: Path) -> str:
    """Make the previous promoted model current again; return its version."""
    registry = read_registry(models_dir)
    current = registry.get("current")
    order = [e["version"] for e in registry["versions"]]
    before = order[: order.index(current)] if current in order else []
    candidates = [
        e
        for e in registry["versions"]
        if e["version"] in before
        and e["status"] == "previous"
        and any((models_dir / f"{e['version']}{ext}").is_file() for ext in (".npz", ".skops"))
    ]
    if not candidates:
        if current and read_registry(SEED_DIR).get("current"):
            return _back_to_seed(models_dir, registry, current)
        raise VeilleError(f"{models_dir / REGISTRY}: no earlier model to roll back to")
    target = candidates[-1]["version"]
    load_model(models_dir, target)  # refuse to switch to a model that cannot be read
    for entry in registry["versions"]:
        if entry["version"] == current:
            entry["status"] = "rolled_back"
    _set_current(models_dir, registry, target)
    log.info("model rolled back", extra={"stage": "classify", "version": target})
    return target


def _back_to_seed(models_dir: Path, registry: dict, current: str) -> str:
    """No earlier trained version: the shipped seed model serves again."""
    seed = read_registry(SEED_DIR)["current"]
    load_model(SEED_DIR, seed)
    for entry in registry["versions"]:
        if entry["version"] == current:
            entry["status"] = "rolled_back"
    registry["current"] = None
    _write_json(models_dir / REGISTRY, registry)
    log.info("model rolled back to the shipped seed", extra={"stage": "classify"})
    return seed
