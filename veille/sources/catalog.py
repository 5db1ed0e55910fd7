"""feeds.yaml: the curated list of sources, validated like code.

    sources:
      - name: Bruded                      # unique, shown everywhere
        url: https://www.bruded.fr/feed/  # http(s)
        kind: feed                        # a kind of readers.READERS: feed | page | sitemap
        language: fr
        tags: [réseau, collectivités]
        topics_hint: [social_innovation]
        interval: 6h                      # seconds, or 30m / 6h / 1d; default 1h
        enabled: true
        selector: "h2.entry-title a"      # kind: page only; CSS for article links
        primary: true                     # an original producer: wins as a story's face

Any error rejects the whole file with one line naming file, line and field.
"""

from __future__ import annotations

import errno
import os
import re
from dataclasses import fields
from io import StringIO
from pathlib import Path
from typing import Any, Literal

from cssselect import GenericTranslator, SelectorError
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import MarkedYAMLError, YAMLError

from veille.errors import ConfigError, NotWritableError
from veille.sources.readers import READERS
from veille.types import TOPICS, SourceSpec, safe_text

DEFAULT_INTERVAL = 3600
OPTIONAL_FIELDS = tuple(f.name for f in fields(SourceSpec) if f.name not in ("name", "url"))
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_DURATION = re.compile(r"^\s*(\d+)\s*([smhd]?)\s*$")


class SourceFields(BaseModel):
    """The schema of one source; `extra="forbid"` makes unknown keys errors."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: str = Field(min_length=1, max_length=200)
    url: str
    kind: str = "feed"  # a kind of readers.READERS
    language: str | None = Field(None, pattern=r"^[a-z]{2}(-[A-Za-z]{2})?$")
    tags: list[str] = []
    topics_hint: list[Literal[TOPICS]] = []  # type: ignore[valid-type]
    interval: int | str = DEFAULT_INTERVAL
    enabled: bool = True
    selector: str | None = None
    primary: bool = False

    @field_validator("name")
    @classmethod
    def _visible_name(cls, name: str) -> str:
        # A right-to-left override would make the name display as another one.
        return safe_text(name)

    def to_spec(self) -> SourceSpec:
        return SourceSpec(
            name=self.name,
            url=self.url,
            kind=self.kind,
            language=self.language,
            tags=tuple(self.tags),
            topics_hint=tuple(self.topics_hint),
            interval=int(self.interval),
            enabled=self.enabled,
            selector=self.selector,
            primary=self.primary,
        )

    @field_validator("kind")
    @classmethod
    def _known_kind(cls, value: str) -> str:
        if value not in READERS:  # the registry as it is (a kind added at run time counts)
            raise ValueError(f"Input should be {_either(tuple(READERS))}")
        return value

    @field_validator("url")
    @classmethod
    def _http(cls, value: str) -> str:
        if not re.match(r"^https?://[^/\s]+", value, re.I) or any(c.isspace() for c in value):
            raise ValueError("must be an absolute http:// or https:// URL")
        return value

    @field_validator("interval")
    @classmethod
    def _seconds(cls, value: int | str) -> int:
        return parse_interval(value)

    @field_validator("selector")
    @classmethod
    def _css(cls, value: str | None) -> str | None:
        if value:
            try:
                GenericTranslator().css_to_xpath(value)
            except SelectorError as exc:
                raise ValueError(f"invalid CSS selector ({exc})") from None
        return value or None


def _either(values: tuple[str, ...]) -> str:
    quoted = [repr(v) for v in values]
    return " or ".join([", ".join(quoted[:-1]), quoted[-1]] if len(quoted) > 1 else quoted)


def parse_interval(value: int | str) -> int:
    """`3600`, `"90s"`, `"30m"`, `"6h"`, `"1d"` → seconds (at least one minute)."""
    if isinstance(value, bool):
        raise ValueError("must be seconds or a duration such as 30m, 6h, 1d")
    if isinstance(value, int):
        seconds = value
    else:
        match = _DURATION.match(str(value))
        if not match:
            raise ValueError("must be seconds or a duration such as 30m, 6h, 1d")
        seconds = int(match.group(1)) * _UNITS[match.group(2) or "s"]
    if seconds < 60:
        raise ValueError("must be at least one minute")
    return seconds


def load_sources(path: Path) -> tuple[SourceSpec, ...]:
    """Every source of the file, validated; ConfigError `file:line: …` on the first problem."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(
            f"{path}: sources file not found (set VEILLE_SOURCES or --sources)"
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read sources file: {exc}") from None
    return parse_sources(text, origin=str(path))


def parse_sources(text: str, *, origin: str = "feeds.yaml") -> tuple[SourceSpec, ...]:
    doc = _load_yaml(text, origin)
    if not isinstance(doc, CommentedMap) or "sources" not in doc:
        raise ConfigError(f"{origin}:1: expected a mapping with a 'sources:' list")
    for key in doc:
        if key != "sources":
            raise ConfigError(f"{origin}:{doc.lc.key(key)[0] + 1}: unknown key {key!r}")
    items = doc["sources"]
    if not isinstance(items, CommentedSeq):
        raise ConfigError(f"{origin}:{doc.lc.key('sources')[0] + 1}: 'sources' must be a list")
    specs: list[SourceSpec] = []
    names: dict[str, int] = {}
    urls: dict[str, int] = {}
    for i, item in enumerate(items):
        line = items.lc.item(i)[0] + 1
        if not isinstance(item, CommentedMap):
            raise ConfigError(f"{origin}:{line}: source #{i + 1} must be a mapping of fields")
        spec = _spec(item, origin, line, i)
        for seen, key, what in ((names, spec.name.casefold(), "name"), (urls, spec.url, "url")):
            if key in seen:
                raise ConfigError(
                    f"{origin}:{line}: source {spec.name!r}: field '{what}': duplicate of the "
                    f"source on line {seen[key]}"
                )
            seen[key] = line
        specs.append(spec)
    return tuple(specs)


def _spec(item: CommentedMap, origin: str, line: int, index: int) -> SourceSpec:
    label = (
        f"source {item.get('name')!r}"
        if isinstance(item.get("name"), str)
        else (f"source #{index + 1}")
    )
    try:
        fields = SourceFields.model_validate(dict(item))
    except ValidationError as exc:
        err = exc.errors()[0]
        field = str(err["loc"][0]) if err["loc"] else "?"
        at = item.lc.key(field)[0] + 1 if field in item else line
        msg = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            msg = "unknown field"
        raise ConfigError(f"{origin}:{at}: {label}: field '{field}': {msg}") from None
    if fields.selector and fields.kind != "page":
        at = item.lc.key("selector")[0] + 1
        raise ConfigError(f"{origin}:{at}: {label}: field 'selector': only for kind: page")
    return fields.to_spec()


def _load_yaml(text: str, origin: str) -> Any:
    try:
        return YAML().load(text)
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else 1
        problem = (exc.problem or exc.context or "invalid YAML").strip()
        raise ConfigError(f"{origin}:{line}: invalid YAML: {problem}") from None
    except YAMLError as exc:
        raise ConfigError(f"{origin}: invalid YAML: {str(exc).splitlines()[0]}") from None


def add_sources(
    path: Path, specs: tuple[SourceSpec, ...]
) -> tuple[list[SourceSpec], list[SourceSpec]]:
    """Append the specs whose name and URL are new to the file, keeping its comments and
    layout; returns (added, skipped). The result is validated before it replaces the file."""
    existing = load_sources(path) if path.exists() else ()
    yaml = _round_trip()
    doc = yaml.load(path.read_text(encoding="utf-8")) if path.exists() else None
    if doc is None:
        doc = CommentedMap(sources=CommentedSeq())
    names = {s.name.casefold() for s in existing}
    urls = {s.url for s in existing}
    added, skipped = [], []
    for spec in specs:
        if spec.name.casefold() in names or spec.url in urls:
            skipped.append(spec)
            continue
        names.add(spec.name.casefold())
        urls.add(spec.url)
        doc["sources"].append(_as_yaml(spec))
        added.append(spec)
    if added:
        _write_validated(path, yaml, doc)
    return added, skipped


def set_enabled(path: Path, name: str, enabled: bool) -> None:
    """Write `enabled` for one source into the file, keeping its comments and layout."""
    load_sources(path)  # never edit a file that does not load
    yaml = _round_trip()
    doc = yaml.load(path.read_text(encoding="utf-8"))
    entry = next((e for e in doc["sources"] if e.get("name") == name), None)
    if entry is None:
        raise ConfigError(f"{path}: no source named {name!r} (it was removed from the file)")
    entry["enabled"] = enabled
    _write_validated(path, yaml, doc)


def _round_trip() -> YAML:
    yaml = YAML()
    yaml.indent(mapping=2, sequence=4, offset=2)
    return yaml


def _write_validated(path: Path, yaml: YAML, doc: object) -> None:
    """Replace the file atomically, and only with content that loads."""
    out = StringIO()
    yaml.dump(doc, out)
    parse_sources(out.getvalue(), origin=str(path))
    problem = write_problem(path)
    if problem:
        raise NotWritableError(problem)
    tmp = path.with_name(path.name + ".tmp")
    try:
        tmp.write_text(out.getvalue(), encoding="utf-8")
        tmp.replace(path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise NotWritableError(_explain(path, exc)) from None


def write_problem(path: Path) -> str | None:
    """Why the sources file cannot be rewritten in place (one line with the fix), or None.

    A rewrite creates `<name>.tmp` beside the file, then renames it over the file: the
    folder must exist and be writable, not only the file."""
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        return _explain(path, OSError(errno.ENOENT, "no such folder"))
    if not os.access(folder, os.W_OK):
        code = errno.EROFS if _read_only_mount(folder) else errno.EACCES
        return _explain(path, OSError(code, os.strerror(code)))
    return None


def _read_only_mount(folder: Path) -> bool:
    try:
        return bool(os.statvfs(folder).f_flag & os.ST_RDONLY)
    except OSError:
        return False


def _explain(path: Path, exc: OSError) -> str:
    folder = path.parent if str(path.parent) else Path(".")
    if exc.errno == errno.ENOENT:
        fix = f"create the folder {folder}, or set VEILLE_SOURCES to a file in a folder that exists"
    elif exc.errno == errno.EROFS:
        fix = f"the folder {folder} is mounted read-only: mount it read-write (no ':ro' in Docker)"
    elif exc.errno in (errno.EACCES, errno.EPERM):
        fix = f"the folder {folder} is not writable by this user: give it write access"
    else:
        fix = exc.strerror or str(exc)
    return f"{path}: cannot save the sources file: {fix}"


def _as_yaml(spec: SourceSpec) -> CommentedMap:
    """Only the fields that differ from the defaults, in schema order."""
    out = CommentedMap(name=spec.name, url=spec.url)
    defaults = SourceSpec(name="", url="")
    for field in OPTIONAL_FIELDS:
        value = getattr(spec, field)
        if value != getattr(defaults, field):
            if isinstance(value, tuple):
                value = CommentedSeq(value)
                value.fa.set_flow_style()  # tags: [a, b] on one line, as people write them
            out[field] = value
    return out
