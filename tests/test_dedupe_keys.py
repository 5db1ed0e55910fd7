"""Exact duplicates: GUID, canonical URL and normalised text hash, in that order."""

from __future__ import annotations

import pytest

from veille.dedupe import KnownItem, canonical_text_hash, find_exact
from veille.dedupe.keys import MIN_HASH_CHARS

TEXT = (
    "La ressourcerie La Trouvaille, installée depuis cinq ans dans l'ancienne caserne Thoiras "
    "à Alès, a présenté jeudi son bilan annuel : 120 tonnes d'objets et de meubles collectées, "
    "dont 78 % revendus, donnés ou recyclés."
)


def test_hash_ignores_case_spacing_punctuation_and_compatibility_forms() -> None:
    same = [
        TEXT.upper(),
        "  " + TEXT.replace(" ", "\n  ") + "\n",
        TEXT.replace(":", " —").replace(",", "").replace("'", "’"),
        TEXT.replace("78 %", "78\u00a0%").replace("fi", "\ufb01"),  # no-break space, ligature
    ]
    assert {canonical_text_hash(t) for t in same} == {canonical_text_hash(TEXT)}
    assert len(canonical_text_hash(TEXT)) == 64


def test_hash_keeps_words_and_accents() -> None:
    assert canonical_text_hash(TEXT.replace("Alès", "Ales")) != canonical_text_hash(TEXT)
    assert canonical_text_hash(TEXT.replace("120", "121")) != canonical_text_hash(TEXT)


@pytest.mark.parametrize("text", ["", "Lire la suite…", "x" * (MIN_HASH_CHARS - 1)])
def test_short_texts_get_no_hash(text: str) -> None:
    assert canonical_text_hash(text) == ""


KNOWN = [
    KnownItem(1, "ouest", "guid-1", "https://a.example/one", "h1"),
    KnownItem(2, "ouest", "guid-2", "https://a.example/two", "h2"),
    KnownItem(3, "actu", "x-9", "https://b.example/three", "h3"),
]


@pytest.mark.parametrize(
    ("source", "guid", "url", "content_hash", "expected"),
    [
        # a re-pull: the same item
        ("ouest", "guid-1", "https://a.example/one", "h1", (1, "guid", True, True)),
        # the feed re-published it under a new GUID: update, never a second row
        ("ouest", "guid-NEW", "https://a.example/two", "other", (2, "canonical_url", True, True)),
        # another feed relays the same URL: a copy
        ("actu", "zz", "https://a.example/one", None, (1, "canonical_url", False, False)),
        # same text under another address: a copy, whatever the source
        ("actu", "zz", "https://c.example/new", "h2", (2, "content_hash", False, False)),
        ("ouest", "zz", "https://c.example/new", "h3", (3, "content_hash", False, False)),
        # same GUID string in another source means nothing
        ("actu", "guid-1", "https://c.example/new", "new", None),
        ("actu", "new", "https://c.example/new", "", None),
    ],
)
def test_find_exact(
    source: str,
    guid: str,
    url: str,
    content_hash: str | None,
    expected: tuple[int, str, bool, bool] | None,
) -> None:
    found = find_exact(
        source=source, guid=guid, canonical_url=url, content_hash=content_hash, known=KNOWN
    )
    if expected is None:
        assert found is None
    else:
        assert found is not None
        assert (found.item_id, found.on, found.same_source, found.update) == expected


def test_guid_wins_over_url_and_hash() -> None:
    known = [
        KnownItem(5, "s", "other", "https://x.example/a", "hash"),
        KnownItem(9, "s", "g", "https://x.example/b", None),
    ]
    found = find_exact(
        source="s", guid="g", canonical_url="https://x.example/a", content_hash="hash", known=known
    )
    assert found is not None and (found.item_id, found.on) == (9, "guid")
