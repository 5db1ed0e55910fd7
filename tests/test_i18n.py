from __future__ import annotations

from datetime import date

from tests.conftest import ROOT
from veille import i18n

FIXTURES = ROOT / "tests" / "fixtures" / "locale"


def test_french_catalog_translates_and_pluralises() -> None:
    fr = i18n.translations("fr", "example", FIXTURES)
    assert fr.gettext("Hello") == "Bonjour"
    assert fr.ngettext("%(num)d item", "%(num)d items", 1) % {"num": 1} == "1 article"
    assert fr.ngettext("%(num)d item", "%(num)d items", 2) % {"num": 2} == "2 articles"
    assert i18n.translations("en", "example", FIXTURES).gettext("Hello") == "Hello"


def test_locale_formatting() -> None:
    assert i18n.format_date(date(2026, 11, 25), "fr") == "25 novembre 2026"
    assert i18n.format_date(date(2026, 11, 25), "en") == "25 November 2026"
    assert i18n.format_number(1234.5, "fr") == "1\u202f234,5"
    assert i18n.normalise("fr-CA") == "fr" and i18n.normalise("de") == "fr"
