"""A curator's day in French in a real Chromium: an AZERTY keyboard (keys sent by physical
code, the digit row typing & é " à), pin and exclude that exclude each other, toasts that go
away, and every curator page at 375 px with nothing wider than the screen. Screenshots of
every curator page at 375 and 1280 px go to /tmp/veille-shots/fr-*.png."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.e2e.seed import add_item
from tests.e2e.test_browser import SHOTS, _login, site  # noqa: F401 (fixtures)
from veille.store import reviews, session_scope, utcnow
from veille.store.models import Item

pytestmark = pytest.mark.browser
PHONE = {"width": 375, "height": 812}
DESKTOP = {"width": 1280, "height": 800}
# What the unshifted digit row types on a French AZERTY keyboard, by physical key.
AZERTY = {"Digit1": "&", "Digit2": "é", "Digit3": '"', "Digit0": "à"}
PAGES = {
    "review": "/review",
    "search": "/review?q=repair",
    "item": "/review/items/{budget}",
    "preview": "/digest/preview",
    "sources": "/sources",
    "model": "/model",
    "stats": "/stats",
}


def press_code(page, code: str, key: str) -> None:  # noqa: ANN001
    """A trusted key press as the browser gets it from a keyboard: `code` is the physical key,
    `key` what the layout makes of it."""
    cdp = page.context.new_cdp_session(page)
    base = {"code": code, "key": key, "windowsVirtualKeyCode": ord(code[-1])}
    cdp.send("Input.dispatchKeyEvent", {"type": "keyDown", "text": key, **base})
    cdp.send("Input.dispatchKeyEvent", {"type": "keyUp", **base})
    cdp.detach()


def _pressed(page, item: str, key: str) -> str:  # noqa: ANN001
    return page.locator(f'#item-{item} button[data-key="{key}"]').get_attribute("aria-pressed")


def test_azerty_review_and_exclusive_pin_exclude(browser, site) -> None:  # noqa: ANN001, F811
    served, _ = site
    page = browser.new_page(viewport=DESKTOP)
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    _login(page, served.base)
    first = page.locator(".card").first.get_attribute("data-id")
    before = _pressed(page, first, "2")
    press_code(page, "Digit2", AZERTY["Digit2"])  # "é": topic 2 on AZERTY
    flipped = "false" if before == "true" else "true"
    page.wait_for_selector(f'#item-{first} button[data-key="2"][aria-pressed="{flipped}"]')
    # The toast says it saved, then fades by itself.
    page.wait_for_selector("#status.shown")
    assert page.locator("#status").inner_text() == "Enregistré."
    page.wait_for_selector("#status:not(.shown)", state="attached", timeout=5000)
    press_code(page, "Digit0", AZERTY["Digit0"])  # "à": off-topic
    page.wait_for_selector(f'#item-{first} button[data-key="0"][aria-pressed="true"]')
    page.keyboard.press("1")  # QWERTY's "1" still toggles topic 1
    page.wait_for_selector(f'#item-{first} button[data-key="1"][aria-pressed="true"]')
    # Pin, then exclude: the exclusion takes the pin off; pin again: the exclusion goes.
    page.keyboard.press("p")
    page.wait_for_selector(f'#item-{first} button[data-key="p"][aria-pressed="true"]')
    page.keyboard.press("x")
    page.wait_for_selector(f'#item-{first} button[data-key="x"][aria-pressed="true"]')
    assert _pressed(page, first, "p") == "false"
    page.keyboard.press("p")
    page.wait_for_selector(f'#item-{first} button[data-key="p"][aria-pressed="true"]')
    assert _pressed(page, first, "x") == "false"
    with session_scope(served.app.state.engine) as s:
        item = s.get(Item, int(first))
        assert item.curator_labels == ["social_innovation"] or "social_innovation" in (
            item.curator_labels or []
        )
        assert (item.pinned, item.excluded) == (True, False)
    # The item's history says it in words.
    page.goto(f"{served.base}/review/items/{first}")
    history = page.locator("ul.history").inner_text()
    assert "ana l’a épinglé dans la lettre" in history
    assert "ana l’a exclu de la lettre" in history
    assert "ana l’a classé hors sujet" in history
    assert "labels" not in history and " pin" not in history
    assert errors == []
    page.close()


def test_every_curator_page_fits_a_phone_and_is_shot(browser, site) -> None:  # noqa: ANN001, F811
    served, seeded = site
    engine = served.app.state.engine
    for i in range(12):  # a preview long enough to scroll, and titles with French punctuation
        add_item(
            engine,
            seeded.sources["bruded"],
            f"long{i}",
            title=f"Habitat participatif n°{i} : 9 000 m² partagés ? « Oui » dit l'association",
            summary="Une coopérative d'habitants ; quinze logements et 2 300 m² de jardins !",
            scores={"social_innovation": 0.8, "collaborative_consumption": 0.6},
            seen=utcnow() - timedelta(minutes=30 + i),
        )
    with session_scope(engine) as s:  # a search shows it, marked as reviewed
        reviews.apply_action(
            s, item_id=seeded.items["repair"], action="accept", user="ana", now=utcnow()
        )
    SHOTS.mkdir(parents=True, exist_ok=True)
    shots = []
    for size, viewport in (("375", PHONE), ("1280", DESKTOP)):
        context = browser.new_context(viewport=viewport)
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda exc, seen=errors: seen.append(str(exc)))
        page.goto(f"{served.base}/review")
        page.fill("#name", "root")
        page.fill("#password", "un mot de passe")
        page.press("#password", "Enter")
        page.wait_for_url(f"{served.base}/review")
        for name, path in PAGES.items():
            page.goto(served.base + path.format(budget=seeded.items["budget"]))
            page.wait_for_load_state("networkidle")
            width = page.evaluate("document.scrollingElement.scrollWidth")
            if size == "375":
                assert width <= 375, (name, width)
            if name == "search":
                card = page.locator(f"#item-{seeded.items['repair']}")
                assert "déjà relu" in card.locator("h2").inner_text()
            shot = SHOTS / f"fr-{name}-{size}.png"
            page.screenshot(path=str(shot), full_page=True)
            shots.append(shot)
            if name == "model":  # the folded figures, opened
                page.locator("details.numbers summary").click()
                assert page.evaluate("document.scrollingElement.scrollWidth") <= viewport["width"]
                shot = SHOTS / f"fr-model-figures-{size}.png"
                page.locator("details.numbers").screenshot(path=str(shot))
                shots.append(shot)
        # The preview keeps the email in view beside a long list on a wide screen.
        page.goto(f"{served.base}/digest/preview")
        for where in ("document.body.scrollHeight / 2", "document.body.scrollHeight"):
            page.evaluate(f"window.scrollTo(0, {where})")
            box = page.locator(".email iframe").bounding_box()
            if size == "1280":  # the whole frame is on screen wherever the list is scrolled
                assert box is not None and box["y"] >= 0, (where, box)
                assert box["y"] + box["height"] <= viewport["height"], (where, box)
        shot = SHOTS / f"fr-preview-scrolled-{size}.png"
        page.screenshot(path=str(shot))
        shots.append(shot)
        assert errors == [], errors
        context.close()
    assert all(p.stat().st_size > 0 for p in shots)
    with session_scope(engine) as s:
        assert s.get(Item, seeded.items["budget"]) is not None
