"""The digest preview in a real headless Chromium: exclude an entry, reload, it is gone from
the page and from the email shown in its frame; screenshots at desktop and phone widths go to
/tmp/veille-shots."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.e2e.seed import add_item
from tests.e2e.test_browser import SHOTS, SIZES, _login, site  # noqa: F401 (fixtures)
from veille.store import session_scope, utcnow
from veille.store.models import Item

pytestmark = pytest.mark.browser
GONE = "Une grainothèque à Niort"


def test_exclude_an_entry_and_see_it_gone(browser, site) -> None:  # noqa: ANN001, F811
    served, seeded = site
    engine = served.app.state.engine
    gone = add_item(
        engine,
        seeded.sources["bruded"],
        "seeds",
        title=GONE,
        summary="Des graines à partager entre voisins.",
        scores={
            "social_innovation": 0.1,
            "collaborative_consumption": 0.9,
            "open_collaboration": 0.1,
        },
        seen=utcnow() - timedelta(hours=3),
    )
    SHOTS.mkdir(exist_ok=True)
    page = browser.new_page(viewport=SIZES["desktop"])
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    _login(page, served.base)
    page.goto(f"{served.base}/digest/preview")
    frame = page.frame_locator(".email iframe")
    frame.locator("a", has_text=GONE).first.wait_for()
    assert page.locator(f"#entry-{gone}").count() == 1
    for size, viewport in [*SIZES.items(), ("desktop", SIZES["desktop"])]:
        page.set_viewport_size(viewport)
        page.reload()  # the frame lays the email out again at this width
        page.evaluate("document.querySelector('details.email').open = true")  # folded on a phone
        page.frame_locator(".email iframe").locator("a", has_text=GONE).first.wait_for()
        page.screenshot(path=str(SHOTS / f"preview-{size}.png"), full_page=True)
        # A page shot leaves a sandboxed frame below the fold blank; the frame's own shows it.
        page.locator(".email iframe").screenshot(path=str(SHOTS / f"preview-{size}-email.png"))
    page.locator(f"#entry-{gone} button", has_text="Exclure").click()
    # Saved in the background: the entry moves to the excluded list, no page load.
    page.wait_for_selector(f"#excluded-{gone}")
    assert page.url == f"{served.base}/digest/preview"
    page.reload()
    frame = page.frame_locator(".email iframe")
    frame.locator("a", has_text="Un repair café ouvre à Melle").first.wait_for()
    assert frame.get_by_text(GONE).count() == 0  # not even in the hidden preheader
    assert page.locator(f"#entry-{gone}").count() == 0
    with session_scope(engine) as s:
        assert s.get(Item, gone).excluded is True
    assert errors == []
    page.close()
