"""The review app in a real headless Chromium: keyboard review that persists, hostile titles
that stay inert, and screenshots of every page at desktop and phone widths.

Screenshots go to /tmp/veille-shots (outside the repository).
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn
from sqlmodel import select

from tests.conftest import shared_path
from tests.e2e.seed import PASSWORD, Seeded, add_item, add_source, seed, use_light_hashing
from veille.settings import Settings
from veille.store import session_scope, utcnow
from veille.store.models import Item, Review
from veille.web.app import create_app

pytestmark = pytest.mark.browser
SHOTS = Path("/tmp/veille-shots")
SIZES = {"desktop": {"width": 1280, "height": 800}, "phone": {"width": 390, "height": 844}}


class Served:
    def __init__(self, app, port: int) -> None:  # noqa: ANN001
        self.app = app
        self.base = f"http://127.0.0.1:{port}"
        self.server = uvicorn.Server(
            uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
        )
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> Served:
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            assert time.monotonic() < deadline, "uvicorn did not start"
            time.sleep(0.05)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


def _port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def site(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Served, Seeded]]:
    use_light_hashing(monkeypatch)
    app = create_app(settings)
    seeded = seed(app.state.engine)
    with Served(app, _port()) as served:
        yield served, seeded


def _login(page, base: str, name: str = "ana") -> None:  # noqa: ANN001
    page.goto(f"{base}/review")
    assert "/login" in page.url
    page.fill("#name", name)
    page.fill("#password", PASSWORD)
    page.press("#password", "Enter")
    page.wait_for_url(f"{base}/review")


def test_keyboard_review_persists_after_reload(browser, site) -> None:  # noqa: ANN001
    served, _ = site
    page = browser.new_page(viewport=SIZES["desktop"])
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    _login(page, served.base)
    cards = page.locator(".card")
    first, second = (cards.nth(i).get_attribute("data-id") for i in range(2))
    first_card = page.locator(f"#item-{first}")
    assert "current" in (first_card.get_attribute("class") or "")
    before = first_card.locator('button[data-key="2"]').get_attribute("aria-pressed")
    page.keyboard.press("2")
    flipped = "false" if before == "true" else "true"
    page.wait_for_selector(f'#item-{first} button[data-key="2"][aria-pressed="{flipped}"]')
    page.keyboard.press("Enter")  # accept, then the next card is current
    page.wait_for_selector(f"#item-{first}.done")
    page.wait_for_selector(f"#item-{second}.current")
    page.keyboard.press("x")
    page.wait_for_selector(f'#item-{second} button[data-key="x"][aria-pressed="true"]')
    page.keyboard.press("u")  # undo the exclusion
    page.wait_for_selector(f'#item-{second} button[data-key="x"][aria-pressed="false"]')
    page.keyboard.press("k")
    page.wait_for_selector(f"#item-{first}.current")
    page.reload()
    assert page.locator(f"#item-{first}").count() == 0  # judged: gone from the queue
    page.goto(f"{served.base}/review/items/{first}")
    assert (
        page.locator(f'#item-{first} button[data-key="2"]').get_attribute("aria-pressed") == flipped
    )
    assert "ana" in page.locator(f"#item-{first} .state").inner_text()
    with session_scope(served.app.state.engine) as s:
        item = s.get(Item, int(first))
        assert item.reviewed_by == "ana" and item.reviewed_at is not None
        assert ("collaborative_consumption" in item.curator_labels) == (flipped == "true")
        assert s.get(Item, int(second)).excluded is False
        actions = list(s.exec(select(Review.action).order_by(Review.id)))
    assert actions == ["labels", "accept", "exclude", "undo"]
    assert errors == []
    page.close()


def _hostile_lines() -> list[str]:
    root = shared_path("corpora", "hostile", "xss")
    lines: list[str] = []
    for path in sorted((root / "payloadsallthethings").glob("*.txt")) + [root / "h5sc" / "rss.txt"]:
        lines += [x for x in path.read_text(errors="replace").splitlines() if "<" in x]
    cases = json.loads((root / "dompurify" / "expect.json").read_text())
    lines += [case["payload"] for case in cases if isinstance(case.get("payload"), str)]
    return lines


PAGES = [
    "/login",
    "/review",
    "/review?sort=newest&reviewed=all",
    "/sources",
    "/stats",
    "/model",
    "/review/items/{item}",
    "/review/items/999999",
]


def test_hostile_titles_stay_inert_and_pages_look_right(browser, site) -> None:  # noqa: ANN001
    served, seeded = site
    engine = served.app.state.engine
    lines = _hostile_lines()
    assert len(lines) > 500
    evil = add_source(
        engine,
        lines[0][:150],
        "javascript:alert(1)",
        last_attempt_at=utcnow(),
        last_error=lines[1][:300],
        consecutive_failures=1,
        last_error_at=utcnow(),
    )
    first_hostile = None
    for i in range(0, 240, 2):  # 120 items, title and summary each a different payload
        item_id = add_item(
            engine,
            evil,
            f"x{i}",
            title=lines[i % len(lines)][:300],
            summary=lines[(i + 1) % len(lines)][:600],
            url=lines[i % 7][:200],
            scores={"open_collaboration": 0.45 + (i % 10) / 100},
        )
        first_hostile = first_hostile or item_id
    # Not emptied first: another run of the suite may be writing its pictures here too.
    SHOTS.mkdir(parents=True, exist_ok=True)
    shots: set[Path] = set()

    def shoot(page, name: str, full_page: bool) -> None:  # noqa: ANN001
        shots.add(SHOTS / f"{name}.png")
        page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=full_page)

    for size, viewport in SIZES.items():
        context = browser.new_context(viewport=viewport)
        page = context.new_page()
        page.add_init_script(
            "window.__fired = []; for (const f of ['alert','confirm','prompt'])"
            " window[f] = (...a) => window.__fired.push(f + ':' + a);"
        )
        dialogs: list[str] = []
        page.on("dialog", lambda d, seen=dialogs: (seen.append(d.message), d.dismiss()))
        page.goto(f"{served.base}/login")
        shoot(page, f"login-{size}", True)
        _login(page, served.base)
        for path in PAGES[1:]:
            url = served.base + path.format(item=first_hostile)
            page.goto(url)
            page.wait_for_load_state("networkidle")
            name = path.strip("/").split("?")[0].replace("/", "-").replace("{item}", "x") or "x"
            if "sort=" in path:
                name += "-all"
            if "999999" in path:
                name = "not-found"
            elif "items" in path:
                name = "item"
            shoot(page, f"{name}-{size}", size == "phone")
            assert page.evaluate("window.__fired") == [], path
            assert page.evaluate("document.scripts.length") == 1, path  # ours only
            handlers = page.evaluate(
                "[...document.querySelectorAll('*')].flatMap(e => [...e.attributes]"
                ".filter(a => a.name.startsWith('on')).map(a => e.tagName + ' ' + a.name))"
            )
            assert handlers == [], (path, handlers[:5])
            assert page.locator("a[href^='javascript:' i]").count() == 0, path
        if size == "desktop":  # the keyboard panel and a "why" panel, opened
            page.goto(f"{served.base}/review/items/{seeded.items['budget']}")
            shoot(page, f"item-clean-{size}", True)
        assert dialogs == []
        context.close()
    assert len(shots) >= 15 and all(p.stat().st_size > 0 for p in shots)
