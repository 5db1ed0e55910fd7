"""The email and the archive page in a real headless Chromium: phone and desktop, light and dark.

Screenshots go to $VEILLE_SHOTS (default /tmp/veille-shots/digest), outside the repository, to be
looked at; the assertions check what the eye would: nothing wider than the screen, a single
column of at most 600 px on a desktop, a dark background in dark mode, and no script from a
hostile entry ever running.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.fixtures.digest.seed import seed_items
from tests.test_digest_hostile import seed_hostile, vectors
from veille.digest import issue as issues
from veille.publish import publish
from veille.store import session_scope

pytestmark = pytest.mark.browser
NOW = datetime(2026, 11, 25, 6, 0, tzinfo=UTC)
SHOTS = Path(os.environ.get("VEILLE_SHOTS", "/tmp/veille-shots/digest"))


def open_page(browser, path: Path, width: int, scheme: str = "light"):  # noqa: ANN001, ANN201
    page = browser.new_page(viewport={"width": width, "height": 900}, color_scheme=scheme)
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    # Nothing but the file itself: an email must be readable with remote content blocked.
    page.route("**/*", lambda r: r.continue_() if r.request.url.startswith("file:") else r.abort())
    page.goto(path.as_uri())
    page.wait_for_timeout(100)
    page.dialogs = dialogs
    return page


def email_and_archive(engine, settings, tmp_path: Path) -> tuple[Path, Path]:  # noqa: ANN001
    """Build the issue, write its email as a file and publish the archive next to it."""
    issue = issues.build(engine, settings=settings, now=NOW)
    email_file = tmp_path / "email.fr.html"
    email_file.write_text(issues.preview(issue, settings=settings).html, encoding="utf-8")
    folder = tmp_path / "digests"
    with session_scope(engine) as s:
        publish(
            s,
            folder=folder,
            base_url="https://veille.example.org",
            lang="fr",
            tz="Europe/Paris",
            now=NOW,
        )
    return email_file, folder


def test_email_and_archive_look_right_on_phone_and_desktop(  # noqa: ANN001
    browser, sqlite_engine, settings, tmp_path
) -> None:
    seed_items(sqlite_engine, NOW)
    email_file, folder = email_and_archive(sqlite_engine, settings, tmp_path)
    SHOTS.mkdir(parents=True, exist_ok=True)
    views = [
        (name, path, width, scheme)
        for name, path in (("email", email_file), ("archive", folder / "2026-11-25.html"))
        for width, scheme in ((375, "light"), (1280, "light"), (375, "dark"))
    ]
    for name, path, width, scheme in [*views, ("index", folder / "index.html", 375, "light")]:
        page = open_page(browser, path, width, scheme)
        page.screenshot(path=str(SHOTS / f"{name}-{width}-{scheme}.png"), full_page=True)
        scroll = page.evaluate("document.documentElement.scrollWidth")
        assert scroll <= width, f"{name} at {width}px scrolls sideways ({scroll}px)"
        column = page.evaluate("document.querySelector('.col').getBoundingClientRect().width")
        assert column <= (600 if name == "email" else 720) and column >= min(width, 600) - 20
        background = page.evaluate(
            "getComputedStyle(document.querySelector('.col')).backgroundColor"
        )
        dark = scheme == "dark"
        assert (background == "rgb(26, 31, 36)") == dark, (name, scheme, background)
        if name != "index":
            size = page.evaluate(
                "parseFloat(getComputedStyle(document.querySelector('.summary')).fontSize)"
            )
            assert size >= 15  # readable on a phone without zooming
        page.close()


def test_hostile_entries_run_no_script_in_a_browser(  # noqa: ANN001
    browser, sqlite_engine, settings, tmp_path
) -> None:
    seed_hostile(sqlite_engine, vectors()[::3])  # a third of them: the rest is as in lxml
    wide = settings.model_copy(update={"digest_cap": 1000})  # every entry in the email
    email_file, folder = email_and_archive(sqlite_engine, wide, tmp_path)
    for path in (
        email_file,
        folder / "2026-11-25.html",
        folder / "topics" / "open_collaboration.html",
    ):
        page = open_page(browser, path, 1280)
        page.mouse.move(200, 200)
        page.mouse.wheel(0, 5000)
        page.wait_for_timeout(300)
        assert page.dialogs == [], f"{path.name}: script ran: {page.dialogs[:3]}"
        assert page.evaluate("document.scripts.length") == 0
        assert page.evaluate("document.querySelectorAll('.entry').length") > 50
        page.close()
