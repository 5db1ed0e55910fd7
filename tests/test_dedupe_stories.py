"""Near duplicates: our labelled pairs, the index's rules, its speed, the representative."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from veille.dedupe import StoryIndex, StoryMember, choose_representative, signature
from veille.dedupe.signature import NUM_PERM, pack

PAIRS = Path(__file__).parent / "fixtures" / "dedupe_pairs.jsonl"
NOW = datetime(2024, 3, 14, 9, tzinfo=UTC)
WEEK = timedelta(days=7)
STORY = (
    "La ressourcerie La Trouvaille, installée depuis cinq ans dans l'ancienne caserne Thoiras à "
    "Alès, a présenté jeudi son bilan annuel. En 2023, 120 tonnes d'objets et de meubles ont été "
    "collectées auprès des particuliers et des déchetteries de l'agglomération, dont 78 % ont été "
    "revendus, donnés ou recyclés. La structure emploie désormais 22 salariés en insertion."
)
COPY = "Publié le 14/03/2024. " + STORY + " Avec Midi Libre. Suivez-nous sur Facebook."


def sig(text: str, title: str = "") -> bytes:
    return signature(text, title)


def load_pairs() -> list[dict]:
    return [json.loads(line) for line in PAIRS.read_text(encoding="utf-8").splitlines() if line]


def test_labelled_pairs_precision_and_recall() -> None:
    pairs = load_pairs()
    assert len(pairs) >= 60
    assert {p["lang"] for p in pairs} >= {"fr", "en"}
    results = []
    for pair in pairs:
        a, b = pair["a"], pair["b"]
        index = StoryIndex()
        index.add(1, 10, sig(a["text"], a["title"]), NOW, a["source"])
        got = index.find(sig(b["text"], b["title"]), NOW + timedelta(hours=2), b["source"], WEEK)
        assert got in (None, 10)
        results.append((pair["same"], got == 10))
    tp = sum(same and merged for same, merged in results)
    fp = sum(merged and not same for same, merged in results)
    assert tp / max(tp + fp, 1) >= 0.98
    assert tp / sum(same for same, _ in results) >= 0.6


@pytest.mark.parametrize("kind", ["boilerplate", "syndicated", "expanded"])
def test_copies_always_merge(kind: str) -> None:
    for pair in (p for p in load_pairs() if p["kind"] == kind):
        index = StoryIndex()
        index.add(1, 10, sig(pair["a"]["text"], pair["a"]["title"]), NOW, "a")
        assert index.find(sig(pair["b"]["text"], pair["b"]["title"]), NOW, "b", WEEK) == 10


@pytest.mark.parametrize("kind", ["template_town", "same_org", "same_topic", "follow_up"])
def test_different_news_never_merges(kind: str) -> None:
    for pair in (p for p in load_pairs() if p["kind"] == kind):
        index = StoryIndex()
        index.add(1, 10, sig(pair["a"]["text"], pair["a"]["title"]), NOW, "a")
        assert index.find(sig(pair["b"]["text"], pair["b"]["title"]), NOW, "b", WEEK) is None


def test_time_window() -> None:
    index = StoryIndex()
    index.add(1, 10, sig(STORY), NOW, "midi")
    assert index.find(sig(COPY), NOW + timedelta(days=6), "actu", WEEK) == 10
    assert index.find(sig(COPY), NOW - timedelta(days=6), "actu", WEEK) == 10
    assert index.find(sig(COPY), NOW + timedelta(days=8), "actu", WEEK) is None
    assert index.find(sig(COPY), NOW + timedelta(days=2), "actu", timedelta(days=1)) is None


def test_one_source_never_tells_a_story_twice() -> None:
    index = StoryIndex()
    index.add(1, 10, sig(STORY), NOW, "midi")
    assert index.find(sig(COPY), NOW, "midi", WEEK) is None
    index.add(2, 10, sig(COPY), NOW, "actu")
    # a third copy from either source already in story 10 stays out of it
    assert index.find(sig(COPY + " Mis à jour."), NOW, "actu", WEEK) is None
    assert index.find(sig(COPY + " Mis à jour."), NOW, "ouest", WEEK) == 10


def test_too_little_text_never_merges() -> None:
    short = "La Trouvaille a collecté 120 tonnes d'objets en 2023."
    index = StoryIndex()
    index.add(1, 10, sig(short), NOW, "midi")
    assert len(index) == 0
    assert index.find(sig(short), NOW, "actu", WEEK) is None
    assert index.find(sig(""), NOW, "actu", WEEK) is None


def test_best_match_is_the_most_similar() -> None:
    index = StoryIndex()
    index.add(
        1, 10, sig(STORY + " " + "Un paragraphe ajouté par le site qui relaie. " * 4), NOW, "a"
    )
    index.add(2, 20, sig(STORY), NOW, "b")
    assert index.find(sig(COPY), NOW, "c", WEEK) == 20


def test_remove_older_than_and_re_add() -> None:
    index = StoryIndex()
    index.add(1, 10, sig(STORY), NOW - timedelta(days=9), "midi")
    index.add(2, 20, sig(COPY), NOW, "actu")
    assert index.remove_older_than(NOW - WEEK) == 1
    assert len(index) == 1
    assert index.find(sig(STORY), NOW, "ouest", timedelta(days=30)) == 20
    index.add(2, 30, sig(COPY), NOW, "actu")  # moved to another story
    assert len(index) == 1
    assert index.find(sig(STORY), NOW, "ouest", WEEK) == 30


def test_bad_signature_is_refused() -> None:
    index = StoryIndex()
    with pytest.raises(ValueError):
        index.add(1, 1, b"not a signature", NOW, "s")
    with pytest.raises(ValueError):
        index.find(sig(STORY)[:-3], NOW, "s", WEEK)
    with pytest.raises(ValueError):
        StoryIndex(num_perm=64)


def random_signatures(n: int, seed: int = 0) -> list[bytes]:
    rng = np.random.default_rng(seed)
    values = rng.integers(0, 2**32, size=(n, NUM_PERM), dtype=np.uint32)
    return [pack(row, 200, [(i, i)]) for i, row in enumerate(values)]


def test_building_from_20k_signatures_is_fast_and_lookups_do_not_grow() -> None:
    sigs = random_signatures(21_000)
    rows = [(i, i, s, NOW - timedelta(minutes=i), f"s{i % 40}") for i, s in enumerate(sigs)]
    probes = sigs[20_000:]
    small, big = StoryIndex(), StoryIndex()
    small.add_many(rows[:1_000])
    start = time.process_time()
    big.add_many(rows[:20_000])
    assert time.process_time() - start < 1.0
    assert len(big) == 20_000
    for index in (small, big):
        candidates = [
            len(index._candidates(np.frombuffer(p, np.uint32, NUM_PERM, 9))) for p in probes
        ]
        assert max(candidates) <= 2  # unrelated items almost never share a band
    # an indexed item is found again through the big index
    assert big.find(sigs[123], NOW, "elsewhere", timedelta(days=30)) == 123


def test_small_additions_then_rebuild_keep_everything_findable() -> None:
    sigs = random_signatures(600, seed=1)
    index = StoryIndex()
    for i, s in enumerate(sigs):  # one by one: the recent dict, then rebuilds
        index.add(i, i, s, NOW, f"s{i}")
    assert all(index.find(s, NOW, "probe", WEEK) == i for i, s in enumerate(sigs))


def member(item_id: int, hours: int, length: int, primary: bool = False) -> StoryMember:
    return StoryMember(item_id, NOW + timedelta(hours=hours), length, primary)


def test_representative_is_the_earliest_of_the_complete_ones() -> None:
    assert choose_representative([member(1, 0, 1000), member(2, 1, 1100)]) == 1
    # the earliest is a stub: the fuller version stands for the story
    assert choose_representative([member(1, 0, 300), member(2, 1, 1100)]) == 2
    assert choose_representative([member(4, 0, 500), member(3, 0, 500)]) == 3


def test_a_primary_source_wins() -> None:
    members = [member(1, 0, 2000), member(2, 5, 400, primary=True), member(3, 1, 450, True)]
    assert choose_representative(members) == 3  # earliest of the primary, complete members
    assert choose_representative(members[:2]) == 2  # a primary beats a longer, earlier copy
    with pytest.raises(ValueError):
        choose_representative([])
