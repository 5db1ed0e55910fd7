"""A synthetic web on several loopback hosts, a mail sink, and `veille worker` processes:
the cluster that the kill test, the one-vs-three comparison and `bench/killtest.py` run.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlmodel import select

from tests.conftest import ROOT
from tests.faults import zoo as z
from veille.store import Delivery, Item, Story, Subscriber, session_scope

HOSTS = ("127.0.0.1", "127.0.0.2", "127.0.0.3")
FEEDS_PER_HOST = 2
ARTICLE = (
    "<html><head><title>{t}</title></head><body><article><h1>{t}</h1>"
    "<p>{lead}</p>"
    + "".join(
        f"<p>Paragraphe {i} : l’association du quartier {{n}} ouvre un atelier de réparation "
        "de vélos, partage ses outils en commun et forme des bénévoles chaque samedi.</p>"
        for i in range(6)
    )
    + "</article></body></html>"
)


WORDS = [
    "atelier",
    "quartier",
    "vélo",
    "jardin",
    "partagé",
    "monnaie",
    "locale",
    "tiers-lieu",
    "coopérative",
    "énergie",
    "citoyenne",
    "habitat",
    "participatif",
    "recyclerie",
    "réparation",
    "outils",
    "bénévoles",
    "commune",
    "données",
    "ouvertes",
    "logiciel",
    "libre",
    "cartographie",
    "mutuelle",
    "circuit",
    "court",
    "ferme",
    "épicerie",
    "solidaire",
    "covoiturage",
    "autopartage",
    "fablab",
    "bibliothèque",
    "semences",
    "compost",
    "école",
    "numérique",
    "santé",
    "culture",
    "musique",
    "théâtre",
    "sport",
    "emploi",
    "insertion",
    "formation",
    "chantier",
    "forêt",
    "rivière",
    "mer",
]


def distinct_article(title: str, seed: int) -> bytes:
    """An article whose words are drawn at random: no two share enough to merge."""
    import random

    rng = random.Random(seed)
    paragraphs = "".join(
        "<p>" + " ".join(rng.choice(WORDS) for _ in range(40)) + f" {seed}-{p}.</p>"
        for p in range(5)
    )
    return (
        f"<html><head><title>{title}</title></head><body><article><h1>{title}</h1>"
        f"{paragraphs}</article></body></html>"
    ).encode()


class Web:
    """Feeds on several hosts whose entries grow on demand, an article page for each."""

    def __init__(
        self, hosts: tuple[str, ...] = HOSTS, slow: float = 0.0, distinct: bool = False
    ) -> None:
        self.zoos = [z.Zoo(h) for h in hosts]
        self.distinct = distinct  # articles with nothing in common: stories of one item each
        self.size = 0
        self.slow = slow  # seconds each article takes to answer: kills land inside fetches
        for h, zoo in enumerate(self.zoos):
            zoo.add("/robots.txt", z.not_found)
            for f in range(FEEDS_PER_HOST):
                zoo.add(f"/feed{f}.xml", lambda sock, h=h, f=f: self._feed(sock, h, f))

    def _feed(self, sock, h: int, f: int) -> None:  # noqa: ANN001
        zoo = self.zoos[h]
        size = self.size
        for i in range(size):
            zoo.routes.setdefault(f"/a/{f}/{i}", self._article(h, f, i))
        items = "".join(
            f"<item><title>Atelier {h}-{f}-{i}</title><link>{zoo.url(f'/a/{f}/{i}')}</link>"
            f"<guid>{h}-{f}-{i}</guid><description>Atelier {i} du flux {h}-{f}</description>"
            "</item>"
            for i in range(size)
        )
        z.response(
            f"<rss version='2.0'><channel><title>f{h}{f}</title>{items}</channel></rss>".encode()
        )(sock)

    def _article(self, h: int, f: int, i: int):  # noqa: ANN202
        if self.distinct:
            body = distinct_article(f"Atelier {h}-{f}-{i}", seed=h * 10_000 + f * 1000 + i)
        else:
            body = ARTICLE.format(
                t=f"Atelier {h}-{f}-{i}", lead=f"Récit {h}-{f}-{i} unique", n=f"{h}{f}{i}"
            ).encode()
        reply = z.response(body, headers={"Content-Type": "text/html"})

        def serve(sock) -> None:  # noqa: ANN001
            if self.slow:
                time.sleep(self.slow)
            reply(sock)

        return serve

    def sources(self, interval: str = "1h") -> str:
        return "sources:\n" + "".join(
            f"  - name: flux {h}-{f}\n    url: {zoo.url(f'/feed{f}.xml')}\n"
            f"    interval: {interval}\n"
            for h, zoo in enumerate(self.zoos)
            for f in range(FEEDS_PER_HOST)
        )

    @property
    def entries(self) -> int:
        return len(self.zoos) * FEEDS_PER_HOST * self.size

    def close(self) -> None:
        for zoo in self.zoos:
            zoo.close()


def environment(tmp_path: Path, db: str, web: Web, smtp: str, interval: str) -> dict[str, str]:
    (tmp_path / "feeds.yaml").write_text(web.sources(interval))
    env = {k: v for k, v in os.environ.items() if not k.startswith("VEILLE_")}
    env.update(
        VEILLE_DATABASE_URL=db,
        VEILLE_EXECUTOR="procrastinate",
        VEILLE_DATA_DIR=str(tmp_path / "data"),
        VEILLE_SOURCES=str(tmp_path / "feeds.yaml"),
        VEILLE_ALLOW_NETWORKS="127.0.0.0/8",
        VEILLE_EXTRACT_WORKERS="1",
        VEILLE_RETRIES="0",
        VEILLE_LOG_LEVEL="WARNING",
        VEILLE_MODELS_DIR=str(tmp_path / "models"),
        VEILLE_SMTP_URL=smtp,
        VEILLE_SEND_RATE="40",
        VEILLE_SECRET_KEY="one-key-for-the-cluster",
        VEILLE_BASE_URL="https://veille.example.org",
        VEILLE_DIGEST_POLICY="send",
        VEILLE_SEND_EMPTY="true",
    )
    return env


def start_worker(env: dict[str, str], log: Path) -> subprocess.Popen:
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "veille", "worker", "--concurrency", "2"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=out,
            start_new_session=True,  # its own group: a kill takes its extraction processes too
        )


def kill_group(proc: subprocess.Popen, sig: int = signal.SIGKILL) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, sig)
    proc.wait(timeout=60)
    for _ in range(50):  # the group's children (forkserver, pool) go with it
        try:
            os.killpg(proc.pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.05)


def doing(engine: Engine) -> list[str]:
    with engine.connect() as conn:
        rows = conn.execute(
            text("SELECT task_name FROM procrastinate_jobs WHERE status = 'doing'")
        ).all()
    return [r[0] for r in rows]


def open_jobs(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(
            conn.execute(
                text(
                    "SELECT count(*) FROM procrastinate_jobs "
                    "WHERE status IN ('todo', 'doing') AND queue_name <> 'clock'"
                )
            ).one()[0]
        )


@dataclass
class State:
    items: int
    distinct: int
    unextracted: int
    storyless: int
    deliveries_open: int
    stories: dict[str, frozenset[str]]  # story of each item, as its members' guids
    copies: dict[str, int]

    def items_done(self, entries: int) -> bool:
        return self.items == self.distinct == entries and not self.unextracted + self.storyless


def state(engine: Engine, messages: list[str]) -> State:
    with session_scope(engine) as s:
        items = s.exec(select(Item)).all()
        story_ids = {st.id for st in s.exec(select(Story)).all()}
        open_rows = s.exec(
            select(Delivery).where(Delivery.status.in_(("pending", "failed", "sending")))  # type: ignore[attr-defined]
        ).all()
    members: dict[int, set[str]] = {}
    for i in items:
        members.setdefault(i.story_id or -i.id, set()).add(i.guid)
    copies: dict[str, int] = {}
    for rcpt in messages:
        copies[rcpt] = copies.get(rcpt, 0) + 1
    return State(
        items=len(items),
        distinct=len({(i.source_id, i.guid) for i in items}),
        unextracted=sum(1 for i in items if not i.extraction),
        storyless=sum(1 for i in items if i.story_id not in story_ids),
        deliveries_open=len(open_rows),
        stories={i.guid: frozenset(members[i.story_id or -i.id]) for i in items},
        copies=copies,
    )


def confirmed_emails(engine: Engine) -> set[str]:
    with session_scope(engine) as s:
        return {sub.email for sub in s.exec(select(Subscriber)).all() if sub.status == "confirmed"}


def in_flight(engine: Engine) -> set[str]:
    """Subscribers whose message was released when its sender was killed (counted as sent,
    never resent: at most once)."""
    with session_scope(engine) as s:
        rows = s.exec(select(Delivery, Subscriber).join(Subscriber)).all()
    return {
        sub.email
        for d, sub in rows
        if d.last_error and d.last_error.startswith("interrupted after release")
    }
