"""Is what trafilatura found an article? Detect walls, stubs and index pages.

Each check pairs a *signal* (a bot-challenge marker, consent vocabulary, a password field,
paywall markup or phrases, links everywhere) with *little text*: a long article that also
carries a cookie banner or a login box in its header is still an article, so every rule
requires the extracted text to be short. The thresholds were set against real articles
(trafilatura's evaluation pages, where no rule may fire) and our own wall fixtures.

Reasons are either *hard* (the text is not the article at all: never keep it) or *soft*
(the text is part of the article or a poor version of it: keep it when the feed has nothing
better).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from lxml.html import HtmlElement

HARD = frozenset({"challenge", "cookie_wall", "login_page", "no_text"})
SOFT = frozenset({"paywall", "index_page", "shorter_than_feed"})

SHORT_CHARS = 1500  # below this, a wall signal wins over the text
CHALLENGE_CHARS = 3000  # challenge pages are tiny; their markers are unambiguous
MIN_FEED_RATIO = 0.5  # article text under half the feed's own text: extraction missed it
# An index page: at least INDEX_MIN_LINKS paragraphs of the main text are the text of a link
# on the page, and they hold INDEX_LINK_CHARS of its characters or INDEX_LINK_LINES of its
# paragraphs ("Read more" under each teaser). No article of trafilatura's evaluation set
# comes near (at most 5 such paragraphs, 18% of the characters).
INDEX_MIN_LINKS = 6
INDEX_LINK_CHARS = 0.3
INDEX_LINK_LINES = 0.4

# Lower-case substrings of bot-challenge pages (Cloudflare, DataDome, PerimeterX, Incapsula,
# DDoS-Guard, SiteGround); plain `in` tests keep this cheap on big pages.
_CHALLENGE_MARKERS = (
    "cf_chl_opt",
    "cf-browser-verification",
    'id="challenge-form"',
    "captcha-delivery.com",
    "px-captcha",
    "_incapsula_resource",
    "ddos-guard",
    "/.well-known/sgcaptcha",
    "checking if the site connection is secure",
    "checking your browser before accessing",
    "enable javascript and cookies to continue",
    "vérification de votre navigateur",
)
_CHALLENGE_TITLE = re.compile(
    r"^\s*(?:just a moment|attention required|access denied|un instant|one moment, please"
    r"|please wait|verifying you are human|security check|ddos-guard|vérification)",
    re.I,
)
_PAYWALL_MARKUP = re.compile(r"\"isAccessibleForFree\"\s*:\s*\"?false", re.I)
_PAYWALL_TEXT = re.compile(
    r"réservée? aux abonnés|la suite est réservée|pour lire la suite|il vous reste \d+ ?%"
    r"|déjà abonné|abonnez-vous pour (?:lire|accéder|continuer)|article abonné"
    r"|subscribe to (?:continue|read|unlock)|subscribers? only|for subscribers"
    r"|already a subscriber|to continue reading|sign in to read|this (?:article|story) is "
    r"(?:for|available to|exclusive to) (?:subscribers|members)",
    re.I,
)
_CONSENT_TERMS = (
    "cookie",
    "consent",
    "traceur",
    "tracker",
    "partenaires",
    "partners",
    "accepter",
    "accept all",
    "tout accepter",
    "refuser",
    "reject all",
    "paramétrer",
    "gérer mes choix",
    "manage preferences",
    "manage options",
    "vie privée",
    "privacy",
    "données personnelles",
    "personal data",
    "intérêt légitime",
    "legitimate interest",
    "avant de continuer",
    "before you continue",
    "publicité personnalisée",
    "personalised ads",
)
_LOGIN_TEXT = re.compile(
    r"mot de passe|connectez-vous|se connecter|identifiez-vous|password|log in to|sign in to",
    re.I,
)
_LOGIN_TITLE = re.compile(
    r"\b(?:log ?in|sign ?in|connexion|se connecter|identifiez-vous|authentification"
    r"|mon compte|my account)\b",
    re.I,
)


@dataclass(frozen=True, slots=True)
class PageSignals:
    """What the raw page says about itself, read once before extraction."""

    title: str = ""
    lang: str | None = None
    password_inputs: int = 0
    challenge: bool = False
    paywall_markup: bool = False
    anchors: frozenset[str] = frozenset()  # texts of the page's links, normalised


def _norm(text: str) -> str:
    return " ".join(text.split()).lower()


def page_signals(tree: HtmlElement, page: str) -> PageSignals:
    head = page[:300_000].lower()  # markers sit in the head or the first scripts
    title = " ".join((tree.findtext(".//title") or "").split())
    return PageSignals(
        title=title,
        lang=tree.get("lang") or tree.get("{http://www.w3.org/XML/1998/namespace}lang"),
        password_inputs=int(tree.xpath("count(//input[@type='password'])")),
        challenge=any(m in head for m in _CHALLENGE_MARKERS)
        or bool(_CHALLENGE_TITLE.search(title)),
        paywall_markup="isaccessibleforfree" in head and bool(_PAYWALL_MARKUP.search(page)),
        anchors=frozenset(
            text for a in tree.iter("a") if 12 <= len(text := _norm(a.text_content())) <= 300
        ),
    )


def link_lines(text: str, anchors: frozenset[str]) -> tuple[int, int, int]:
    """Paragraphs of `text` that are exactly a link's text, their characters, all paragraphs."""
    count = chars = lines = 0
    for line in text.split("\n"):
        if not line.strip():
            continue
        lines += 1
        if _norm(line) in anchors:
            count += 1
            chars += len(line)
    return count, chars, lines


def consent_terms(text: str) -> int:
    """How many distinct consent-banner terms occur in `text`."""
    lower = text.lower()
    return sum(term in lower for term in _CONSENT_TERMS)


def not_an_article(text: str, signals: PageSignals, *, feed_chars: int = 0) -> str | None:
    """The reason this extracted text is not the article, or None when it is."""
    size = len(text)
    if signals.challenge and size < CHALLENGE_CHARS:
        return "challenge"
    if not text.strip():
        return "no_text"
    if size < SHORT_CHARS:
        if consent_terms(text) >= 4 or (consent_terms(text) >= 2 and size < 400):
            return "cookie_wall"
        # A login box in a news site's header is common; a login *page* also says so.
        if signals.password_inputs and (
            _LOGIN_TITLE.search(signals.title) or _LOGIN_TEXT.search(text)
        ):
            return "login_page"
        if signals.paywall_markup or _PAYWALL_TEXT.search(text):
            return "paywall"
    links, link_chars, lines = link_lines(text, signals.anchors)
    if links >= INDEX_MIN_LINKS and (
        link_chars > INDEX_LINK_CHARS * size or links >= INDEX_LINK_LINES * lines
    ):
        return "index_page"
    if feed_chars and size < MIN_FEED_RATIO * feed_chars:
        return "shorter_than_feed"
    return None
