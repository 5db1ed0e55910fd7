"""What pages say about errors: a French sentence chosen by the kind of error."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from veille import i18n
from veille.errors import ModelError, VeilleError
from veille.sources.catalog import SourceFields
from veille.web import messages


def fr(text: str) -> str:
    return i18n.translations("fr", "web").gettext(text)


@pytest.mark.parametrize(
    ("recorded", "said"),
    [
        ("timed out after 60 s: https://a.example/feed", "le site a mis trop de temps à répondre"),
        ("connection timed out (timed out): https://a.example/", "le site a mis trop de temps"),
        ("cannot connect ([Errno 111] Connection refused): https://a.example/", "injoignable"),
        ("cannot resolve a.example: [Errno -2] Name or service not known", "site introuvable"),
        ("refused address 10.0.0.1 for a.example", "réseau privé ou local"),
        ("disallowed by robots.txt: https://a.example/page", "robots.txt"),
        ("HTTP 404 Not Found: https://a.example/feed", "page introuvable (HTTP 404)"),
        ("HTTP 503 Service Unavailable: https://a.example/", "erreur du côté du site (HTTP 503)"),
        ("HTTP 418 I'm a teapot", "réponse inattendue (HTTP 418)"),
        ("not a feed: an HTML page (Accueil)", "contenu illisible"),
        ("internal error: KeyError: 'x'", "erreur interne"),
        ("something nobody foresaw", "la collecte a échoué"),
    ],
)
def test_a_source_failure_in_words(recorded: str, said: str) -> None:
    out = messages.fetch_error(recorded, fr)
    assert said in out
    assert "Errno" not in out and "https://" not in out


def test_source_form_errors_by_kind_and_field() -> None:
    with pytest.raises(ValidationError) as bad:
        SourceFields.model_validate({"name": "x", "url": "ftp://a.example/"})
    assert "http://" in messages.source_error(bad.value, fr)
    assert "figure déjà" in messages.source_error(messages.DuplicateSource("dup"), fr)
    assert "introuvable" in messages.source_error(messages.UnresolvableHost("[Errno -2]"), fr)
    assert "sélecteur CSS" in messages.source_error(messages.FieldError("selector", "x"), fr)
    assert "journaux" in messages.source_error(VeilleError("anything else"), fr)


def test_job_errors_and_promotion_reasons() -> None:
    assert "Pas assez d’articles jugés" in messages.job_error(
        "NotEnoughLabels: not enough labelled items; pass --labels/--corpus", "failed", fr
    )
    assert "journaux" in messages.job_error("ValueError: boom", "failed", fr)
    assert messages.job_error(
        "no new corrections since the last training", "skipped", fr
    ).startswith("aucune nouvelle correction")
    assert "veille train" in messages.model_error(ModelError("x"), fr)

    def number(v: float) -> str:
        return f"{v:.2f}".replace(".", ",")

    assert messages.promotion_reason("no current model", fr, number).startswith("premier modèle")
    assert (
        messages.promotion_reason("macro-F1 0.812 vs 0.800 (tolerance 0.01)", fr, number)
        == "au moins aussi bon que le modèle en service, à 0,01 près (score 0,81 contre 0,80)"
    )
    assert "moins bon" in messages.promotion_reason(
        "macro-F1 0.700 is below 0.812 - 0.01", fr, number
    )
    assert messages.promotion_reason("a reason from a later version", fr, number) == (
        "a reason from a later version"
    )
