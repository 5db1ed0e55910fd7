"""The benchmark harness runs end to end on a tiny web, and its synthetic web behaves.

The benchmark itself is not part of the suite (`python -m bench --size full` takes minutes);
this checks that a small run completes and prints its table, and that the web it measures
against answers conditional GETs, fails the share it is told to, and hangs past a timeout.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator

import httpx
import pytest

from bench.synthweb import SynthWeb, WebSpec, failure_plan
from tests.conftest import ROOT, shared_path


@pytest.fixture(scope="module")
def synth() -> Iterator[SynthWeb]:
    shared_path("corpora", "articles.jsonl")
    spec = WebSpec(sources=20, items=5, latency_ms=5, fail_share=0.1, hang_s=3, hosts=10)
    with SynthWeb(spec) as server:
        yield server


def test_failure_plan_fails_exactly_the_share_asked() -> None:
    plan = failure_plan(1000, 0.02, seed=8, ns="a")
    assert len(plan) == 20
    assert set(plan.values()) == {"timeout", "500", "429"}
    assert plan == failure_plan(1000, 0.02, seed=8, ns="a")  # deterministic
    assert failure_plan(1000, 0.0, seed=8, ns="a") == {}


def test_feeds_link_distinct_articles_and_answer_304(synth: SynthWeb) -> None:
    import feedparser

    synth.reset()
    feeds, articles = failure_plan(20, 0.1, 8, "feed"), failure_plan(100, 0.1, 8, "a")
    i = next(
        i for i in range(20) if i not in feeds and not set(range(i * 5, i * 5 + 5)) & set(articles)
    )
    url = synth.feed_url(i)
    with httpx.Client(timeout=2) as client:
        first = client.get(url)
        assert first.status_code == 200
        links = [e.link for e in feedparser.parse(first.content).entries]
        again = client.get(url, headers={"If-None-Match": first.headers["etag"]})
        since = client.get(url, headers={"If-Modified-Since": first.headers["last-modified"]})
        pages = [client.get(link) for link in links]
    assert (again.status_code, since.status_code) == (304, 304)
    assert [p.status_code for p in pages] == [200] * 5
    assert len({p.content for p in pages}) == 5  # every article body is distinct
    assert synth.stats()["counts"] == {"feed 200": 1, "feed 304": 2, "article 200": 5}


def test_a_failing_feed_fails_once_then_recovers(synth: SynthWeb) -> None:
    synth.reset()
    plan = failure_plan(20, 0.1, seed=8, ns="feed")
    i, kind = next((i, k) for i, k in plan.items() if k != "timeout")
    with httpx.Client(timeout=2) as client:
        assert client.get(synth.feed_url(i)).status_code == int(kind)
        assert client.get(synth.feed_url(i)).status_code == 200
    hang = next((i for i, k in plan.items() if k == "timeout"), None)
    if hang is not None:
        with pytest.raises(httpx.ReadTimeout), httpx.Client(timeout=0.5) as client:
            client.get(synth.feed_url(hang))


@pytest.mark.slow
def test_small_run_prints_the_table_and_writes_json(tmp_path) -> None:  # noqa: ANN001
    shared_path("corpora", "articles.jsonl")
    out = tmp_path / "latest.json"
    skip = "ceiling,peers,growth,classify,digest"
    cmd = [
        sys.executable,
        "-m",
        "bench",
        "--size",
        "small",
        "--sources",
        "6",
        "--items",
        "4",
        "--skip",
        skip,
        "--json",
        str(out),
    ]
    done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "section" in done.stdout and "metric" in done.stdout
    result = json.loads(out.read_text())
    sections = {row["section"] for row in result["rows"]}
    assert {"cold pull", "naive", "synthetic web"} <= sections
    for row in result["rows"]:
        assert row["value"] is not None or row["note"], row  # every n/a says why
    naive = next(r for r in result["rows"] if r["section"] == "naive" and r["metric"] == "items/s")
    assert naive["value"] > 0
    assert result["machine"]["cores"] >= 1
    assert (tmp_path / "latest.md").read_text().startswith("| section |")
