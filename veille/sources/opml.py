"""OPML 2.0 import and export, compatible with what Miniflux and FreshRSS write and read.

Folders become tags (and the first tag becomes the folder on export). What OPML cannot say
(kind, interval, selector, topics, primary, enabled) travels in `veille:` attributes that
other readers ignore, so an export imports back unchanged. Parsed with defusedxml: no DTD,
entities or external references.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from datetime import datetime
from email.utils import format_datetime
from xml.etree.ElementTree import Element

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring
from pydantic import ValidationError

from veille.errors import ConfigError
from veille.sources.catalog import SourceFields
from veille.types import SourceSpec

NS = "https://github.com/veille-news/veille/opml"
_V = f"{{{NS}}}"


def parse_opml(data: bytes, *, origin: str = "OPML") -> tuple[SourceSpec, ...]:
    """The feeds of an OPML file, in document order; ConfigError naming the culprit."""
    try:
        root = fromstring(data, forbid_dtd=True)
    except DefusedXmlException as exc:
        raise ConfigError(f"{origin}: refused OPML ({type(exc).__name__})") from None
    except ET.ParseError as exc:
        raise ConfigError(f"{origin}: not an OPML file: {exc}") from None
    body = root.find("body")
    if root.tag != "opml" or body is None:
        raise ConfigError(f"{origin}: not an OPML file: expected <opml> with a <body>")
    specs: list[SourceSpec] = []
    names: set[str] = set()
    _walk(body, (), specs, names, origin)
    return tuple(specs)


def _walk(
    node: Element, folders: tuple[str, ...], out: list[SourceSpec], names: set[str], origin: str
) -> None:
    for outline in node.findall("outline"):
        label = (outline.get("title") or outline.get("text") or "").strip()
        url = (outline.get("xmlUrl") or "").strip()
        if not url:  # a folder (Miniflux and FreshRSS categories)
            _walk(outline, folders + ((label,) if label else ()), out, names, origin)
            continue
        name = _unique(label or url, names)
        tags = (
            _split(outline.get(f"{_V}tags"))
            if outline.get(f"{_V}tags") is not None
            else (list(folders) + [t for t in _split(outline.get("category")) if t not in folders])
        )
        fields = {
            "name": name,
            "url": url,
            "tags": tags,
            "language": (outline.get("language") or "").strip().lower() or None,
            "kind": outline.get(f"{_V}kind"),
            "interval": outline.get(f"{_V}interval"),
            "selector": outline.get(f"{_V}selector"),
            "topics_hint": _split(outline.get(f"{_V}topics")) or None,
            "enabled": outline.get(f"{_V}enabled"),
            "primary": outline.get(f"{_V}primary"),
        }
        try:
            f = SourceFields.model_validate({k: v for k, v in fields.items() if v is not None})
        except ValidationError as exc:
            err = exc.errors()[0]
            field = str(err["loc"][0]) if err["loc"] else "?"
            msg = err["msg"].removeprefix("Value error, ")
            raise ConfigError(f"{origin}: outline {name!r}: {field}: {msg}") from None
        out.append(f.to_spec())


def _split(value: str | None) -> list[str]:
    # OPML 2.0 `category` is "/a/b,/c"; FreshRSS and others write plain "a,b".
    parts = re.split(r"[,]", value or "")
    return [p.strip().strip("/").strip() for p in parts if p.strip().strip("/").strip()]


def _unique(name: str, names: set[str]) -> str:
    candidate, n = name, 2
    while candidate.casefold() in names:
        candidate, n = f"{name} ({n})", n + 1
    names.add(candidate.casefold())
    return candidate


def to_opml(specs: tuple[SourceSpec, ...], *, now: datetime, title: str = "veille") -> str:
    """OPML 2.0 text: one folder per first tag, veille's own fields as `veille:` attributes."""
    ET.register_namespace("veille", NS)
    root = Element("opml", {"version": "2.0"})
    head = ET.SubElement(root, "head")
    ET.SubElement(head, "title").text = title
    ET.SubElement(head, "dateCreated").text = format_datetime(now)
    body = ET.SubElement(root, "body")
    folders: dict[str, Element] = {}
    defaults = SourceSpec(name="", url="")
    for spec in specs:
        parent = body
        if spec.tags:
            parent = folders.get(spec.tags[0]) or ET.SubElement(
                body, "outline", {"text": spec.tags[0], "title": spec.tags[0]}
            )
            folders[spec.tags[0]] = parent
        attrs = {"type": "rss", "text": spec.name, "title": spec.name, "xmlUrl": spec.url}
        if spec.kind != "feed":
            attrs["htmlUrl"] = spec.url
        if spec.language:
            attrs["language"] = spec.language
        if spec.tags:
            attrs["category"] = ",".join(f"/{t}" for t in spec.tags)
            attrs[f"{_V}tags"] = ",".join(spec.tags)
        for field, attr in (
            ("kind", "kind"),
            ("interval", "interval"),
            ("selector", "selector"),
            ("enabled", "enabled"),
            ("primary", "primary"),
        ):
            value = getattr(spec, field)
            if value != getattr(defaults, field):
                attrs[f"{_V}{attr}"] = str(value).lower() if isinstance(value, bool) else str(value)
        if spec.topics_hint:
            attrs[f"{_V}topics"] = ",".join(spec.topics_hint)
        ET.SubElement(parent, "outline", attrs)
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
