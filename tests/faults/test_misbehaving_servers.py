"""One pull against a zoo of misbehaving servers, each one source among healthy ones.

Every hostile source must end within seconds with its error recorded on its row (or, for
the huge feed, read in part), the healthy sources must be stored whole, and the run's time
and peak memory (the pull process and its workers, measured by the kernel) stay bounded.
The figures are printed and put in the assertion messages.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import zlib
from datetime import UTC, datetime, timedelta
from pathlib import Path

import brotli
import pytest
from sqlmodel import select

from tests.conftest import ROOT
from tests.faults import zoo as z
from veille.store import Item, Source, open_store, session_scope

HOSTILE_XML = Path(__file__).resolve().parents[3] / "shared" / "corpora" / "hostile" / "xml"
BOMB_MB = 64
PER_SOURCE_SECONDS = 20  # total timeout 5 s, one retry, backoff: well inside
RUN_SECONDS = 120
PEAK_MB = 700  # the pull process; the issue measured 1,064 MB for the 100,000-entry feed alone


def _rss(title: str, n: int = 3) -> bytes:
    items = "".join(
        f"<item><title>{title} {i}</title><link>http://example.org/{title}/{i}</link>"
        f"<guid>{title}-{i}</guid></item>"
        for i in range(n)
    )
    return f'<rss version="2.0"><channel><title>{title}</title>{items}</channel></rss>'.encode()


def _huge_feed(n: int) -> bytes:
    # About 50 bytes an entry: 100,000 entries are 5 MB, as the case.
    items = "".join(f"<item><guid>{i}</guid><title>n{i}</title></item>" for i in range(n))
    return f'<rss version="2.0"><channel><title>big</title>{items}</channel></rss>'.encode()


def _bomb(kind: str) -> bytes:
    zeros = b"\0" * (1 << 20)
    if kind == "br":
        out = brotli.Compressor(quality=1)
        parts = [out.process(zeros) for _ in range(BOMB_MB)]
        return b"".join(parts) + out.finish()
    packer = zlib.compressobj(9, zlib.DEFLATED, 31 if kind == "gzip" else 15)
    return b"".join(packer.compress(zeros) for _ in range(BOMB_MB)) + packer.flush()


def _nested_page(depth: int) -> bytes:
    return b"<html><body>" + b"<div>" * depth + b"x" + b"</div>" * depth + b"</body></html>"


def _hostile(name: str) -> bytes:
    path = HOSTILE_XML / "generated" / name
    if not path.exists():
        pytest.skip(f"../shared/corpora/hostile/xml/generated/{name} is absent")
    return path.read_bytes()


# name -> (kind, behaviour, what is acceptable: "failed", "ok" or "either")
def _cases() -> dict[str, tuple[str, z.Behaviour, str]]:
    return {
        "slow drip": ("feed", z.drip, "failed"),
        "silent server": ("feed", z.silent, "failed"),
        "endless body": ("feed", z.endless, "failed"),
        "endless chunked body": ("feed", z.endless_chunked, "failed"),
        "lying length (short)": (
            "feed",
            z.raw(b"HTTP/1.1 200 OK\r\nContent-Length: 5000\r\n\r\n<rss>"),
            "failed",
        ),
        "lying length (smuggled)": (
            "feed",
            z.raw(
                b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n<rss></rss>HTTP/1.1 200 OK\r\n"
                b"Content-Length: 5\r\n\r\nhello"
            ),
            "either",
        ),
        "gzip bomb": (
            "feed",
            z.response(_bomb("gzip"), headers={"Content-Encoding": "gzip"}),
            "failed",
        ),
        "deflate bomb": (
            "feed",
            z.response(_bomb("deflate"), headers={"Content-Encoding": "deflate"}),
            "failed",
        ),
        "brotli bomb": (
            "feed",
            z.response(_bomb("br"), headers={"Content-Encoding": "br"}),
            "failed",
        ),
        "redirect loop": (
            "feed",
            z.response(status="302 Found", headers={"Location": "/loop"}),
            "failed",
        ),
        "long redirect chain": ("feed", None, "failed"),  # routes added below
        "1 MB header": (
            "feed",
            z.response(_rss("h1"), headers={"X-Big": "a" * 1_000_000}),
            "failed",
        ),
        "100 kB header": (
            "feed",
            z.response(_rss("h2"), headers={"X-Big": "a" * 100_000}),
            "failed",
        ),
        "20,000 headers": (
            "feed",
            z.response(_rss("h3"), headers={f"X-H{i}": "v" for i in range(20_000)}),
            "failed",
        ),
        "wrong charset": (
            "feed",
            z.response(
                _rss("charset"), headers={"Content-Type": "application/rss+xml; charset=utf-16"}
            ),
            "either",
        ),
        "bogus charset": (
            "feed",
            z.response(_rss("bogus"), headers={"Content-Type": "text/xml; charset=x-nonsense-42"}),
            "either",
        ),
        "billion laughs": ("feed", z.response(_hostile("rss_billion_laughs.xml")), "either"),
        "quadratic blowup": ("feed", z.response(_hostile("rss_quadratic_blowup.xml")), "either"),
        "external entity (file)": ("feed", z.response(_hostile("rss_xxe_file.xml")), "either"),
        "parameter entity": (
            "feed",
            z.response(_hostile("rss_xxe_parameter_entity.xml")),
            "either",
        ),
        "deep nesting feed": ("feed", z.response(_hostile("rss_deep_nesting.xml")), "either"),
        "429 storm, Retry-After a day": (
            "feed",
            z.response(status="429 Too Many Requests", headers={"Retry-After": "86400"}),
            "failed",
        ),
        "nested markup page": (
            "page",
            z.response(_nested_page(200_000), headers={"Content-Type": "text/html"}),
            "either",
        ),
        "closed mid-headers": ("feed", z.raw(b"HTTP/1.1 200 OK\r\nContent-Ty"), "failed"),
        "HTTP/0.9 answer": ("feed", z.raw(_rss("old")), "failed"),
        "endless 1xx": (
            "feed",
            lambda s: [
                s.sendall(b"HTTP/1.1 102 Processing\r\n\r\n") or time.sleep(0.05)
                for _ in range(10_000)
            ],
            "failed",
        ),
    }


def _pull(tmp_path: Path, sources: list[tuple[str, str, str]], **env_extra: str) -> dict:
    """`veille pull --force` of these (name, url, kind) in a process of its own; what it
    measured, plus each source's row and item count."""
    lines = ["sources:"]
    for name, url, kind in sources:
        lines += [f"  - name: {json.dumps(name)}", f"    url: {url}", f"    kind: {kind}"]
    (tmp_path / "feeds.yaml").write_text("\n".join(lines) + "\n")
    db = f"sqlite:///{tmp_path / 'zoo.db'}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("VEILLE_")}
    env.update(
        VEILLE_DATABASE_URL=db,
        VEILLE_DATA_DIR=str(tmp_path / "data"),
        VEILLE_SOURCES=str(tmp_path / "feeds.yaml"),
        VEILLE_ALLOW_NETWORKS="127.0.0.0/8",
        VEILLE_FETCH_ARTICLES="false",
        VEILLE_CONNECT_TIMEOUT="2",
        VEILLE_READ_TIMEOUT="2",
        VEILLE_TOTAL_TIMEOUT="5",
        VEILLE_RETRIES="1",
        VEILLE_MAX_PER_HOST="64",
        VEILLE_EXTRACT_WORKERS="1",
        VEILLE_LOG_LEVEL="ERROR",
        VEILLE_MODELS_DIR=str(ROOT / "models"),
    )
    env.update(env_extra)
    out = tmp_path / "run.json"
    started = time.monotonic()
    proc = subprocess.run(
        [sys.executable, "-m", "tests.faults.measured", str(out)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        timeout=RUN_SECONDS * 2,
    )
    assert proc.returncode == 0, proc.stderr.decode()[-3000:]
    run = json.loads(out.read_text())
    run["wall"] = time.monotonic() - started
    engine = open_store(db)
    with session_scope(engine) as s:
        run["rows"] = {r.name: r for r in s.exec(select(Source)).all()}
        run["counts"] = {
            r.name: len(s.exec(select(Item.id).where(Item.source_id == r.id)).all())
            for r in run["rows"].values()
        }
        run["titles"] = " ".join(t or "" for t in s.exec(select(Item.title)).all())
    engine.dispose()
    run["by_name"] = {o["name"]: o for o in run["outcomes"]}
    run["figures"] = (
        f"run {run['seconds']:.1f} s (wall {run['wall']:.1f} s), peak {run['peak_mb']:.0f} MB "
        f"(pull process; workers {run['peak_worker_mb']:.0f} MB)"
    )
    return run


def _healthy(zoo: z.Zoo, n: int = 3) -> list[tuple[str, str, str]]:
    return [
        (f"healthy {i}", zoo.add(f"/healthy{i}.xml", z.response(_rss(f"healthy{i}", 5))), "feed")
        for i in range(n)
    ]


def _assert_healthy(run: dict, report: str, n: int = 3) -> None:
    for i in range(n):
        name = f"healthy {i}"
        assert run["by_name"][name]["status"] == "ok" and run["counts"][name] == 5, report


def test_one_pull_against_the_zoo(tmp_path: Path) -> None:
    healthy, hostile = z.Zoo("127.0.0.2"), z.Zoo("127.0.0.3")
    cases = _cases()
    sources = _healthy(healthy)
    for i, (name, (kind, behaviour, _)) in enumerate(cases.items()):
        path = f"/case{i}"
        if name == "long redirect chain":
            for hop in range(40):
                where = {"Location": f"{path}/{hop + 1}"}
                hostile.add(f"{path}/{hop}", z.response(status="302 Found", headers=where))
            url = hostile.url(f"{path}/0")
        elif name == "redirect loop":
            hostile.add(path, z.response(status="302 Found", headers={"Location": f"{path}b"}))
            hostile.add(f"{path}b", z.response(status="302 Found", headers={"Location": path}))
            url = hostile.url(path)
        else:
            url = hostile.add(path, behaviour)
        sources.append((name, url, kind))
    try:
        run = _pull(tmp_path, sources)
    finally:
        healthy.close()
        hostile.close()
    rows, counts, by_name = run["rows"], run["counts"], run["by_name"]
    table = [
        f"{name:30} {by_name[name]['status']:7} {by_name[name]['seconds']:5.1f} s "
        f"{counts[name]:3} items  {(by_name[name]['error'] or rows[name].warning or '')[:60]}"
        for name in cases
    ]
    report = run["figures"] + "\n" + "\n".join(table)
    print(report)
    _assert_healthy(run, report)
    for name, (_, _, expected) in cases.items():
        o = by_name[name]
        assert o["seconds"] < PER_SOURCE_SECONDS, f"{name}: {o['seconds']:.1f} s\n{report}"
        if expected == "failed":
            assert o["status"] == "failed" and rows[name].last_error, f"{name}\n{report}"
            assert rows[name].consecutive_failures == 1, f"{name}\n{report}"
    assert "root:" not in run["titles"] and "lol" * 10 not in run["titles"], "entity expanded"
    assert "hello" not in run["titles"]  # the smuggled response is never read as content
    retry = rows["429 storm, Retry-After a day"].next_fetch_at
    assert retry is not None and retry > datetime.now(UTC) + timedelta(hours=23), report
    assert run["seconds"] < RUN_SECONDS, report
    assert run["peak_mb"] < PEAK_MB, report


def test_a_feed_of_100000_entries_is_read_in_part(tmp_path: Path) -> None:
    """The issue's case: 5 MB, 100,000 entries took 661 s and 1,064 MB; now the newest
    VEILLE_MAX_ENTRIES_PER_FETCH (1,000) become items, in seconds."""
    healthy, big = z.Zoo("127.0.0.2"), z.Zoo("127.0.0.4")
    body = _huge_feed(100_000)
    sources = [*_healthy(healthy), ("huge", big.add("/huge.xml", z.response(body)), "feed")]
    try:
        run = _pull(tmp_path, sources, VEILLE_TOTAL_TIMEOUT="30")
    finally:
        healthy.close()
        big.close()
    o, row = run["by_name"]["huge"], run["rows"]["huge"]
    report = (
        f"{len(body) / 1e6:.1f} MB feed: {o['status']} in {o['seconds']:.1f} s, "
        f"{run['counts']['huge']} items; {run['figures']}"
    )
    print(report)
    _assert_healthy(run, report)
    assert o["status"] == "ok" and run["counts"]["huge"] == 1000, report
    assert "99000 older entries not read" in (row.warning or ""), report
    assert o["seconds"] < 60 and run["peak_mb"] < 500, report
