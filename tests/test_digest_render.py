"""Rendering: French by default, English on request, a capped email, inlined CSS, full catalog."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import lxml.html
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from veille.digest import render
from veille.digest.entry import Entry
from veille.digest.select import Plan

NOW = datetime(2026, 11, 25, 6, 0, tzinfo=UTC)
LINKS = render.Links("https://veille.example.org")
UNSUB = "https://veille.example.org/unsubscribe/TOKEN"
PACKAGE = Path(__file__).resolve().parents[1] / "veille"


def make_plan(n_si: int = 3) -> Plan:
    entries = [
        Entry(
            item_id=i,
            title=f"Épicerie solidaire n°{i}",
            url=f"https://news.example.org/{i}",
            source=f"Source {i}",
            date=NOW - timedelta(hours=i),
            updated=NOW,
            summary=f"Résumé {i}.",
            topics=("social_innovation",),
            scores={"social_innovation": 0.9 - i / 100},
        )
        for i in range(1, n_si + 1)
    ]
    entries.append(
        Entry(
            item_id=50,
            title="Cartopartie à Lyon",
            url="https://osm.example.org/lyon",
            source="OSM France",
            date=NOW - timedelta(hours=30),
            updated=NOW,
            summary="Cartes.",
            topics=("social_innovation", "open_collaboration"),
            scores={"social_innovation": 0.5, "open_collaboration": 0.95},
            also=("Rue89", "Le Monde"),
            image="https://osm.example.org/lyon.jpg",
        )
    )
    return Plan(
        day=date(2026, 11, 25),
        period_start=NOW - timedelta(days=1),
        period_end=NOW,
        entries=tuple(entries),
    )


def test_french_email_by_default() -> None:
    mail = render.render_email(make_plan(), lang="fr", links=LINKS, unsubscribe_url=UNSUB)
    assert mail.subject == "Veille du 25 novembre 2026\u00a0: 4 articles"
    doc = lxml.html.fromstring(mail.html)
    assert doc.get("lang") == "fr"
    assert [h.text_content() for h in doc.cssselect("h2.topic")] == [
        "Innovation sociale",
        "Collaboration ouverte",
    ]
    assert doc.cssselect("h1")[0].text_content() == "Mercredi 25 novembre 2026"
    carto = next(a for a in doc.cssselect("p.title a") if "Cartopartie" in a.text_content())
    assert carto.get("href") == "https://osm.example.org/lyon"
    meta = carto.getparent().getnext().text_content()
    assert "OSM France · 24 nov. 2026" in meta and "Aussi chez Rue89, Le Monde" in meta
    chips = [c.text_content() for c in doc.cssselect("span.chip")]
    assert chips == ["Innovation sociale"]  # the other topic of the Cartopartie entry
    # No remote picture in an email: it would tell the publisher who opens it, and when.
    assert doc.cssselect("img") == [] and "lyon.jpg" not in mail.html
    assert UNSUB in [a.get("href") for a in doc.cssselect("a")]
    assert "Se désabonner" in mail.html and "4 articles sur les thèmes que vous suivez" in mail.html
    assert "Lire sur le web\u00a0: https://veille.example.org/digests/2026-11-25.html" in mail.text
    assert "Aussi dans\u00a0: Innovation sociale" in mail.text


def test_english_for_readers_who_chose_it() -> None:
    mail = render.render_email(
        make_plan(), lang="en", links=LINKS, unsubscribe_url=UNSUB, topics=("open_collaboration",)
    )
    assert mail.subject == "Veille of 25 November 2026: 1 story"
    assert "Wednesday, 25 November 2026" in mail.html and "Open collaboration" in mail.html
    assert "Social innovation" in mail.html  # as a chip only
    assert "Épicerie" not in mail.html and "Épicerie" not in mail.text
    assert "Also covered by Rue89, Le Monde" in mail.text and "Unsubscribe: " + UNSUB in mail.text


def test_the_cap_sends_readers_to_the_web_for_the_rest() -> None:
    mail = render.render_email(make_plan(5), lang="fr", links=LINKS, unsubscribe_url=UNSUB, cap=2)
    doc = lxml.html.fromstring(mail.html)
    titles = [a.text_content() for a in doc.cssselect("p.title a")]
    assert titles == ["Épicerie solidaire n°1", "Épicerie solidaire n°2", "Cartopartie à Lyon"]
    more = doc.cssselect("td.more a")
    assert len(more) == 1 and more[0].text_content().startswith("3 autres sur le web")
    assert more[0].get("href") == LINKS.section("2026-11-25", "social_innovation")
    assert "3 autres sur le web\u00a0: https://" in mail.text
    assert mail.subject.endswith("6 articles")  # the count is the issue's, not the cap's


def test_email_html_is_self_contained_with_inlined_css() -> None:
    html = render.render_email(make_plan(), lang="fr", links=LINKS, unsubscribe_url=UNSUB).html
    doc = lxml.html.fromstring(html)
    assert not doc.cssselect("link") and not doc.cssselect("script") and "@import" not in html
    assert doc.cssselect("[src]") == []  # nothing remote is loaded when the mail is opened
    entry = doc.cssselect("td.entry")[0]
    assert "padding: 14px 32px 16px" in entry.get("style")  # inlined from the stylesheet
    kept = doc.cssselect("style")[0].text
    assert "prefers-color-scheme: dark" in kept and "max-width: 620px" in kept
    assert kept.strip().startswith("@media") and "body {" not in kept  # only at-rules stay
    assert doc.cssselect('meta[name="color-scheme"]')[0].get("content") == "light dark"


def test_archive_page_shows_every_entry_with_anchors() -> None:
    html = render.render_issue_page(make_plan(12), lang="fr", links=LINKS, previous="2026-11-24")
    doc = lxml.html.fromstring(html)
    assert len(doc.cssselect("article.entry")) == 13  # no cap on the web
    assert doc.cssselect("#item-50") and doc.cssselect("#topic-social_innovation")
    assert doc.cssselect('a[href="2026-11-24.html"]')
    assert not doc.cssselect("script")


def test_confirmation_email_in_both_languages() -> None:
    url = "https://veille.example.org/subscribe/confirm/abc"
    fr = render.render_confirmation(
        email="ana@example.org", lang="fr", confirm_url=url, links=LINKS
    )
    assert fr.subject == "Confirmez votre abonnement à la veille"
    assert url in fr.text and f'href="{url}"' in fr.html and "ana@example.org" in fr.text
    en = render.render_confirmation(
        email="ana@example.org", lang="en", confirm_url=url, links=LINKS
    )
    assert en.subject == "Confirm your subscription to the veille" and "seven days" in en.text


def test_every_string_of_the_digest_has_a_french_translation() -> None:
    method_map = [
        ("digest/templates/**.html", "jinja2"),
        ("digest/templates/**.txt", "jinja2"),
        ("digest/**.py", "python"),
        ("publish/**.py", "python"),
    ]
    options = {pattern: {"extensions": "jinja2.ext.i18n"} for pattern, _ in method_map[:2]}
    keywords = {"_": None, "gettext": None, "ngettext": (1, 2), "_t": (2,)}
    found = set()
    for _file, _line, message, _comments, _ctx in extract_from_dir(
        PACKAGE, method_map, options, keywords=keywords
    ):
        found.add(message[0] if isinstance(message, tuple) else message)
    with (PACKAGE / "locale" / "fr" / "digest.po").open("rb") as f:
        catalog = read_po(f, locale="fr")
    translated = {
        m.id[0] if isinstance(m.id, tuple) else m.id for m in catalog if m.id and m.string
    }
    assert len(found) > 30
    assert sorted(found - translated) == []
    placeholders = re.compile(r"%\(\w+\)s")
    for m in catalog:
        if m.id:
            ids = m.id if isinstance(m.id, tuple) else (m.id,)
            strings = m.string if isinstance(m.string, tuple) else (m.string,)
            for s in strings:
                assert set(placeholders.findall(s)) == set(placeholders.findall(ids[0])), m.id
