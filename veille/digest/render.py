"""Render an issue: the email (HTML + text), the confirmation email and the archive pages.

One Jinja2 environment per language, with the `digest` gettext catalog and Babel's date and
number formats. Templates autoescape HTML, so entry text (made plain by `entry.py`) shows as
inert text whatever it carries. The email's CSS is inlined by css-inline (remote stylesheets
never fetched); its media queries (dark mode, phone) stay in a <style> block. Archive pages
link one stylesheet file instead (`digest.css`, written by the publisher), which the web app's
Content-Security-Policy allows and which works as well when the folder is opened as files.

Every page carries the association's `Brand`. Per-reader links (preferences, unsubscribe,
"off topic?") come from a `ReaderLinks`: in an email they are placeholders the sender fills in
per subscriber; on the public archive they are anonymous signed links.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import lru_cache
from zoneinfo import ZoneInfo

import css_inline
from jinja2 import Environment, PackageLoader, StrictUndefined, pass_context, select_autoescape

from veille import i18n, typography
from veille.digest.brand import LOGO_CID, Brand
from veille.digest.entry import Entry
from veille.digest.select import Plan
from veille.types import TOPIC_NAMES, TOPICS, finalize_text

_INLINER = css_inline.CSSInliner(keep_at_rules=True, load_remote_stylesheets=False)


@dataclass(frozen=True)
class Links:
    """Public URLs of the archive and feeds; the files sit at the same paths under digests/."""

    base_url: str

    @property
    def root(self) -> str:
        return self.base_url.rstrip("/") + "/digests/"

    def issue(self, day: date | str, kind: str = "daily") -> str:
        return f"{self.root}{'weekly/' if kind == 'weekly' else ''}{day}.html"

    def page(self, issue: Plan) -> str:
        """The archive page of an issue, daily or weekly."""
        return self.issue(issue.day, issue.kind)

    @property
    def subscribe(self) -> str:
        return self.base_url.rstrip("/") + "/subscribe"

    @property
    def weekly_index(self) -> str:
        return f"{self.root}weekly/index.html"

    def entry(self, day: date | str, item_id: int) -> str:
        return f"{self.issue(day)}#item-{item_id}"

    def section(self, day: date | str, topic: str) -> str:
        return f"{self.issue(day)}#topic-{topic}"

    def topic(self, topic: str) -> str:
        return f"{self.root}topics/{topic}.html"

    def feed(self, name: str = "all", kind: str = "atom") -> str:
        return f"{self.root}feeds/{name}.{kind}"

    @property
    def index(self) -> str:
        return f"{self.root}index.html"


def _no_link(item_id: int) -> str | None:
    return None


@dataclass(frozen=True)
class ReaderLinks:
    """Links that depend on who reads: preferences, unsubscribe, one "off topic?" per entry."""

    unsubscribe: str | None = None
    preferences: str | None = None
    feedback: Callable[[int], str | None] = field(default=_no_link)


def placeholder_links(placeholder: str) -> ReaderLinks:
    """Links the sender swaps per subscriber (see compose.DigestTemplate.fill)."""
    return ReaderLinks(
        unsubscribe=placeholder,
        preferences=f"{placeholder}/p",
        feedback=lambda item_id: f"{placeholder}/f/{item_id}",
    )


@dataclass(frozen=True)
class Rendered:
    subject: str
    text: str
    html: str


@pass_context
def _day(ctx, value: date | datetime | str, fmt: str = "long") -> str:  # noqa: ANN001
    if isinstance(value, str):
        value = date.fromisoformat(value)
    elif isinstance(value, datetime):
        value = value.astimezone(ZoneInfo(ctx["tz"])).date()
    return i18n.format_date(value, ctx["lang"], fmt)


@lru_cache(maxsize=4)
def environment(lang: str) -> Environment:
    lang = i18n.normalise(lang)
    env = Environment(
        loader=PackageLoader("veille.digest", "templates"),
        autoescape=select_autoescape(["html"]),
        extensions=["jinja2.ext.i18n"],
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        finalize=finalize_text,
    )
    trans, typo = i18n.translations(lang, "digest"), typography.for_language(lang)
    env.install_gettext_callables(  # type: ignore[attr-defined]
        gettext=lambda message: typo(trans.gettext(message)),
        ngettext=lambda one, many, n: typo(trans.ngettext(one, many, n)),
        newstyle=True,
    )
    env.filters["day"] = _day
    env.filters["number"] = lambda n: i18n.format_number(n, lang)
    env.filters["topic"] = lambda t: TOPIC_NAMES[t][lang]
    env.filters["upfirst"] = lambda text: text[:1].upper() + text[1:]  # not |capitalize
    env.filters["typo"] = typo  # French spacing in French issues, for text from feeds
    env.globals.update(
        lang=lang, topics=TOPICS, topic_name=lambda t: TOPIC_NAMES[t][lang], logo_cid=LOGO_CID
    )
    return env


def subject(issue: Plan, *, lang: str, count: int, brand: Brand | None = None) -> str:
    t = i18n.translations(i18n.normalise(lang), "digest")
    values = {"date": i18n.format_date(issue.day, lang), "num": i18n.format_number(count, lang)}
    if brand is not None and brand.name:
        values["name"] = brand.name
        if issue.kind == "weekly":
            return (
                t.ngettext(
                    "%(name)s, week of %(date)s: %(num)s story",
                    "%(name)s, week of %(date)s: %(num)s stories",
                    count,
                )
                % values
            )
        if count == 0:
            return t.gettext("%(name)s of %(date)s: nothing new") % values
        return (
            t.ngettext(
                "%(name)s of %(date)s: %(num)s story",
                "%(name)s of %(date)s: %(num)s stories",
                count,
            )
            % values
        )
    if issue.kind == "weekly":
        return (
            t.ngettext(
                "Veille, week of %(date)s: %(num)s story",
                "Veille, week of %(date)s: %(num)s stories",
                count,
            )
            % values
        )
    if count == 0:
        return t.gettext("Veille of %(date)s: nothing new") % values
    return (
        t.ngettext(
            "Veille of %(date)s: %(num)s story", "Veille of %(date)s: %(num)s stories", count
        )
        % values
    )


def render_email(
    issue: Plan,
    *,
    lang: str,
    links: Links,
    unsubscribe_url: str,
    topics: tuple[str, ...] | list[str] = TOPICS,
    cap: int | None = 10,
    tz: str = "Europe/Paris",
    brand: Brand | None = None,
    reader: ReaderLinks | None = None,
) -> Rendered:
    """The digest email for readers of `lang` who follow `topics`: at most `cap` per topic."""
    brand = brand or Brand()
    reader = reader or ReaderLinks(unsubscribe=unsubscribe_url)
    sections = issue.sections(topics)
    count = sum(len(s.entries) for s in sections)
    context = dict(
        issue=issue,
        sections=sections,
        count=count,
        cap=cap,
        links=links,
        tz=tz,
        brand=brand,
        reader=reader,
        logo_src=f"cid:{LOGO_CID}" if brand.logo else None,
        subject=subject(issue, lang=lang, count=count, brand=brand),
        unsubscribe_url=unsubscribe_url,
        preheader=(issue.intro or " · ".join(e.title for s in sections for e in s.shown(1)))[:140],
    )
    env = environment(lang)
    html = _INLINER.inline(env.get_template("email.html").render(context))
    return Rendered(context["subject"], env.get_template("email.txt").render(context), html)


def render_confirmation(
    *, email: str, lang: str, confirm_url: str, links: Links, brand: Brand | None = None
) -> Rendered:
    env = environment(lang)
    brand = brand or Brand()
    context = dict(
        email=email,
        confirm_url=confirm_url,
        links=links,
        tz="UTC",
        brand=brand,
        logo_src=f"cid:{LOGO_CID}" if brand.logo else None,
    )
    t = i18n.translations(i18n.normalise(lang), "digest")
    if brand.name:
        title = t.gettext("Confirm your subscription to %(name)s") % {"name": brand.name}
    else:
        title = t.gettext("Confirm your subscription to the veille")
    context["subject"] = title
    html = _INLINER.inline(env.get_template("confirm.html").render(context))
    return Rendered(title, env.get_template("confirm.txt").render(context), html)


def render_issue_page(
    issue: Plan,
    *,
    lang: str,
    links: Links,
    tz: str = "Europe/Paris",
    previous: str | None = None,
    following: str | None = None,
    brand: Brand | None = None,
    reader: ReaderLinks | None = None,
) -> str:
    """The archive page of an issue: every entry, no cap, web layout."""
    sections = issue.sections()
    return (
        environment(lang)
        .get_template("archive_issue.html")
        .render(
            issue=issue,
            sections=sections,
            count=sum(len(s.entries) for s in sections),
            links=links,
            tz=tz,
            previous=previous,
            following=following,
            **_web(brand, reader, "../" if issue.kind == "weekly" else ""),
        )
    )


def render_index_page(
    issues: list[tuple[str, int]],
    *,
    lang: str,
    links: Links,
    brand: Brand | None = None,
    kind: str = "daily",
) -> str:
    """The list of issues, newest first: (YYYY-MM-DD, entry count) pairs."""
    days = [(date.fromisoformat(d), n) for d, n in issues]
    return (
        environment(lang)
        .get_template("archive_index.html")
        .render(
            issues=days,
            links=links,
            tz="UTC",
            kind=kind,
            **_web(brand, None, "../" if kind == "weekly" else ""),
        )
    )


def render_css(brand: Brand | None = None) -> str:
    """The archive's stylesheet file (digest.css), in the association's accent colour."""
    return environment("fr").get_template("archive.css").render(brand=brand or Brand())


def _web(brand: Brand | None, reader: ReaderLinks | None, up: str) -> dict:
    brand = brand or Brand()
    return dict(
        brand=brand,
        reader=reader or ReaderLinks(),
        up=up,
        logo_src=f"{up}{brand.logo.filename}" if brand.logo else None,
    )


def render_topic_page(
    topic: str,
    issues: list[Plan],
    *,
    lang: str,
    links: Links,
    tz: str = "Europe/Paris",
    brand: Brand | None = None,
    reader: ReaderLinks | None = None,
) -> str:
    """One topic across recent issues, newest issue first."""
    blocks = []
    for issue in issues:
        section = next((s for s in issue.sections((topic,)) if s.topic == topic), None)
        if section is not None:
            blocks.append((issue, section.entries))
    return (
        environment(lang)
        .get_template("archive_topic.html")
        .render(topic=topic, blocks=blocks, links=links, tz=tz, **_web(brand, reader, "../"))
    )


def render_feed_entry(entry: Entry, *, lang: str) -> str:
    """HTML content of an entry in the output feeds (sanitised again by the publisher)."""
    return environment(lang).get_template("feed_entry.html").render(e=entry, tz="UTC")


def render_feed_issue(issue: Plan, *, lang: str, links: Links) -> str:
    """HTML content of an issue in the feed of daily issues: its titles by topic."""
    return (
        environment(lang)
        .get_template("feed_issue.html")
        .render(issue=issue, sections=issue.sections(), links=links, tz="UTC")
    )
