"""Step 3 of issue 16 through the CLI runner: `veille pull` says each failure once and tells
"unreachable" from "refused by robots.txt"; `digest --send` without readers keeps the stories;
writes of the sources file that cannot happen are one line; Cache-Control and Crawl-delay."""

from __future__ import annotations

import asyncio
import socket
import time
from datetime import timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.fixtures.digest.seed import seed_items
from tests.localweb import LocalWeb, Reply, Request
from veille.cli import _register, app
from veille.fetch import FetchLimits
from veille.fetch import robots as robots_mod
from veille.fetch.client import Fetcher
from veille.settings import Settings
from veille.store import open_store, session_scope, utcnow
from veille.store.sources import get_source

_register()


@pytest.fixture
def cli_env(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.setenv("VEILLE_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("VEILLE_SOURCES", str(settings.sources))
    monkeypatch.setenv("VEILLE_MODELS_DIR", str(settings.models_dir))
    monkeypatch.setenv("VEILLE_ALLOW_NETWORKS", "127.0.0.0/8")
    monkeypatch.setenv("VEILLE_RETRIES", "0")
    monkeypatch.setenv("VEILLE_FETCH_ARTICLES", "false")
    return settings


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # nothing listens once the socket is closed


def _invoke(*args: str):  # noqa: ANN202
    result = CliRunner().invoke(app, list(args))
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result


def test_pull_with_every_source_unreachable(cli_env: Settings, web: LocalWeb) -> None:
    port = _closed_port()
    web.route("/robots.txt", b"User-agent: *\nDisallow: /private/\n")
    web.route("/private/news", b"<html></html>")
    cli_env.sources.write_text(
        "sources:\n"
        f"  - name: Feed\n    url: http://127.0.0.1:{port}/feed\n"
        f"  - name: Page\n    url: http://127.0.0.1:{port}/news\n    kind: page\n"
        f"  - name: Map\n    url: http://127.0.0.1:{port}/sitemap.xml\n    kind: sitemap\n"
        f"  - name: Closed\n    url: {web.url('/private/news')}\n    kind: page\n"
    )
    result = _invoke("pull")
    assert result.exit_code == 1
    lines = result.stderr.splitlines()
    assert "Traceback" not in result.output
    # Each failure once, and nothing else but the closing hint.
    assert sorted(line.split(":")[1].strip() for line in lines[:-1]) == [
        "Closed",
        "Feed",
        "Map",
        "Page",
    ]
    assert lines[-1] == "every source failed: is the network up? (veille sources list)"
    by_name = {line.split(":")[1].strip(): line for line in lines[:-1]}
    assert by_name["Page"].startswith("failed: Page: unreachable: cannot connect")
    assert by_name["Map"].startswith("failed: Map: unreachable: cannot connect")
    assert "robots" not in by_name["Page"] + by_name["Map"]
    assert by_name["Closed"] == f"failed: Closed: refused by robots.txt: {web.url('/private/news')}"
    assert result.stdout.startswith("4 sources: 0 ok, 0 unchanged, 4 failed;")


def test_pull_with_one_source_working_exits_zero(cli_env: Settings, web: LocalWeb) -> None:
    feed = web.route(
        "/feed",
        b"<rss version='2.0'><channel><title>t</title></channel></rss>",
        content_type="application/rss+xml",
    )
    cli_env.sources.write_text(
        "sources:\n"
        f"  - name: Good\n    url: {feed}\n"
        f"  - name: Gone\n    url: http://127.0.0.1:{_closed_port()}/feed\n"
    )
    result = _invoke("pull")
    assert result.exit_code == 0, result.output
    assert len(result.stderr.splitlines()) == 1 and "failed: Gone: " in result.stderr


def test_cache_control_max_age_delays_the_next_fetch_capped(
    cli_env: Settings, web: LocalWeb
) -> None:
    body = b"<rss version='2.0'><channel><title>t</title></channel></rss>"
    web.route("/a", body, headers={"Cache-Control": "public, max-age=7200"})
    web.route("/b", body, headers={"Cache-Control": "max-age=31536000"})
    web.route("/c", body, headers={"Cache-Control": "max-age=60"})
    cli_env.sources.write_text(
        "sources:\n" + "".join(f"  - name: {n}\n    url: {web.url('/' + n)}\n" for n in "abc")
    )
    before = utcnow()
    assert _invoke("pull").exit_code == 0
    engine = open_store(cli_env.db_url)
    with session_scope(engine) as s:
        waits = {n: get_source(s, name=n).next_fetch_at for n in "abc"}
    engine.dispose()
    hours = {
        n: (w.replace(tzinfo=before.tzinfo) - before) / timedelta(hours=1) for n, w in waits.items()
    }
    assert 1.99 < hours["a"] < 2.1  # max-age 2 h beats the 1 h interval
    assert 23.9 < hours["b"] < 24.1  # a year is capped at a day
    assert 0.99 < hours["c"] < 1.1  # a minute does not shorten the interval


def test_crawl_delay_spaces_requests_to_a_host_and_is_capped(
    web: LocalWeb, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(robots_mod, "MAX_CRAWL_DELAY", 0.4)
    web.route("/robots.txt", b"User-agent: *\nCrawl-delay: 3600\n")
    arrived: list[float] = []

    def page(_: Request) -> Reply:
        arrived.append(time.monotonic())  # when the server sees each request
        return Reply(body=b"<html></html>", headers={"Content-Type": "text/html"})

    pages = [web.route(f"/p{i}", handler=page) for i in range(3)]
    limits = FetchLimits(
        user_agent="veille-test/1", allow_networks=("127.0.0.0/8",), retries=0, total_timeout=20
    )

    async def go() -> None:
        async with Fetcher(limits) as fetcher:
            await asyncio.gather(*(fetcher.get(u, robots=True) for u in pages))

    asyncio.run(go())
    gaps = [b - a for a, b in zip(arrived, arrived[1:], strict=False)]
    assert len(gaps) == 2 and all(0.35 < g < 10 for g in gaps), gaps  # capped 3600 s → 0.4 s


def test_digest_send_without_confirmed_subscriber_keeps_the_stories(
    cli_env: Settings,
) -> None:
    engine = open_store(cli_env.db_url)
    seed_items(engine, utcnow() - timedelta(minutes=1))
    result = _invoke("digest", "--send")
    assert result.exit_code == 1
    assert "Traceback" not in result.output
    [line] = result.stderr.splitlines()
    assert line.startswith("veille: no confirmed subscriber: issue ")
    assert line.endswith("stories are kept for the next issue (veille subscribers add EMAIL)")
    assert not (cli_env.data_dir / "outbox").exists()
    dry = _invoke("digest", "--dry-run")  # the same stories are still waiting
    assert "(not saved yet): 10 stories" in dry.stdout
    engine.dispose()


def test_sources_import_into_a_missing_folder_is_one_line(
    cli_env: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    opml = tmp_path / "list.opml"
    opml.write_text(
        '<?xml version="1.0"?><opml version="2.0"><head/><body>'
        '<outline type="rss" text="Un" xmlUrl="https://un.example.org/feed"/></body></opml>'
    )
    target = tmp_path / "nowhere" / "feeds.yaml"
    result = CliRunner().invoke(app, ["sources", "import", str(opml), "--sources", str(target)])
    assert result.exit_code == 1 or result.exception is not None
    from veille.errors import NotWritableError

    assert isinstance(result.exception, NotWritableError)
    assert str(result.exception) == (
        f"{target}: cannot save the sources file: create the folder {target.parent}, or set "
        "VEILLE_SOURCES to a file in a folder that exists"
    )


def test_the_scheduled_pull_fails_when_every_source_failed(cli_env: Settings) -> None:
    from veille.errors import SourceError
    from veille.scheduler.jobs import make_jobs

    cli_env.sources.write_text(
        f"sources:\n  - name: Feed\n    url: http://127.0.0.1:{_closed_port()}/feed\n"
    )
    engine = open_store(cli_env.db_url)
    settings = cli_env.model_copy(update={"retries": 0})
    with pytest.raises(SourceError, match=r"^all 1 sources failed \(network down\?\)"):
        make_jobs(engine, settings).pull(utcnow())
    engine.dispose()
