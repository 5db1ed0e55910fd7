"""The HTML policy: text tags and http(s) links survive, nothing that runs, styles or loads."""

from __future__ import annotations

import json

import pytest
from lxml import etree
from lxml import html as lxml_html

from tests.conftest import shared_path
from veille.extract import html_excerpt, html_to_text, sanitize_html
from veille.extract.sanitize import LINK_REL, TAGS


def assert_safe(clean: str) -> None:
    """Parse the output as a browser would and check every element and attribute."""
    if not clean.strip():
        return
    for node in lxml_html.fragments_fromstring(f"<div>{clean}</div>"):
        if not isinstance(node, etree._Element):
            continue
        for el in node.iter():
            if not isinstance(el.tag, str):  # comments, processing instructions
                raise AssertionError(f"non-element node survived: {el!r} in {clean!r}")
            assert el.tag == "div" or el.tag in TAGS, f"<{el.tag}> survived in {clean!r}"
            assert set(el.attrib) <= {"href", "title", "rel"}, f"{dict(el.attrib)} in {clean!r}"
            href = el.get("href")
            if href is not None:
                assert href.startswith(("http://", "https://")), f"href {href!r} in {clean!r}"


def test_text_tags_and_links_survive() -> None:
    html = (
        "<h2>Titre</h2><p>Un <strong>bon</strong> <em>texte</em> avec "
        '<a href="https://example.org/a" title="t">un lien</a>.</p><ul><li>un</li></ul>'
        "<blockquote>cité</blockquote>"
    )
    assert sanitize_html(html) == (
        "<h2>Titre</h2><p>Un <strong>bon</strong> <em>texte</em> avec "
        f'<a href="https://example.org/a" title="t" rel="{LINK_REL}">un lien</a>.</p>'
        "<ul><li>un</li></ul><blockquote>cité</blockquote>"
    )


@pytest.mark.parametrize(
    ("dirty", "clean"),
    [
        ("<p>a<script>alert(1)</script>b</p>", "<p>ab</p>"),
        ("<style>p{color:red}</style><p>a</p>", "<p>a</p>"),
        ('<p onclick="x()" style="position:fixed" class="c" id="i">a</p>', "<p>a</p>"),
        ('<img src="http://t.example/p.gif" onerror="x()">a', "a"),
        ('<iframe src="https://e.example"></iframe>a', "a"),
        ("<svg><circle/><text>svg text</text></svg>a", "a"),
        ("<form><input name=q><button>go</button></form>", "go"),
        ('<a href="javascript:alert(1)">x</a>', f'<a rel="{LINK_REL}">x</a>'),
        ('<a href="data:text/html,<b>x</b>">x</a>', f'<a rel="{LINK_REL}">x</a>'),
        ('<a href=" JaVaScRiPt:alert(1)">x</a>', f'<a rel="{LINK_REL}">x</a>'),
        ('<a href="/relative">x</a>', f'<a rel="{LINK_REL}">x</a>'),
        (
            '<a href="https://e.example" rel="opener" target="_blank">x</a>',
            f'<a href="https://e.example" rel="{LINK_REL}">x</a>',
        ),
        ("<!-- a comment --><p>a</p>", "<p>a</p>"),
        ("<p>a &amp; b &lt;c&gt;</p>", "<p>a &amp; b &lt;c&gt;</p>"),
    ],
)
def test_policy(dirty: str, clean: str) -> None:
    assert sanitize_html(dirty) == clean


def test_relative_links_resolve_against_the_page() -> None:
    out = sanitize_html('<a href="../b/c?x=1">x</a>', base_url="https://news.example.org/a/d")
    assert out == f'<a href="https://news.example.org/b/c?x=1" rel="{LINK_REL}">x</a>'


def test_html_to_text_keeps_paragraphs_and_drops_code() -> None:
    html = "<div><p>Un &amp; deux</p>trois<script>x()</script><ul><li>a</li><li>b</li></ul></div>"
    assert html_to_text(html) == "Un & deux\n\ntrois\n\na\n\nb"
    assert html_to_text("R&eacute;sum&eacute; sans balise") == "Résumé sans balise"
    assert html_to_text("") == ""


def test_excerpt_cuts_after_the_block_that_passes_the_budget() -> None:
    html = "".join(f"<p>{chr(97 + i) * 400}</p>" for i in range(6))
    out = html_excerpt(html, max_chars=1000)
    assert out == "".join(f"<p>{chr(97 + i) * 400}</p>" for i in range(3))


def test_excerpt_of_one_giant_block_is_cut_on_a_word() -> None:
    out = html_excerpt("<p>" + "mot " * 5000 + "</p>", max_chars=1000)
    assert out.startswith("<p>mot mot") and out.endswith("…</p>") and len(out) < 1010


def _dompurify_payloads() -> list[str]:
    path = shared_path("corpora", "hostile", "xss", "dompurify", "expect.json")
    return [case["payload"] for case in json.loads(path.read_text())]


def _vector_lines(*parts: str) -> list[str]:
    path = shared_path("corpora", "hostile", "xss", *parts)
    return [line for line in path.read_text(errors="replace").splitlines() if line.strip()]


def test_dompurify_payloads_come_out_inert() -> None:
    payloads = _dompurify_payloads()
    assert len(payloads) > 200
    for payload in payloads:
        assert_safe(sanitize_html(payload, base_url="https://news.example.org/"))


@pytest.mark.parametrize(
    "parts",
    [
        ("h5sc", "vectors.txt"),
        ("h5sc", "rss.txt"),
        ("payloadsallthethings", "RSNAKE_XSS.txt"),
        ("payloadsallthethings", "XSS_Polyglots.txt"),
        ("payloadsallthethings", "MarioXSSVectors.txt"),
    ],
)
def test_xss_vector_lists_come_out_inert(parts: tuple[str, str]) -> None:
    for vector in _vector_lines(*parts):
        assert_safe(sanitize_html(vector))
        assert_safe(html_excerpt(vector, base_url="https://news.example.org/"))
