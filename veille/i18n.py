"""Translations and locale formatting for everything a reader sees.

Source strings are English; `veille/locale/<lang>/<domain>.po` holds the translations (French
is the default language of the product). Catalogs are read with Babel at first use, so there is
no compile step. Each user-facing area has its own domain (`digest`, `web`) so they stay small.
"""

from __future__ import annotations

import gettext
from datetime import date, datetime
from functools import lru_cache
from pathlib import Path

from babel import dates, numbers
from babel.messages.pofile import read_po
from babel.support import Translations

LOCALE_DIR = Path(__file__).parent / "locale"
SUPPORTED = ("fr", "en")
_BABEL_LOCALE = {"fr": "fr_FR", "en": "en_GB"}


def normalise(lang: str | None, default: str = "fr") -> str:
    """`fr-CA`, `FR`, `en_US` → `fr`, `en`; anything else → default."""
    short = (lang or "").replace("_", "-").split("-")[0].lower()
    return short if short in SUPPORTED else default


@lru_cache(maxsize=32)
def translations(lang: str, domain: str, locale_dir: Path = LOCALE_DIR) -> gettext.NullTranslations:
    """Translations for Jinja2's `install_gettext_translations` and for Python code."""
    path = locale_dir / normalise(lang) / f"{domain}.po"
    if not path.exists():
        return gettext.NullTranslations()
    with path.open("rb") as f:
        catalog = read_po(f, locale=normalise(lang))
    trans = Translations(domain=domain)
    # Babel's Translations is filled from the catalog without writing a .mo file.
    for message in catalog:
        if not message.id or not message.string or message.fuzzy:
            continue
        if message.pluralizable:
            for i, text in enumerate(message.string):
                trans._catalog[(message.id[0], i)] = text
        else:
            trans._catalog[message.id] = message.string
    trans.plural = catalog.plural_expr and _plural(catalog.plural_expr)
    return trans


def _plural(expr: str):  # noqa: ANN202
    from gettext import c2py

    return c2py(expr)


def format_date(value: date | datetime, lang: str, fmt: str = "long") -> str:
    """`25 novembre 2026` / `25 November 2026`."""
    return dates.format_date(value, format=fmt, locale=_BABEL_LOCALE[normalise(lang)])


def format_datetime(
    value: datetime, lang: str, tz: str = "Europe/Paris", fmt: str = "medium"
) -> str:
    return dates.format_datetime(
        value, format=fmt, tzinfo=dates.get_timezone(tz), locale=_BABEL_LOCALE[normalise(lang)]
    )


def format_number(value: float, lang: str) -> str:
    return numbers.format_decimal(value, locale=_BABEL_LOCALE[normalise(lang)])
