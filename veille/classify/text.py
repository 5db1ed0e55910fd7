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
# Words of folded text (ASCII by then): letters only, digits and years say more about a source
# than a topic. An ASCII class makes tokenising a third faster than a Unicode one.
TOKEN = re.compile(r"[a-z]{2,}")
WORD = re.compile(r"[^\W\d_]{2,}")  # the same on text as written, accents and all


_LIGATURES = (("œ", "oe"), ("Œ", "oe"), ("æ", "ae"), ("Æ", "ae"), ("ß", "ss"), ("’", "'"))


def fold(text: str) -> str:
    """`Coopérative` → `cooperative`: lowercase ASCII. Decomposed accents, soft hyphens and
    letters of other scripts are dropped (NFKD then ASCII: three times faster than a
    translation table on long texts, which matters for 10,000-item batches)."""
    if text.isascii():
        return text.lower()
    for ligature, letters in _LIGATURES:
        if ligature in text:
            text = text.replace(ligature, letters)
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii").lower()


def title_of(doc: Doc) -> str:
    return (doc.title or "")[:MAX_TITLE_CHARS]


def body_of(doc: Doc) -> str:
    """Summary then text, cut so an enormous page costs no more than a long article."""
    body = doc.text or ""
    summary = (doc.summary or "").strip()
    if summary and not body.startswith(summary[:80]):
        body = f"{summary}\n{body}"
    return body[:MAX_BODY_CHARS]


def folded(doc: Doc) -> tuple[str, str]:
    """The title and body as the classifier reads them: cut, lowercase, without accents."""
    return fold(title_of(doc)), fold(body_of(doc))


# Every byte but a-z to a space: `_words` then splits in C, twice as fast as TOKEN.findall.
_SPACES = bytes(c if 97 <= c <= 122 else 32 for c in range(256))


def words_of(text: str) -> list[str]:
    """TOKEN.findall(text): runs of a-z, at least two letters long (any other byte, UTF-8
    ones included, separates words, as for the regex)."""
    ascii_or_not = text.encode("utf-8", "surrogatepass")
    return [w for w in ascii_or_not.translate(_SPACES).decode().split() if len(w) > 1]


def tokens(title: str, body: str, title_weight: int) -> list[str]:
    """Words of the body, then the title's words `title_weight` times (folded text in)."""
    return words_of(body) + words_of(title) * title_weight


def surface_forms(doc: Doc) -> dict[str, str]:
    """Folded word → the form the item actually uses, so explanations read naturally."""
    forms: dict[str, str] = {}
    for word in WORD.findall(f"{title_of(doc)}\n{body_of(doc)}".lower()):
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
