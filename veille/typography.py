"""French typography for what the web pages show: interface strings and text from feeds.

The rules a French reader expects and a browser cannot guess:
- a narrow no-break space (U+202F) before « ; ! ? » and a no-break space (U+00A0) before « : »,
  so the sign never starts a line; only an existing space is replaced (no space is invented
  before a colon, which would break times, URLs and `veille:` names);
- narrow no-break spaces inside « guillemets »;
- no break inside a number ("9 000") nor between a number and its unit ("9 000 m²", "12 %");
- curly apostrophes (l’atelier) between two letters.

Plain text in, plain text out: it runs before autoescaping, so markup is never touched.
"""

from __future__ import annotations

import re

NNBSP = "\u202f"  # narrow no-break space
NBSP = "\u00a0"
_SPACES = "[ \t\u00a0\u202f]"
_BEFORE_HIGH = re.compile(rf"{_SPACES}+([;!?»])")
_BEFORE_COLON = re.compile(rf"(?<=\S){_SPACES}+:(?=\s|$)")
_AFTER_OPEN = re.compile(rf"«{_SPACES}*")
_CLOSE_NO_SPACE = re.compile(r"(?<=[^\s«])»")
_THOUSANDS = re.compile(rf"(?<![\d.,])(\d{{1,3}})((?:{_SPACES}\d{{3}})+)(?![\d])")
_UNITS = (
    "%|‰|€|\\$|£|°C|°|m²|m³|km²|km/h|km|cm|mm|m|ha|kg|g|t|l|L|h|min|s|"
    "kWh|MWh|GWh|kW|MW|GW|Go|Mo|ko|k€|M€|Md€"
)
_UNIT = re.compile(rf"(\d){_SPACES}+(?=(?:{_UNITS})(?![\w²³]))")
_APOSTROPHE = re.compile(r"(?<=[^\W\d_])'(?=[^\W\d_])")


def _group(match: re.Match[str]) -> str:
    return match.group(1) + re.sub(_SPACES, NNBSP, match.group(2))


def french(text: str) -> str:
    """`text` with French spacing and apostrophes; idempotent."""
    if not text:
        return text
    text = _APOSTROPHE.sub("’", text)
    text = _BEFORE_HIGH.sub(NNBSP + r"\1", text)
    text = _BEFORE_COLON.sub(NBSP + ":", text)
    text = _AFTER_OPEN.sub("«" + NNBSP, text)
    text = _CLOSE_NO_SPACE.sub(NNBSP + "»", text)
    text = _THOUSANDS.sub(_group, text)
    return _UNIT.sub(r"\1" + NNBSP, text)


def for_language(lang: str):  # noqa: ANN201
    """The typography function of a page language (French rules, or leave the text alone)."""
    return french if lang == "fr" else (lambda text: text)
