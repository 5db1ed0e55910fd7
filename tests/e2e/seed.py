"""Rows for the web tests: sources, a story told by two sources, scored items, two accounts.

Inserted with the store's models directly, as the pipeline would leave them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from sqlalchemy.engine import Engine

from veille.store import session_scope, utcnow
from veille.store import users as accounts
from veille.store.models import Item, Source, Story, User

PASSWORD = "un mot de passe"
LIGHT_HASHER = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)


@dataclass
class Seeded:
    sources: dict[str, int] = field(default_factory=dict)
    items: dict[str, int] = field(default_factory=dict)  # key -> item id
    story: int | None = None


def add_user(engine: Engine, name: str, role: str = "curator", password: str = PASSWORD) -> None:
    with session_scope(engine) as s:
        s.add(
            User(
                name=name, role=role, password_hash=LIGHT_HASHER.hash(password), created_at=utcnow()
            )
        )


def add_source(engine: Engine, name: str, url: str, **fields: object) -> int:
    with session_scope(engine) as s:
        src = Source(name=name, url=url, created_at=utcnow(), **fields)
        s.add(src)
        s.flush()
        return int(src.id)


def add_item(
    engine: Engine,
    source_id: int,
    key: str,
    *,
    title: str,
    scores: dict[str, float],
    summary: str = "",
    text: str = "",
    lang: str = "fr",
    url: str | None = None,
    seen: datetime | None = None,
    story_id: int | None = None,
    thresholds: float = 0.5,
    **fields: object,
) -> int:
    seen = seen or utcnow()
    labels = [t for t, v in scores.items() if v >= thresholds]
    unsure = [t for t, v in scores.items() if abs(v - thresholds) < 0.15]
    with session_scope(engine) as s:
        item = Item(
            source_id=source_id,
            guid=key,
            url=url or f"https://example.org/{key}",
            canonical_url=url or f"https://example.org/{key}",
            title=title,
            feed_summary=summary,
            summary=summary,
            text=text or summary,
            lang=lang,
            first_seen_at=seen,
            updated_at=seen,
            published_at=seen,
            story_id=story_id,
            labels=labels,
            scores=scores,
            unsure=unsure,
            model_version="test",
            classified_at=seen,
            extraction="article",
            **fields,
        )
        s.add(item)
        s.flush()
        return int(item.id)


def seed(engine: Engine) -> Seeded:
    """Five items over two sources; `repair` and `repair-bis` are one story."""
    out = Seeded()
    now = utcnow()
    out.sources["bruded"] = add_source(
        engine,
        "Bruded",
        "https://www.bruded.fr/feed/",
        language="fr",
        last_success_at=now,
        last_attempt_at=now,
        next_fetch_at=now + timedelta(hours=1),
    )
    out.sources["osm"] = add_source(
        engine,
        "OSM blog",
        "https://blog.openstreetmap.org/feed/",
        language="en",
        last_attempt_at=now,
        consecutive_failures=4,
        last_error="timeout after 20 s",
        last_error_at=now,
    )
    with session_scope(engine) as s:
        story = Story(created_at=now, updated_at=now, size=2)
        s.add(story)
        s.flush()
        out.story = int(story.id)
    b, o = out.sources["bruded"], out.sources["osm"]
    out.items["repair"] = add_item(
        engine,
        b,
        "repair",
        title="Un repair café ouvre à Melle",
        summary="Des bénévoles réparent grille-pains et vélos chaque samedi.",
        scores={
            "social_innovation": 0.2,
            "collaborative_consumption": 0.93,
            "open_collaboration": 0.1,
        },
        seen=now - timedelta(hours=1),
        story_id=out.story,
    )
    out.items["repair-bis"] = add_item(
        engine,
        o,
        "repair-bis",
        title="Repair café in Melle",
        lang="en",
        summary="Volunteers fix toasters.",
        url="https://news.example.net/melle",
        scores={
            "social_innovation": 0.2,
            "collaborative_consumption": 0.9,
            "open_collaboration": 0.1,
        },
        seen=now - timedelta(hours=2),
        story_id=out.story,
    )
    out.items["budget"] = add_item(
        engine,
        b,
        "budget",
        title="Budget participatif : les habitants votent",
        summary="La commune ouvre son budget participatif aux habitants.",
        scores={
            "social_innovation": 0.52,
            "collaborative_consumption": 0.05,
            "open_collaboration": 0.48,
        },
        seen=now - timedelta(days=2),
    )
    out.items["osm"] = add_item(
        engine,
        o,
        "osm",
        title="Mapping party OpenStreetMap",
        lang="en",
        summary="Contributors mapped the town's accessible paths together.",
        scores={
            "social_innovation": 0.1,
            "collaborative_consumption": 0.05,
            "open_collaboration": 0.97,
        },
        seen=now - timedelta(days=3),
    )
    out.items["phone"] = add_item(
        engine,
        b,
        "phone",
        title="Un nouveau téléphone pliant",
        summary="Le constructeur présente son téléphone.",
        url="javascript:alert(1)",
        scores={
            "social_innovation": 0.01,
            "collaborative_consumption": 0.02,
            "open_collaboration": 0.03,
        },
        seen=now - timedelta(days=4),
    )
    add_user(engine, "ana")
    add_user(engine, "root", role="admin")
    return out


def csrf_of(html: str) -> str:
    match = re.search(r'name="csrf-token" content="([^"]+)"', html)
    assert match, "page has no CSRF token"
    return match.group(1)


def use_light_hashing(monkeypatch) -> None:  # noqa: ANN001
    """Real argon2id with small costs (the default costs ~0.4 s a hash on this machine)."""
    monkeypatch.setattr(accounts, "_hasher", LIGHT_HASHER)


def login(client, name: str = "ana", password: str = PASSWORD, next: str = "/stats") -> str:  # noqa: ANN001, A002
    """Log `client` in through the form, landing on `next`; returns the session's CSRF token."""
    form = client.get("/login")
    reply = client.post(
        "/login",
        data={
            "name": name,
            "password": password,
            "next": next,
            "csrf_token": csrf_of(form.text),
        },
        follow_redirects=False,
    )
    assert reply.status_code == 303, reply.text
    return csrf_of(client.get(next).text)
