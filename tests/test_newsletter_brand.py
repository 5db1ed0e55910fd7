"""Branding settings: a bad logo or colour is one clear line; the brand reaches every output;
the archive's stylesheet is a file the served pages link (the CSP refuses inline styles)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tests.fixtures.digest.seed import seed_items
from tests.newsletter_helpers import NOW, branded, png
from veille import publish
from veille.digest import issue as issues
from veille.errors import ConfigError
from veille.settings import LOGO_MAX_BYTES, Settings, load_settings
from veille.web.app import create_app


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        (
            "logo.png",
            b"<svg xmlns='http://www.w3.org/2000/svg'/>",
            "is not a PNG, JPEG, GIF or WebP",
        ),
        ("logo.png", png()[:16] + b"\0" * (LOGO_MAX_BYTES + 1), "make it at most 200 kB"),
        ("missing.png", None, "cannot read the logo file"),
    ],
)
def test_a_bad_logo_is_one_clear_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str, content: bytes | None, message: str
) -> None:
    path = tmp_path / name
    if content is not None:
        path.write_bytes(content)
    monkeypatch.setenv("VEILLE_LOGO", str(path))
    with pytest.raises(ConfigError) as err:
        load_settings(_env_file=None)
    text = str(err.value)
    assert text.startswith("VEILLE_LOGO=") and message in text and "\n" not in text


@pytest.mark.parametrize("colour", ["blue", "#12345", "#ggg", "rgb(1,2,3)", "#1234567"])
def test_a_colour_that_is_not_a_colour_is_refused(
    monkeypatch: pytest.MonkeyPatch, colour: str
) -> None:
    monkeypatch.setenv("VEILLE_ACCENT_COLOR", colour)
    with pytest.raises(ConfigError, match=r"^VEILLE_ACCENT_COLOR=.*: not a colour"):
        load_settings(_env_file=None)


def test_weekly_day_in_french_or_english(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VEILLE_WEEKLY_DAY", "Jeudi")
    assert load_settings(_env_file=None).weekly_weekday == 3
    monkeypatch.setenv("VEILLE_WEEKLY_DAY", "someday")
    with pytest.raises(ConfigError, match="VEILLE_WEEKLY_DAY"):
        load_settings(_env_file=None)


def test_served_archive_links_its_stylesheet_logo_and_subscribe_box(
    settings: Settings, tmp_path: Path
) -> None:
    mine = branded(settings, tmp_path)
    app = create_app(mine)
    seed_items(app.state.engine, NOW)
    issues.run(app.state.engine, settings=mine, now=NOW, deliver=False)
    publish.publish_all(app.state.engine, settings=mine, now=NOW)  # the archive
    with TestClient(app) as client:
        for path in ("index.html", "2026-11-25.html", "topics/social_innovation.html"):
            page = client.get(f"/digests/{path}")
            assert page.status_code == 200, path
            html = page.text
            assert "<style" not in html and " style=" not in html, path  # the CSP refuses them
            up = "../" if "/" in path else ""
            assert f'<link rel="stylesheet" href="{up}digest.css">' in html
            assert f'src="{up}logo.png"' in html
            assert 'action="http://testserver/subscribe"' in html
            assert "La Lettre des Communs" in html and "Association Les Communs" in html
        css = client.get("/digests/digest.css")
        assert css.headers["content-type"].startswith("text/css") and "#1e6e50" in css.text
        assert client.get("/digests/logo.png").content == png()
        feed = client.get("/digests/feeds/all.atom").text
        assert "La Lettre des Communs" in re.search(r"<title>[^<]*</title>", feed).group(0)
        assert client.get("/digests/weekly/index.html").status_code == 200
        assert "hors sujet" in client.get("/digests/2026-11-25.html").text


def test_neutral_defaults_are_french(settings: Settings) -> None:
    app = create_app(settings)
    issues.run(app.state.engine, settings=settings, now=NOW, deliver=False)
    publish.publish_all(app.state.engine, settings=settings, now=NOW)  # the archive
    seed_items(app.state.engine, NOW)
    with TestClient(app) as client:
        form = client.get("/subscribe")
        assert "Veille" in form.text and "Chaque jour" in form.text


def test_a_logo_removed_after_start_does_not_stop_the_issue(
    settings: Settings, tmp_path: Path
) -> None:
    from veille.digest import brand

    mine = branded(settings, tmp_path)
    assert brand.from_settings(mine).logo is not None
    mine.logo.unlink()
    assert brand.from_settings(mine).logo is None  # a warning, and the email without it
