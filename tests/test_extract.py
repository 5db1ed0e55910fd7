"""extract_item: the page's article when it is one, else the feed's text, and why."""

from __future__ import annotations

import json
import pickle
import signal
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import pytest
from lxml import html as lxml_html

from tests.conftest import shared_path
from veille.extract import extract_item
from veille.extract.item import MAX_HTML_BYTES, time_limit
from veille.extract.sanitize import TAGS

FIXTURES = Path(__file__).parent / "fixtures" / "extract"
FEED_CONTENT = (
    "<p>Douze familles ont posé mardi la première pierre de leur immeuble en habitat "
    "participatif, conçu pendant quatre ans avec un architecte et un bailleur social.</p>"
    "<p>Le bâtiment comptera une salle commune et un jardin partagé ouverts au quartier."
    "<script>alert(1)</script></p>"
)
FEED_SUMMARY = "Douze familles construisent ensemble leur immeuble à Villeneuve-d'Ascq."


def page(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def run(name: str, **kwargs: object):
    kwargs.setdefault("url", f"https://news.example.org/{name}")
    return extract_item(page(name), **kwargs)  # type: ignore[arg-type]


def test_article_text_metadata_summary_and_language() -> None:
    ext = run("article.html", feed_summary=FEED_SUMMARY)
    assert (ext.kind, ext.reason, ext.lang) == ("article", "ok", "fr")
    assert "640 adhérents" in ext.text and "six jours sur sept" in ext.text
    # navigation, cookie banner, related links, comments and footer are not the article
    for chrome in ("Petites annonces", "Accepter", "Plérin : le marché", "Bravo aux", "©"):
        assert chrome not in ext.text
    assert ext.title and ext.title.startswith("Saint-Brieuc : l'épicerie associative")
    assert ext.author == "Nolwenn Le Bihan"
    assert ext.site_name == "Le Petit Veilleur"
    assert ext.image == "https://example.org/images/cagette.jpg"
    assert ext.summary.startswith("Il y a deux ans, le dernier commerce")
    assert 100 < len(ext.summary) <= 400 and ext.summary.endswith(".")


def test_english_article() -> None:
    ext = run("article_en.html")
    assert (ext.kind, ext.lang) == ("article", "en")
    assert "£4.50 a week" in ext.text


def test_latin1_page_is_decoded_by_its_meta_charset() -> None:
    ext = run("latin1.html")
    assert ext.kind == "article"
    assert "Réunis en coopérative" in ext.text and "Hélène Thiry" in ext.text
    assert "\ufffd" not in ext.text and "Ã" not in ext.text


def test_http_charset_wins_over_a_wrong_meta() -> None:
    body = page("latin1.html").replace(b"iso-8859-1", b"utf-8")
    assert "Hélène" in extract_item(body, url="https://x.org/a", http_charset="latin-1").text


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("challenge.html", "challenge"),
        ("cookie_wall.html", "cookie_wall"),
        ("login.html", "login_page"),
        ("paywall.html", "paywall"),
        ("index.html", "index_page"),
        ("binary.html", "binary"),
        ("nested.html", "no_text"),
    ],
)
def test_not_an_article_falls_back_to_feed_content_then_summary(name: str, reason: str) -> None:
    with_content = run(name, feed_content=FEED_CONTENT, feed_summary=FEED_SUMMARY)
    assert (with_content.kind, with_content.reason) == ("feed_content", reason)
    assert with_content.text.startswith("Douze familles ont posé mardi")
    assert "alert" not in with_content.text and "<script" not in with_content.html_excerpt
    assert with_content.lang == "fr"

    summary_only = run(name, feed_summary=FEED_SUMMARY)
    assert (summary_only.kind, summary_only.reason) == ("summary", reason)
    assert summary_only.text == FEED_SUMMARY
    assert summary_only.html_excerpt == f"<p>{FEED_SUMMARY}</p>"


def test_hard_verdict_without_feed_text_keeps_nothing_from_the_page() -> None:
    ext = run("challenge.html")
    assert (ext.kind, ext.reason, ext.text, ext.title) == ("summary", "challenge", "", None)


def test_soft_verdict_without_feed_text_keeps_the_article_text() -> None:
    ext = run("paywall.html")
    assert (ext.kind, ext.reason) == ("article", "paywall; no_feed_text")
    assert "Douze familles ont posé mardi la première pierre" in ext.text


def test_text_far_shorter_than_the_feed_falls_back() -> None:
    long_feed = "<p>" + "Le projet d'habitat participatif avance. " * 60 + "</p>"
    ext = run("article_en.html", feed_content=long_feed)
    assert (ext.kind, ext.reason) == ("feed_content", "shorter_than_feed")


def test_fetch_failure_records_the_error() -> None:
    ext = extract_item(
        None, url="https://x.org/a", feed_summary=FEED_SUMMARY, fetch_error="timeout after 20 s"
    )
    assert (ext.kind, ext.reason, ext.text) == (
        "summary",
        "fetch_failed: timeout after 20 s",
        FEED_SUMMARY,
    )


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"", "no_text"),
        (b"   \n\t ", "no_text"),
        (b"\x1f\x8b\x08\x00" + b"\x00" * 100, "binary"),  # a gzip body
        (b"%PDF-1.7\n" + b"x" * 500, "binary"),
        (b"<html><body>" + b"\x00\x01\x02" * 300, "binary"),
        (b"<html>" + b"a" * (MAX_HTML_BYTES + 1), "too_large"),
        (b"\xff\xfe<\x00h\x00t\x00m\x00l\x00>\x00", "not_html"),  # UTF-16, empty
    ],
)
def test_bad_input_never_crashes_and_keeps_the_feed_text(body: bytes, reason: str) -> None:
    ext = extract_item(body, url="https://x.org/a", feed_summary=FEED_SUMMARY)
    assert (ext.kind, ext.reason, ext.text) == ("summary", reason, FEED_SUMMARY)


def test_undeclared_latin1_with_stray_bytes_is_read_not_garbled() -> None:
    para = "<p>L'été dernier, l'équipe a réparé 300 vélos \x81 pour l'école du quartier.</p>"
    body = ("<html><body><article>" + para * 8 + "</article></body></html>").encode(
        "cp1252", "replace"
    )
    body = body.replace(b"?", b"\x81")  # a byte no code page defines
    ext = extract_item(body, url="https://x.org/a")
    assert ext.kind == "article" and "L'été dernier, l'équipe a réparé 300 vélos" in ext.text


def test_a_slow_page_is_cut_off_by_the_time_limit() -> None:
    big = page("article.html").replace(
        b"</article>", b"<p>" + b"Encore du texte. " * 60000 + b"</p></article>"
    )
    start = time.monotonic()
    ext = extract_item(big, url="https://x.org/a", feed_summary=FEED_SUMMARY, time_limit_s=0.01)
    assert time.monotonic() - start < 2
    assert (ext.kind, ext.reason) == ("summary", "timeout")


def test_time_limit_puts_back_an_outer_alarm() -> None:
    fired: list[int] = []
    previous = signal.signal(signal.SIGALRM, lambda *_: fired.append(1))
    try:
        signal.setitimer(signal.ITIMER_REAL, 0.3)
        with time_limit(5):
            pass
        assert 0 < signal.getitimer(signal.ITIMER_REAL)[0] <= 0.3
        time.sleep(0.4)
        assert fired == [1]
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def test_excerpt_is_sanitised_html_of_the_article() -> None:
    hostile = page("article.html").replace(
        b"</article>",
        b'<p>Fin <a href="javascript:alert(1)" onmouseover="x()">lien</a> '
        b'<img src="http://evil.example/p.gif" onerror="x()"><iframe src="http://evil.example">'
        b'</iframe><a href="/suite">suite</a></p></article>',
    )
    ext = extract_item(hostile, url="https://news.example.org/a")
    assert_clean_excerpt(ext.html_excerpt)
    assert "<p>" in ext.html_excerpt


def assert_clean_excerpt(excerpt: str) -> None:
    if not excerpt:
        return
    root = lxml_html.fragment_fromstring(excerpt, create_parent="div")
    for el in root.iter():
        assert el.tag == "div" or el.tag in TAGS
        assert set(el.attrib) <= {"href", "title", "rel"}
        if "href" in el.attrib:
            assert el.attrib["href"].startswith(("http://", "https://"))
            assert el.attrib["rel"] == "noopener nofollow ugc"
    assert len(root.text_content()) <= 2 * 1500


def test_extraction_pickles_and_runs_in_a_process_pool() -> None:
    here = run("article.html")
    with ProcessPoolExecutor(1) as pool:
        there = pool.submit(
            extract_item, page("article.html"), url="https://news.example.org/article.html"
        ).result(timeout=60)
    assert there == here
    assert pickle.loads(pickle.dumps(here)) == here


def test_real_articles_are_not_flagged() -> None:
    """Every page of trafilatura's evaluation set is an article: no quality rule may fire."""
    corpus = shared_path("corpora", "extraction-eval")
    entries = json.loads((corpus / "evaldata.subset.json").read_text())
    flagged = []
    for url, entry in sorted(entries.items())[::8]:  # 25 pages keep this test quick
        body = (corpus / entry["dir"] / entry["file"]).read_bytes()
        ext = extract_item(body, url=url, feed_summary="A one-line teaser.")
        if ext.kind != "article":
            flagged.append((url, ext.reason))
    assert flagged == []


def test_hostile_xml_pages_read_nothing_they_point_at() -> None:
    """Entity bombs, XXE, XInclude, deep nesting, a gzip bomb: quick, safe, feed text kept."""
    folder = shared_path("corpora", "hostile", "xml")
    files = sorted(p for p in folder.rglob("*") if p.is_file())
    assert len(files) > 20
    extract_item(b"<html><body><p>warm up</p></body></html>", url="https://x.org/")
    for path in files:
        start = time.monotonic()
        ext = extract_item(path.read_bytes(), url="https://x.org/a", feed_summary=FEED_SUMMARY)
        assert time.monotonic() - start < 5, path.name
        assert "root:" not in ext.text and "lol" * 10 not in ext.text, path.name
        assert_clean_excerpt(ext.html_excerpt)


def test_a_short_brief_under_a_header_login_box_is_still_an_article() -> None:
    brief = (
        '<html lang="fr"><head><title>Vitré : la fête du jeu samedi</title></head><body>'
        '<header><form><input type="text" name="u"><input type="password" name="p">'
        "<button>OK</button></form></header><article><h1>Vitré : la fête du jeu samedi</h1>"
        "<p>La ludothèque associative organise samedi sa fête du jeu place du Château, de 14 h "
        "à 19 h. Jeux en bois, tournois et jeux de société pour tous les âges.</p></article>"
        "</body></html>"
    ).encode()
    ext = extract_item(brief, url="https://x.org/a")
    assert (ext.kind, ext.reason) == ("article", "ok")
