"""A reader in Debian's Chromium against the served app (its real Content-Security-Policy):
the archive styled by its stylesheet file, its subscribe box, confirm from the .eml, weekly in
the preferences, "hors sujet ?", and the report first in the curator's queue.

Screenshots (email at 600 and 375 px, light and dark; archive; preferences) go to
/tmp/veille-shots/newsletter-*.png, outside the repository.
"""

from __future__ import annotations

import base64
import re
from datetime import timedelta
from pathlib import Path

import pytest

from tests.e2e.seed import PASSWORD, add_user, use_light_hashing
from tests.e2e.test_browser import Served, _port
from tests.fixtures.digest.seed import seed_items
from tests.newsletter_helpers import NOW, branded, html_of, outbox, png, text_of
from veille import publish
from veille.digest import issue as issues
from veille.settings import Settings
from veille.web.app import create_app

pytestmark = pytest.mark.browser
SHOTS = Path("/tmp/veille-shots")


def test_a_reader_subscribes_goes_weekly_and_reports_an_entry(
    browser,  # noqa: ANN001
    settings: Settings,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    use_light_hashing(monkeypatch)
    port = _port()
    mine = branded(settings, tmp_path, base_url=f"http://127.0.0.1:{port}")
    app = create_app(mine)
    engine = app.state.engine
    ids = seed_items(engine, NOW)
    add_user(engine, "ana")
    issues.run(engine, settings=mine, now=NOW)  # the archive exists; nobody to send to yet
    publish.publish_all(engine, settings=mine, now=NOW)  # the archive
    SHOTS.mkdir(exist_ok=True)
    blocked: list[str] = []
    with Served(app, port) as served:
        base = served.base
        page = browser.new_page(viewport={"width": 1100, "height": 900})
        page.on("console", lambda m: blocked.append(m.text) if m.type == "error" else None)

        # The archive, styled by digest.css under the app's CSP; its subscribe box.
        page.goto(f"{base}/digests/2026-11-25.html")
        assert page.locator(".nav a").first.evaluate("e => getComputedStyle(e).display") == (
            "inline-block"
        )
        assert page.locator("img.logo").evaluate("e => e.naturalWidth") == 120
        page.screenshot(path=str(SHOTS / "newsletter-archive.png"), full_page=True)
        page.set_viewport_size({"width": 375, "height": 800})
        page.screenshot(path=str(SHOTS / "newsletter-archive-375.png"), full_page=True)
        page.fill("#subscribe-email", "lea@exemple.org")
        page.click(".subscribe-box button")
        page.wait_for_url(re.compile(r".*/subscribe\?email=.*"))
        assert page.input_value("#email") == "lea@exemple.org"
        page.check("input[name=frequency][value=daily]")
        page.click("form[action='/subscribe'] button[type=submit]")
        page.wait_for_load_state()
        assert "Vérifiez" in page.content() or "boîte" in page.content()

        (confirmation,) = outbox(mine)
        confirm = re.search(r"http://127\.0\.0\.1:\d+/subscribe/confirm/\S+", text_of(confirmation))
        assert confirm
        page.goto(confirm.group(0))
        assert "confirmé" in page.content()

        # The day's issue reaches the new subscriber; look at it as a mail client would.
        issues.run(engine, settings=mine, now=NOW)
        publish.publish_all(engine, settings=mine, now=NOW)  # the archive
        (daily,) = outbox(mine, "2026-11-25/*.eml")
        html = html_of(daily)
        logo = "data:image/png;base64," + base64.b64encode(png()).decode()
        email_page = browser.new_page()
        for width in (600, 375):
            for scheme in ("light", "dark"):
                email_page.set_viewport_size({"width": width, "height": 900})
                email_page.emulate_media(color_scheme=scheme)
                email_page.set_content(html.replace("cid:logo@veille", logo))
                email_page.screenshot(
                    path=str(SHOTS / f"newsletter-email-{width}-{scheme}.png"), full_page=True
                )
        overflow = email_page.evaluate("document.documentElement.scrollWidth")
        assert overflow <= 375, "the email is wider than a phone"
        email_page.close()

        # Preferences from the email: weekly.
        preferences = re.search(r'href="([^"]+/preferences/[^"]+)"', html)
        assert preferences
        page.set_viewport_size({"width": 1000, "height": 900})
        page.goto(preferences.group(1).replace("&amp;", "&"))
        assert "lea@exemple.org" in page.content()
        page.check("input[name=frequency][value=weekly]")
        page.screenshot(path=str(SHOTS / "newsletter-preferences.png"), full_page=True)
        page.click("form[action^='/preferences/'] button[type=submit]")
        page.wait_for_load_state()
        assert "enregistrées" in page.content()

        # "hors sujet ?" on the budget entry: the link asks, the button reports.
        report = re.search(r'budget-participatif[\s\S]*?href="([^"]+/feedback/[^"]+)"', html)
        assert report
        page.goto(report.group(1))
        assert "Merci" not in page.content()
        page.click("text=Signaler comme hors sujet")
        assert "Merci" in page.content()

        # Thursday: only the weekly issue goes to Léa.
        issues.run(engine, settings=mine, now=NOW + timedelta(days=1))
        publish.publish_all(engine, settings=mine, now=NOW + timedelta(days=1))  # the archive
        assert outbox(mine, "2026-11-26/*.eml") == []
        assert len(outbox(mine, "weekly-2026-11-26/*.eml")) == 1

        # The curator sees the report first.
        page.goto(f"{base}/login?next=/review")
        page.fill("#name", "ana")
        page.fill("#password", PASSWORD)
        page.press("#password", "Enter")
        page.wait_for_url(f"{base}/review")
        first = page.locator("article.card").first
        assert first.get_attribute("data-id") == str(ids["budget"])
        assert "signalé hors sujet par 1 lecteur" in first.inner_text()
    assert not [m for m in blocked if "Content Security Policy" in m], blocked
