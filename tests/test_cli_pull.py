"""`veille pull`, `veille items` and `veille sources …` through the CLI, against the local web."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.localweb import LocalWeb
from veille.cli import _register, app

_register()
FIXTURES = Path(__file__).parent / "fixtures" / "ingest"


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, web: LocalWeb) -> dict[str, str]:
    """A data folder, loopback allowed, and a sources file with a good and a broken source."""
    for var in list(__import__("os").environ):
        if var.startswith("VEILLE_"):
            monkeypatch.delenv(var)
    monkeypatch.chdir(tmp_path)
    web.route(
        "/rss",
        (FIXTURES / "rss20.xml").read_bytes(),
        headers={"ETag": '"r1"'},
        content_type="application/rss+xml",
    )
    web.route("/atom", (FIXTURES / "atom10.xml").read_bytes(), content_type="application/atom+xml")
    web.route("/gone", status=410)
    (tmp_path / "feeds.yaml").write_text(
        "sources:\n"
        f"  - name: Réseau\n    url: {web.url('/rss')}\n    language: fr\n"
        f"  - name: Communs\n    url: {web.url('/atom')}\n    tags: [communs]\n"
        f"  - name: Disparu\n    url: {web.url('/gone')}\n"
    )
    values = {
        "VEILLE_DATA_DIR": str(tmp_path / "data"),
        "VEILLE_ALLOW_NETWORKS": "127.0.0.0/8",
        "VEILLE_RETRIES": "0",
    }
    for key, value in values.items():
        monkeypatch.setenv(key, value)
    return values


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args))
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout, result.stderr


def test_pull_then_items_and_health(env: dict[str, str], web: LocalWeb) -> None:
    code, out, err = run("pull")
    assert code == 0
    assert out.strip().startswith("3 sources: 2 ok, 0 unchanged, 1 failed; 5 new items in ")
    assert "failed: Disparu: HTTP 410 Gone" in err
    code, out, _ = run("pull", "--force", "--source", "Réseau")
    assert out.startswith("1 sources: 0 ok, 1 unchanged, 0 failed; 0 new items")
    assert web.hits("/rss")[-1].headers["if-none-match"] == '"r1"'

    code, out, _ = run("items", "--format", "jsonl")
    records = [json.loads(line) for line in out.splitlines()]
    assert len(records) == 5
    first = next(r for r in records if r["guid"] == "reseau-1234")
    assert first["source"] == "Réseau" and first["authors"] == ["Anne Le Goff"]
    assert first["published_at"] == "2026-11-23T07:30:00+00:00"
    # Every stored field is there, extraction and curation ones included.
    for field in (
        "canonical_url",
        "feed_content",
        "first_seen_at",
        "labels",
        "curator_labels",
        "minhash",
        "story_id",
        "extraction",
    ):
        assert field in first
    code, out, _ = run("items", "--source", "Communs", "--format", "jsonl")
    assert [json.loads(x)["source"] for x in out.splitlines()] == ["Communs", "Communs"]
    code, out, _ = run("items", "--since", "1h")
    assert "Cartographie participative des fontaines" in out

    code, out, _ = run("sources", "list")
    assert code == 0
    lines = {line.split()[0]: line for line in out.splitlines() if line.strip()}
    assert " 3 " in lines["Réseau"] and "never" not in lines["Réseau"]
    assert "never" in lines["Disparu"] and " 1 " in lines["Disparu"]
    assert "error: Disparu: HTTP 410 Gone" in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("items", "--format", "csv"), "--format 'csv': use table or jsonl"),
        (("items", "--since", "yesterday"), "--since 'yesterday'"),
        (("items", "--source", "Nope"), "--source 'Nope': no such source"),
        (("pull", "--source", "Nope"), "unknown source 'Nope'"),
        (("pull", "--sources", "missing.yaml"), "missing.yaml: sources file not found"),
    ],
)
def test_bad_arguments_give_one_line(
    env: dict[str, str], args: tuple[str, ...], message: str
) -> None:
    from veille.errors import VeilleError

    with pytest.raises(VeilleError, match=message):
        run(*args)


def test_broken_sources_file_is_one_line_without_traceback(
    env: dict[str, str], tmp_path: Path
) -> None:
    (tmp_path / "broken.yaml").write_text(
        "sources:\n  - name: x\n    url: http://x\n    kynd: feed\n"
    )
    done = subprocess.run(
        [sys.executable, "-m", "veille", "pull", "--sources", "broken.yaml"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=60,
    )
    assert done.returncode == 1 and done.stdout == ""
    assert done.stderr == (
        "veille: error: broken.yaml:4: source 'x': field 'kynd': unknown field\n"
    )


def test_sources_check_import_export(env: dict[str, str], tmp_path: Path) -> None:
    code, out, _ = run("sources", "check")
    assert out.strip() == "feeds.yaml: 3 sources (3 enabled)"
    code, out, _ = run("sources", "import", str(FIXTURES / "freshrss.opml"))
    assert out.strip() == "feeds.yaml: 3 sources added, 0 already there"
    code, out, _ = run("sources", "export")
    assert out.count('type="rss"') == 6 and "France Tiers-Lieux" in out
    code, _, _ = run("sources", "export", "--output", "subs.opml")
    exported = (tmp_path / "subs.opml").read_text()
    undated = re.compile(r"<dateCreated>.*?</dateCreated>")
    assert undated.sub("", exported) == undated.sub("", out)
    (tmp_path / "other.yaml").write_text("sources: []\n")
    code, out, _ = run("sources", "import", "subs.opml", "--sources", "other.yaml")
    assert out.strip() == "other.yaml: 6 sources added, 0 already there"
    from veille.errors import ConfigError

    (tmp_path / "bad.opml").write_bytes(b"<opml><body><outline xmlUrl='ftp://x'/></body>")
    with pytest.raises(ConfigError, match="bad.opml: not an OPML file"):
        run("sources", "import", "bad.opml")
    assert (tmp_path / "other.yaml").read_text().count("- name:") == 6  # rejected whole


def test_a_pull_waits_for_the_one_running(env: dict[str, str], tmp_path: Path) -> None:
    """`veille pull` takes the scheduler's pull lease: with it held elsewhere, one line, exit 1,
    and nothing fetched; an unknown --source is one line too (recorded as a failed run)."""
    from datetime import timedelta

    from veille.store import jobs as store_jobs
    from veille.store import open_store, session_scope, utcnow

    engine = open_store(f"sqlite:///{tmp_path / 'data' / 'veille.db'}")
    with session_scope(engine) as s:
        assert store_jobs.acquire_lock(
            s, name="pull", owner="other:1", now=utcnow(), ttl=timedelta(minutes=5)
        )
    code, out, err = veille("pull")
    assert code == 1 and "another pull is running" in err and "Traceback" not in err
    assert "new items" not in out
    with session_scope(engine) as s:
        store_jobs.release_lock(s, name="pull", owner="other:1")
    code, out, err = veille("pull", "--source", "Nulle part")
    assert code != 0 and "unknown source 'Nulle part'" in err and "Traceback" not in err
    with session_scope(engine) as s:
        assert store_jobs.last_runs(s)["pull"].outcome == "failed"
    engine.dispose()


def veille(*args: str) -> tuple[int, str, str]:
    """The real entry point in a subprocess: one-line errors and exit codes as users see them."""
    done = subprocess.run(
        [sys.executable, "-m", "veille", *args], capture_output=True, text=True, timeout=120
    )
    return done.returncode, done.stdout, done.stderr


def test_a_lease_left_by_a_killed_pull_is_taken_over(env: dict[str, str], tmp_path: Path) -> None:
    """A SIGKILLed pull leaves its lease; the next pull on the same machine sees its process
    is gone and runs at once (a lease of another machine still makes it wait)."""
    import socket
    from datetime import timedelta

    from veille.store import jobs as store_jobs
    from veille.store import open_store, session_scope, utcnow

    engine = open_store(f"sqlite:///{tmp_path / 'data' / 'veille.db'}")
    with session_scope(engine) as s:
        dead = f"{socket.gethostname()}:999999999:dead01"
        assert store_jobs.acquire_lock(
            s, name="pull", owner=dead, now=utcnow(), ttl=timedelta(minutes=15)
        )
    code, out, err = veille("pull")
    assert code == 0 and "new items" in out and "another pull is running" not in err
    with session_scope(engine) as s:
        assert store_jobs.lock_holder(s, name="pull", now=utcnow()) is None
        assert store_jobs.acquire_lock(
            s, name="pull", owner="elsewhere:1:x", now=utcnow(), ttl=timedelta(minutes=15)
        )
    code, out, err = veille("pull")
    assert code == 1 and "another pull is running" in err
    engine.dispose()
