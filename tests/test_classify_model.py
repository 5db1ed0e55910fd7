"""The trained model: predictions, thresholds, unsure band, explanations, awkward inputs."""

from __future__ import annotations

import math

import numpy as np
import pytest

from tests.classify_data import tiny_examples, tiny_result
from veille.classify import train
from veille.classify.explain import contributions, log_odds
from veille.errors import VeilleError
from veille.types import TOPICS, Doc, Example


def test_predictions_follow_thresholds_and_flag_the_unsure_band() -> None:
    model = tiny_result().model
    docs = [e.doc for e in tiny_examples()]
    for p in model.predict(docs):
        assert set(p.scores) == set(TOPICS) and all(0 <= s <= 1 for s in p.scores.values())
        assert p.labels == tuple(t for t in TOPICS if p.scores[t] >= model.thresholds[t])
        band = model.sidecar.get("band") or model.bounds()
        assert p.unsure == tuple(t for t in TOPICS if band[t][0] <= p.scores[t] < band[t][1])
        assert p.model_version == model.version


def test_the_model_learns_the_topics() -> None:
    model = tiny_result().model
    (coop, repair, osm, match) = model.predict(
        [
            Doc(
                "Une coopérative d'habitants et l'économie sociale",
                "Des habitants et des associations.",
            ),
            Doc("Repair café et outilthèque", "On prête et on répare entre voisins."),
            Doc(
                "OpenStreetMap et données ouvertes", "Cartographie collaborative et logiciel libre."
            ),
            Doc("Le match de football", "Le club a perdu dimanche."),
        ]
    )
    assert "social_innovation" in coop.labels
    assert "collaborative_consumption" in repair.labels
    assert "open_collaboration" in osm.labels
    assert match.labels == ()


def test_empty_foreign_and_enormous_items() -> None:
    model = tiny_result().model
    empty, german = model.predict([Doc("", ""), Doc("Fußball", "Die Mannschaft hat gewonnen.")])
    assert empty.labels == () and german.labels == ()
    huge = Doc("Repair café", "On répare ensemble. " * 200_000)  # 4 MB of text: cut, so cheap
    (p,) = model.predict([huge])
    (cut,) = model.predict([Doc("Repair café", huge.text[:6000])])
    assert p.scores == cut.scores
    assert model.predict([]) == []


def test_explanation_shares_add_up_to_the_score_exactly() -> None:
    model = tiny_result().model
    doc = Doc("Covoiturage et repair café", "Des voisins partagent leurs trajets et réparent.")
    (scores,) = model.scores([doc])
    for j, topic in enumerate(TOPICS):
        shares, base = contributions(model, doc, topic, function_words=True)
        assert math.isclose(sum(shares.values()) + base, log_odds(scores[j]), abs_tol=1e-5)


def test_explain_lists_the_terms_that_matter_in_the_item_s_own_spelling() -> None:
    model = tiny_result().model
    doc = Doc("Covoiturage et réparation", "Le covoiturage entre voisins de la commune.")
    terms = model.explain(doc, "collaborative_consumption", k=4)
    assert 0 < len(terms) <= 4
    assert terms[0][0] == "covoiturage" and terms[0][1] > 0
    assert all(abs(a[1]) >= abs(b[1]) for a, b in zip(terms, terms[1:], strict=False))
    assert not {"et", "le", "la", "de"} & {
        t for t, _ in model.explain(doc, "open_collaboration", 50)
    }
    assert "réparation" in {t for t, _ in model.explain(doc, "collaborative_consumption", 50)}
    with pytest.raises(VeilleError, match="unknown topic 'gardening'"):
        model.explain(doc, "gardening")


def test_calibrated_scores_rank_like_the_svm() -> None:
    model = tiny_result().model
    docs = [e.doc for e in tiny_examples()]
    raw = model.pipeline.decision_function(docs)
    probs = model.scores(docs)
    for j in range(len(TOPICS)):
        assert (
            np.argsort(raw[:, j], kind="stable") == np.argsort(probs[:, j], kind="stable")
        ).all()


def test_scores_are_the_pipeline_s_decisions_calibrated_bit_for_bit() -> None:
    model = tiny_result().model
    docs = [e.doc for e in tiny_examples()]
    raw = model.pipeline.decision_function(docs)
    assert np.array_equal(model.scores(docs), model.calibration.apply(raw))


def test_too_few_labels_is_one_clear_error() -> None:
    few = [
        Example(str(i), Doc("Covoiturage", "trajets"), ("collaborative_consumption",))
        for i in range(8)
    ]
    with pytest.raises(VeilleError, match="not enough labelled items to train .*social_innovation"):
        train(few)


def test_threads_share_a_model_safely(monkeypatch: pytest.MonkeyPatch) -> None:
    """The web app explains items from several threads, which may all build the lookups."""
    from concurrent.futures import ThreadPoolExecutor

    model = tiny_result().model
    docs = [e.doc for e in tiny_examples()]
    expected = [p.scores for p in model.predict(docs)]
    monkeypatch.setattr(model.pipeline.named_steps["features"], "_lookup", None)

    def one(i: int) -> dict[str, float]:
        model.explain(docs[i], "open_collaboration")
        return model.predict([docs[i]])[0].scores

    with ThreadPoolExecutor(8) as pool:
        got = list(pool.map(one, list(range(len(docs))) * 2))
    assert got == expected * 2


def test_an_offset_is_one_more_term_and_the_terms_still_add_up() -> None:
    from veille.classify.explain import SOURCE_TERM

    model = tiny_result().model
    doc = Doc("Covoiturage et repair café", "Des voisins partagent leurs trajets et réparent.")
    offset = np.array([-0.7, 1.2, 0.0])
    (plain,) = model.scores([doc])
    (moved,) = model.scores([doc], offset)
    (zero,) = model.scores([doc], np.zeros(len(TOPICS)))
    assert zero.tolist() == plain.tolist()  # no judgement, no offset: the same scores
    for j, topic in enumerate(TOPICS):
        assert math.isclose(log_odds(moved[j]), log_odds(plain[j]) + offset[j], abs_tol=1e-6)
        shares, base = contributions(model, doc, topic, function_words=True, offset=offset)
        assert (SOURCE_TERM in shares) == bool(offset[j])
        assert math.isclose(sum(shares.values()) + base, log_odds(moved[j]), abs_tol=1e-5)
    # Listed beyond the k terms, in its place by size; not listed when it is 0.
    terms = model.explain(doc, "collaborative_consumption", k=2, offset=offset)
    assert len(terms) == 3 and (SOURCE_TERM, 1.2) in terms
    assert [abs(w) for _, w in terms] == sorted((abs(w) for _, w in terms), reverse=True)
    assert SOURCE_TERM not in dict(model.explain(doc, "open_collaboration", k=2, offset=offset))
    assert model.explain(doc, "social_innovation", k=2, offset=None) == model.explain(
        doc, "social_innovation", k=2
    )


def test_the_judgements_a_model_did_not_train_on_start_after_its_last_curated_one() -> None:
    from dataclasses import replace
    from datetime import UTC, datetime

    from veille.classify.model import Model

    def model(**sidecar: object) -> Model:
        return replace(tiny_result().model, sidecar=sidecar)

    created = "2026-11-20T06:00:00+00:00"
    none = {"curated": 0, "curated_until": None}
    # Trained on no curator's call: every one is new to it.
    assert model(created_at=created, training=none).trained_until is None
    some = {"curated": 40, "curated_until": "2026-11-19T10:00:00"}
    assert model(created_at=created, training=some).trained_until == datetime(
        2026, 11, 19, 10, 0, tzinfo=UTC
    )
    # An older sidecar that does not say: its creation time.
    assert model(created_at=created).trained_until == datetime(2026, 11, 20, 6, 0, tzinfo=UTC)
