"""Sources and statistics pages: health figures, feeds.yaml written back, SVG charts."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlmodel import select

from tests.e2e.seed import Seeded, add_item, add_source, login, seed, use_light_hashing
from veille.settings import Settings
from veille.sources import load_sources
from veille.store import session_scope, utcnow
from veille.store.models import Source
from veille.web import charts
from veille.web.app import create_app

FEEDS = """\
# Sources of the veille (comments stay when the web page edits this file)
sources:
  - name: Bruded                      # network of rural towns
    url: https://www.bruded.fr/feed/
    language: fr
  - name: OSM blog
    url: https://blog.openstreetmap.org/feed/
    language: en
"""


@pytest.fixture
def site(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[TestClient, Seeded]]:
    use_light_hashing(monkeypatch)
    settings.sources.write_text(FEEDS, encoding="utf-8")
    app = create_app(settings)
    seeded = seed(app.state.engine)
    with TestClient(app, follow_redirects=False) as client:
        yield client, seeded


def test_sources_page_shows_health(site) -> None:  # noqa: ANN001
    client, _ = site
    login(client)
    page = client.get("/sources").text
    assert "Bruded" in page and "OSM blog" in page
    assert "timeout after 20 s" in page  # last error
    assert "4 échecs d’affilée" in page or "4 failures in a row" in page
    assert "100\u202f%" in page  # Bruded: every extracted item had its article text
    assert "Désactiver" not in page and "Disable" not in page  # a curator cannot change them


def test_admin_disables_and_enables_into_feeds_yaml(site) -> None:  # noqa: ANN001
    client, seeded = site
    token = login(client, "root")
    osm = seeded.sources["osm"]
    reply = client.post(f"/sources/{osm}/enabled", data={"csrf_token": token, "enabled": "false"})
    assert reply.status_code == 303
    text = client.app.state.settings.sources.read_text()
    assert "# network of rural towns" in text and "# Sources of the veille" in text
    assert {s.name: s.enabled for s in load_sources(client.app.state.settings.sources)} == {
        "Bruded": True,
        "OSM blog": False,
    }
    with session_scope(client.app.state.engine) as s:
        assert s.get(Source, osm).enabled is False
    client.post(f"/sources/{osm}/enabled", data={"csrf_token": token, "enabled": "true"})
    with session_scope(client.app.state.engine) as s:
        assert s.get(Source, osm).enabled is True


def test_admin_adds_a_source_validated_and_address_checked(site) -> None:  # noqa: ANN001
    client, _ = site
    token = login(client, "root")
    path = client.app.state.settings.sources

    def add(**fields: str):  # noqa: ANN202
        return client.post("/sources/add", data={"csrf_token": token, **fields})

    # Each refusal is a French sentence chosen by the kind of error, never the exception's text.
    bad = add(name="Bad", url="ftp://example.org/feed")
    assert bad.status_code == 400 and "commençant par http://" in bad.text
    dup = add(name="bruded", url="https://other.example.org/feed")
    assert dup.status_code == 400 and "figure déjà dans la liste" in dup.text
    selector = add(name="Sel", url="https://example.org/", selector="h2 a")
    assert selector.status_code == 400 and "sélecteur CSS" in selector.text
    client.app.state.settings = client.app.state.settings.model_copy(update={"allow_networks": []})
    private = add(name="Intranet", url="http://127.0.0.1:8080/feed")
    assert private.status_code == 400 and "réseau privé ou local" in private.text
    assert "refused address" not in private.text
    meta = add(name="Metadata", url="http://169.254.169.254/latest/")
    assert meta.status_code == 400 and "réseau privé ou local" in meta.text
    nowhere = add(name="Nowhere", url="https://nowhere.invalid/feed")
    assert nowhere.status_code == 400 and "introuvable" in nowhere.text
    assert "Errno" not in nowhere.text
    assert [s.name for s in load_sources(path)] == ["Bruded", "OSM blog"]
    ok = add(
        name="Ripisylve",
        url="http://[2606:4700::1111]/feed",
        kind="feed",
        language="fr",
        interval="6h",
        tags="rivière, commun",
    )
    assert ok.status_code == 303, ok.text
    added = {s.name: s for s in load_sources(path)}["Ripisylve"]
    assert added.interval == 6 * 3600 and added.tags == ("rivière", "commun")
    assert "Source ajoutée\u00a0: Ripisylve" in client.get("/sources").text
    with session_scope(client.app.state.engine) as s:
        assert s.exec(select(Source).where(Source.name == "Ripisylve")).one().language == "fr"


def test_stats_page_draws_svg_charts(site) -> None:  # noqa: ANN001
    client, seeded = site
    hostile = add_source(
        client.app.state.engine, '<script>alert("src")</script>', "https://evil.example/feed"
    )
    for i in range(3):
        add_item(
            client.app.state.engine,
            hostile,
            f"h{i}",
            title="x",
            scores={"open_collaboration": 0.9},
            seen=utcnow() - timedelta(days=i),
        )
    token = login(client)
    client.post(f"/review/items/{seeded.items['osm']}/accept", data={"csrf_token": token})
    page = client.get("/stats")
    assert page.status_code == 200
    assert page.text.count('<svg class="chart ') == 4  # per day: a wide and a phone drawing
    assert "<script>alert" not in page.text and "&lt;script&gt;alert" in page.text
    assert "<script" not in page.text.replace('<script src="/static/veille.js" defer></script>', "")


def test_ticks_and_bars() -> None:
    assert charts._ticks(0) == [0.0, 1.0]
    assert charts._ticks(7) == [0.0, 2.0, 4.0, 6.0, 8.0]
    assert charts._ticks(950)[-1] == 1000
    svg = charts.bars("t", [("a & b", 0.5, "50 %"), ("c", 1.0, "100 %")], maximum=1.0)
    assert "a &amp; b" in svg and 'role="img"' in svg
    widths = [
        float(w)
        for w in __import__("re").findall(
            r'class="bar" x="192" y="\d+" '
            r'width="([\d.]+)"',
            svg,
        )
    ]
    assert widths[1] == pytest.approx(2 * widths[0])


def test_a_stray_stored_label_counts_as_no_topic_in_the_stats(sqlite_engine) -> None:  # noqa: ANN001
    """An item stored with a label outside the taxonomy (`off_topic`) broke /stats with a
    KeyError; it counts as an item with no topic."""
    from datetime import UTC, datetime

    from tests.fixtures.digest.seed import seed_items
    from veille.store import session_scope
    from veille.store.stats import reviewed_share

    seed_items(sqlite_engine, datetime(2026, 11, 25, 6, 0, tzinfo=UTC))
    with session_scope(sqlite_engine) as s:
        shares = reviewed_share(s)
    assert "off_topic" not in shares and shares["none"][0] >= 1
    assert shares[""][0] >= shares["none"][0]
