"""French typography of the web pages: no-break spaces, numbers kept whole, curly apostrophes."""

from __future__ import annotations

import pytest

from veille.typography import NBSP, NNBSP, for_language, french
from veille.web.render import build_env

CASES = [
    # before ; ! ? the narrow no-break space replaces an ordinary one
    ("Pourquoi ? Parce que !", f"Pourquoi{NNBSP}? Parce que{NNBSP}!"),
    ("un ; deux", f"un{NNBSP}; deux"),
    # before a colon, a no-break space; none is invented where there was none
    ("Extraction : article", f"Extraction{NBSP}: article"),
    ("à 10:30, voir https://exemple.org/a:b", "à 10:30, voir https://exemple.org/a:b"),
    # guillemets hold their content with narrow no-break spaces, with or without spaces typed
    ("« Bonjour »", f"«{NNBSP}Bonjour{NNBSP}»"),
    ("«Bonjour»", f"«{NNBSP}Bonjour{NNBSP}»"),
    # numbers are never broken, nor cut from their unit
    ("9 000 m² de jardins", f"9{NNBSP}000{NNBSP}m² de jardins"),
    ("1 250 000 €", f"1{NNBSP}250{NNBSP}000{NNBSP}€"),
    ("12 % des votes", f"12{NNBSP}% des votes"),
    ("en 2024 2 300 objets", f"en 2024 2{NNBSP}300 objets"),
    ("01 23 45 67 89", "01 23 45 67 89"),  # a phone number is not a thousand
    ("3 mois", "3 mois"),  # a word, not a unit
    # apostrophes between letters curl; quotes around a word do not
    ("l'atelier d'aujourd'hui", "l’atelier d’aujourd’hui"),
    ("'cité'", "'cité'"),
    ("", ""),
]


@pytest.mark.parametrize(("raw", "expected"), CASES)
def test_french_rules(raw: str, expected: str) -> None:
    assert french(raw) == expected


@pytest.mark.parametrize(("raw", "_"), CASES)
def test_idempotent(raw: str, _: str) -> None:
    assert french(french(raw)) == french(raw)


def test_english_pages_are_left_alone() -> None:
    assert for_language("en")("Why ? l'atelier") == "Why ? l'atelier"


def test_interface_strings_and_feed_text_get_it_in_french_pages_only() -> None:
    fr, en = build_env("fr"), build_env("en")
    template = '{{ _("Subscribe") }} | {{ title|typo }}'
    assert fr.from_string(template).render(title="Quoi ? 9 000 m²") == (
        f"S’abonner | Quoi{NNBSP}? 9{NNBSP}000{NNBSP}m²"
    )
    assert en.from_string(template).render(title="Quoi ? 9 000 m²") == "Subscribe | Quoi ? 9 000 m²"
    # Autoescaping still applies after the filter: a title stays text.
    assert "&lt;b&gt;" in fr.from_string("{{ t|typo }}").render(t="<b>l'x</b>")
