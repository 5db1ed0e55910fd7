"""Review page latency on a large store: seeds N items, serves the app with `veille serve` in
its own process, and times the queue page and a correction round trip from this process over
loopback. Target: p95 under 150 ms.

    .venv/bin/python -m bench.review                 # 100,000 items on SQLite
    .venv/bin/python -m bench.review --database-url postgresql://postgres@127.0.0.1/veille_bench

Titles and texts are cycled from ../shared/corpora/articles.jsonl when it is there (read in
place), so full-text search runs over real prose; scores, labels, sources and dates are drawn
from a fixed seed. Results go to bench/results/review.json (ignored by git).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

import httpx
from sqlalchemy import insert

from veille.store import session_scope, utcnow
from veille.store import users as accounts
from veille.store.db import open_store
from veille.store.models import Item, Source
from veille.types import TOPICS

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT.parent / "shared" / "corpora" / "articles.jsonl"
RESULTS = ROOT / "bench" / "results"
SEED_DIR = ROOT / "veille" / "classify" / "seed"
PASSWORD = "bench password"


def corpus(limit: int = 3000) -> list[tuple[str, str]]:
    if not CORPUS.exists():
        words = [
            "coopérative",
            "habitants",
            "repair",
            "café",
            "budget",
            "participatif",
            "logiciel",
            "libre",
        ]
        rng = random.Random(1)
        return [
            (" ".join(rng.choices(words, k=6)), " ".join(rng.choices(words, k=300)))
            for _ in range(200)
        ]
    out = []
    with CORPUS.open(encoding="utf-8") as f:
        for line in f:
            record = json.loads(line)
            out.append((record.get("title") or "", (record.get("text") or "")[:limit]))
    return out


def seed(url: str, n: int, batch: int = 5000) -> None:
    engine = open_store(url)
    rng = random.Random(42)
    docs = corpus()
    now = utcnow()
    with session_scope(engine) as s:
        ids = []
        for i in range(40):
            src = Source(
                name=f"Source {i:02d}",
                url=f"https://source{i}.example.org/feed",
                created_at=now,
                last_success_at=now,
                last_attempt_at=now,
            )
            s.add(src)
            s.flush()
            ids.append(src.id)
        accounts.create_user(s, name="bench", password=PASSWORD, now=now)
    started = time.perf_counter()
    for first in range(0, n, batch):
        rows = []
        for i in range(first, min(n, first + batch)):
            title, text = docs[i % len(docs)]
            scores = {t: round(rng.betavariate(0.6, 1.4), 3) for t in TOPICS}
            seen = now - timedelta(minutes=rng.randrange(60 * 24 * 90))
            rows.append(
                dict(
                    source_id=rng.choice(ids),
                    guid=f"g{i}",
                    url=f"https://example.org/a/{i}",
                    canonical_url=f"https://example.org/a/{i}",
                    title=title,
                    feed_summary=text[:300],
                    summary=text[:300],
                    text=text,
                    first_seen_at=seen,
                    updated_at=seen,
                    published_at=seen,
                    lang=rng.choice(("fr", "fr", "fr", "en")),
                    extraction="article",
                    labels=[t for t, v in scores.items() if v >= 0.5],
                    scores=scores,
                    unsure=[t for t, v in scores.items() if abs(v - 0.5) < 0.1],
                    model_version="bench",
                    classified_at=seen,
                    authors=[],
                    categories=[],
                )
            )
        with engine.begin() as conn:
            conn.execute(insert(Item), rows)
    print(f"seeded {n:,} items in {time.perf_counter() - started:.0f} s", file=sys.stderr)
    # What autovacuum would have done after such a load: planner statistics, and on
    # PostgreSQL the visibility map that lets index-only scans skip the table.
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql("ANALYZE" if url.startswith("sqlite") else "VACUUM ANALYZE item")
    engine.dispose()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def percentiles(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    cut = statistics.quantiles(ordered, n=100, method="inclusive")
    return {
        "n": len(ordered),
        "p50_ms": round(cut[49] * 1000, 1),
        "p95_ms": round(cut[94] * 1000, 1),
        "p99_ms": round(cut[98] * 1000, 1),
        "max_ms": round(ordered[-1] * 1000, 1),
    }


def timed(client: httpx.Client, n: int, request) -> list[float]:  # noqa: ANN001
    samples = []
    for i in range(n):
        start = time.perf_counter()
        reply = request(i)
        samples.append(time.perf_counter() - start)
        assert reply.status_code == 200, (reply.status_code, reply.text[:300])
    return samples


def measure(base: str, n: int) -> dict[str, dict[str, float]]:
    with httpx.Client(base_url=base, timeout=30) as client:
        page = client.get("/login")
        token = re.search(r'name="csrf-token" content="([^"]+)"', page.text).group(1)
        client.post("/login", data={"name": "bench", "password": PASSWORD, "csrf_token": token})
        queue = client.get("/review")
        token = re.search(r'name="csrf-token" content="([^"]+)"', queue.text).group(1)
        for _ in range(5):  # warm up: first queries, template compilation, model load
            client.get("/review")
        ids = [int(i) for i in re.findall(r'data-id="(\d+)"', client.get("/review").text)]
        headers = {"X-CSRF-Token": token, "X-Requested-With": "fetch"}
        out = {
            "queue (most useful first)": timed(client, n, lambda i: client.get("/review")),
            "queue, newest, page 3": timed(
                client, n, lambda i: client.get("/review?sort=newest&page=3")
            ),
            "queue, topic + unsure filter": timed(
                client, n, lambda i: client.get(f"/review?topic={TOPICS[i % 3]}&band=unsure")
            ),
            "queue, full-text search": timed(
                client,
                n,
                lambda i: client.get(
                    f"/review?q={('coopérative', 'logiciel libre', 'repair', 'habitants')[i % 4]}"
                ),
            ),
            "correction round trip": timed(
                client,
                n,
                lambda i: client.post(
                    f"/review/items/{ids[i % len(ids)]}/toggle",
                    headers=headers,
                    data={"topic": TOPICS[i % 3]},
                ),
            ),
            "undo round trip": timed(
                client, min(n, 100), lambda i: client.post("/review/undo", headers=headers)
            ),
        }
    return {name: percentiles(samples) for name, samples in out.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=300, help="timed requests per case")
    parser.add_argument("--database-url", help="default: SQLite in a temporary folder")
    parser.add_argument("--models-dir", default=str(SEED_DIR))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = args.database_url or f"sqlite:///{tmp}/veille.db"
        seed(url, args.items)
        port = free_port()
        env = {
            **os.environ,
            "VEILLE_DATABASE_URL": url,
            "VEILLE_DATA_DIR": tmp,
            "VEILLE_MODELS_DIR": args.models_dir,
            "VEILLE_LOG_LEVEL": "WARNING",
        }
        server = subprocess.Popen(
            [sys.executable, "-m", "veille", "serve", "--no-scheduler", "--port", str(port)],
            env=env,
            cwd=tmp,
        )
        try:
            base = f"http://127.0.0.1:{port}"
            for _ in range(300):
                try:
                    if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                        break
                except httpx.HTTPError:
                    time.sleep(0.1)
            results = measure(base, args.requests)
        finally:
            server.terminate()
            server.wait(timeout=20)
    report = {"items": args.items, "database": url.split(":")[0], "cases": results}
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "review.json").write_text(json.dumps(report, indent=2))
    width = max(map(len, results))
    print(
        f"{'case':<{width}}  {'p50':>7} {'p95':>7} {'p99':>7} {'max':>7}  (ms, n={args.requests})"
    )
    for name, r in results.items():
        flag = "" if r["p95_ms"] < 150 else "  over 150 ms"
        print(
            f"{name:<{width}}  {r['p50_ms']:>7} {r['p95_ms']:>7} {r['p99_ms']:>7} "
            f"{r['max_ms']:>7}{flag}"
        )


if __name__ == "__main__":
    main()
