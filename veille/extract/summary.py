"""A short summary for the digest: the lead's first two or three sentences, never mid-word.

Sentence ends are found with a rule set that knows French and English typography: French puts
a (narrow) space before `?`, `!`, `:` and writes `« … »`; both languages abbreviate titles and
initials (`M. Dupont`, `Mme`, `Dr.`, `J. Smith`, `U.S.`), which must not end a sentence. A
maintained sentence splitter would need model downloads (NLTK punkt) or a heavy dependency,
and the digest only needs the first few sentences of a lead, so a small rule set is enough.
"""

from __future__ import annotations

import re

MAX_CHARS = 400
MAX_SENTENCES = 3

# Lower-cased words that end with a period without ending a sentence (fr + en).
ABBREVIATIONS = frozenset(
    "m mm mme mmes mlle mlles dr drs pr me mgr st ste sts cf p pp vol art av bd bld env ex "  # noqa: SIM905 (words read better)
    "fig min max no nos n° éd ed coll dir trad mr mrs ms jr sr inc ltd co corp vs etc approx "
    "dept gen gov sen rep prof rev hon jan feb mar apr jun jul aug sep sept oct nov dec janv "
    "févr avr juil déc tél tel hab".split()
)
_BOUNDARY = re.compile(
    # French sets a closing guillemet off with a (narrow) no-break space: "fin. »"
    r"(?P<end>[.!?…]+)(?P<close>(?:[\s\u00a0\u202f]?»|[\"”’)\]])*)(?P<space>[\s\u00a0\u202f]+)"
    r"(?=[«\"“‘(\[]?[\s\u00a0\u202f]?[A-ZÀ-ÖØ-Þ0-9])"
)
_WORD_BEFORE = re.compile(r"([\w°.'’-]+)$")
_SPACES = re.compile(r"[\s\u00a0\u202f]+")


def split_sentences(text: str) -> list[str]:
    """Sentences of one paragraph (callers split paragraphs first)."""
    text = text.strip()
    sentences: list[str] = []
    start = 0
    for match in _BOUNDARY.finditer(text):
        if match.group("end") == "." and not match.group("close"):
            word = _WORD_BEFORE.search(text, start, match.start())
            token = word.group(1) if word else ""
            if _is_abbreviation(token):
                continue
        sentences.append(text[start : match.end("close")].strip())
        start = match.end()
    tail = text[start:].strip()
    if tail:
        sentences.append(tail)
    return sentences


def _is_abbreviation(token: str) -> bool:
    bare = token.lstrip("'’(").rstrip(".")
    if not bare:
        return False
    if "." in bare:  # U.S, J.-C, e.g, S.N.C.F: dotted abbreviations and initials
        return True
    if len(bare) == 1 and bare.isalpha():  # an initial: "J. Smith"
        return True
    return bare.lower() in ABBREVIATIONS


def summarize(text: str, max_chars: int = MAX_CHARS, max_sentences: int = MAX_SENTENCES) -> str:
    """Two or three leading sentences within `max_chars`; one cut sentence if it is longer."""
    sentences: list[str] = []
    for paragraph in _lead_paragraphs(text):
        sentences.extend(split_sentences(paragraph))
        if len(sentences) >= max_sentences:
            break
    if not sentences:
        return ""
    summary = ""
    for count, sentence in enumerate(sentences[:max_sentences]):
        candidate = f"{summary} {sentence}".strip()
        if len(candidate) > max_chars:
            if count == 0:
                return cut_words(sentence, max_chars)
            break
        summary = candidate
    return summary


def _lead_paragraphs(text: str, budget: int = 4000) -> list[str]:
    """Paragraphs that read as prose, skipping bylines, dates and headings before the lead."""
    paragraphs: list[str] = []
    for raw in re.split(r"\n+", text[:budget]):
        para = _SPACES.sub(" ", raw).strip()
        if not para:
            continue
        # Headings, bylines and datelines rarely end like a sentence; long ones are prose.
        prose = len(para) >= 150 or para[-1] in '.!?…»"”'
        if prose or (paragraphs and len(para) > 20):
            paragraphs.append(para)
    return paragraphs or [_SPACES.sub(" ", text[:budget]).strip()]


def cut_words(text: str, limit: int) -> str:
    """`text` cut on a word boundary so that it, with an ellipsis, fits in `limit` characters."""
    text = _SPACES.sub(" ", text).strip()
    if len(text) <= limit:
        return text
    head = text[: max(limit - 1, 1)]
    space = head.rfind(" ")
    if space > limit // 2:
        head = head[:space]
    return head.rstrip(' ,;:-–—(«"') + "…"
