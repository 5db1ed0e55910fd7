"""The registry of readers: the one list of kinds, and what adding a kind takes."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import select

from tests.localweb import LocalWeb
from veille import pipeline
from veille.errors import ConfigError
from veille.parse import canonical_url
from veille.settings import Settings
from veille.sources import parse_sources
from veille.sources.readers import KINDS, READERS, ReadContext, SourceRead
from veille.sources.readers.base import conditional_get, validators
from veille.store import Item, Source, session_scope
from veille.types import Entry

NOW = datetime(2026, 11, 25, 8, 0, tzinfo=UTC)


def test_kinds_are_the_registry() -> None:
    assert KINDS == tuple(READERS) == ("feed", "page", "sitemap")
    for reader in READERS.values():
        assert reader.label and reader.short_label and reader.after_failure({}) == {}


def test_the_sources_file_names_every_registered_kind() -> None:
    with pytest.raises(ConfigError) as err:
        parse_sources("sources:\n  - name: a\n    url: https://a.example/\n    kind: rss\n")
    assert "field 'kind': Input should be 'feed', 'page' or 'sitemap'" in str(err.value)


class LinesReader:
    """A kind made up for this test: a text file with one article URL a line."""

    label = short_label = "lines"

    async def read(self, source: Any, state: Any, ctx: ReadContext) -> SourceRead:
        response = await conditional_get(ctx, source.url, state, max_bytes=ctx.max_feed_bytes)
        if response.not_modified:
            return SourceRead(not_modified=True, state=validators(response, state))
        urls = [u.strip() for u in response.body.decode().splitlines() if u.strip()]
        entries = tuple(Entry(guid=u, url=u, canonical_url=canonical_url(u)) for u in urls)
        return SourceRead(entries=entries, is_feed=False, state=validators(response))

    def after_failure(self, state: Any) -> dict[str, Any]:
        return dict(state)


def test_a_new_kind_is_a_reader_and_one_registry_line(
    web: LocalWeb, sqlite_engine: Engine, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(READERS, "lines", LinesReader())  # the one registry line
    url = web.route("/list.txt", f"{web.url('/a')}\n{web.url('/b')}\n", headers={"ETag": '"l1"'})
    specs = parse_sources(f"sources:\n  - name: l\n    url: {url}\n    kind: lines\n")
    off = settings.model_copy(update={"fetch_articles": False})
    assert pipeline.pull(sqlite_engine, off, specs=specs, now=NOW).new_items == 2
    with session_scope(sqlite_engine) as s:
        assert len(s.exec(select(Item)).all()) == 2
        assert s.exec(select(Source)).one().fetch_state == {"etag": '"l1"'}
    again = pipeline.pull(sqlite_engine, off, specs=specs, force=True, now=NOW)
    assert again.unchanged == 1 and again.new_items == 0
