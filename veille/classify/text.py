"""What the classifier reads of an item: the text assembled from a Doc, folded, cut, tokenised.

One definition shared by the features, the keyword rules and the explanations, so a term
means the same thing everywhere. Accent folding maps "Coopérative" and "cooperative" to one
term; French and English items go through the same vocabulary.
"""

from __future__ import annotations

import re
import unicodedata

from veille.types import Doc

MAX_BODY_CHARS = 6000  # the seed texts are at most this long; a longer body is cut
MAX_TITLE_CHARS = 500
TOKEN = re.compile(r"[^\W\d_]{2,}")  # letters only: digits and years say more about a source


def _fold_table() -> dict[int, str]:
    table: dict[int, str] = {}
    for cp in range(0x00C0, 0x0250):
        char = chr(cp)
        decomposed = unicodedata.normalize("NFKD", char)
        base = "".join(c for c in decomposed if not unicodedata.combining(c))
        if base and base != char:
            table[cp] = base
    table.update({ord("œ"): "oe", ord("Œ"): "oe", ord("æ"): "ae", ord("Æ"): "ae", ord("ß"): "ss"})
    table.update({ord("’"): "'", ord("‘"): "'"})
    return table


_FOLD = _fold_table()


def fold(text: str) -> str:
    """`Coopérative` → `cooperative`: lowercase without diacritics."""
    return text.translate(_FOLD).lower()


def title_of(doc: Doc) -> str:
    return (doc.title or "")[:MAX_TITLE_CHARS]


def body_of(doc: Doc) -> str:
    """Summary then text, cut so an enormous page costs no more than a long article."""
    body = doc.text or ""
    summary = (doc.summary or "").strip()
    if summary and not body.startswith(summary[:80]):
        body = f"{summary}\n{body}"
    return body[:MAX_BODY_CHARS]


def tokens(doc: Doc, title_weight: int) -> list[str]:
    """Lowercased words of the body, then the title's words `title_weight` times."""
    title = TOKEN.findall(title_of(doc).lower())
    return TOKEN.findall(body_of(doc).lower()) + title * title_weight


def surface_forms(doc: Doc) -> dict[str, str]:
    """Folded word → the form the item actually uses, so explanations read naturally."""
    forms: dict[str, str] = {}
    for word in TOKEN.findall(f"{title_of(doc)}\n{body_of(doc)}".lower()):
        forms.setdefault(fold(word), word)
    return forms


# Function words: they carry weight in a score (mostly "this is English"), but listing them
# as the reason for a topic tells a curator nothing, so explanations leave them out.
_FUNCTION_WORDS = """
    au aux avec ce ces cet cette dans de des du elle elles en est et eux il ils je la le les
    leur leurs lui ma mais me mes moi mon ne nos notre nous on ou par pas pour qu que qui sa se
    ses son sont sur ta te tes toi ton tu un une vos votre vous ete etre avoir ont fait plus
    comme aussi tout tous toute toutes tres bien sans sous entre ainsi donc dont cela ca si ni
    a about above after again all also am an and any are as at be been before being below but
    by can could did do does doing down during each few for from further had has have having
    he her here hers him his how if in into is it its itself just me more most my no nor not
    now of off on once only or other our ours out over own same she should so some such than
    that the their theirs them then there these they this those through to too under until up
    very was we were what when where which while who whom why will with would you your yours
"""
FUNCTION_WORDS = frozenset(_FUNCTION_WORDS.split())
