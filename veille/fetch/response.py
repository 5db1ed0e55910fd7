"""What a fetch returns: a plain value the pipeline and the extraction step both read."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from datetime import UTC
from email.utils import parsedate_to_datetime


@dataclass(frozen=True, slots=True)
class Response:
    url: str  # as requested
    final_url: str  # after redirects: the base for relative links
    status: int
    reason: str = ""
    body: bytes = b""  # decoded (gzip, br…), at most max_bytes; empty unless 2xx
    headers: dict[str, str] = field(default_factory=dict)  # lower-case names
    moved_to: str | None = None  # set when every redirect on the way was permanent
    retry_after: float | None = None  # seconds, from a 429/503's Retry-After

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    @property
    def not_modified(self) -> bool:
        return self.status == 304

    @property
    def etag(self) -> str | None:
        return self.headers.get("etag")

    @property
    def last_modified(self) -> str | None:
        return self.headers.get("last-modified")

    @property
    def max_age(self) -> int | None:
        """Seconds from `Cache-Control: max-age=N` (None when absent or `no-cache`/`no-store`)."""
        value = self.headers.get("cache-control", "").lower()
        if "no-cache" in value or "no-store" in value:
            return None
        match = _MAX_AGE.search(value)
        return int(match.group(1)) if match else None

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "")

    def error(self) -> str:
        """One line for the source's row, e.g. `HTTP 404 Not Found`."""
        return f"HTTP {self.status} {self.reason}".strip()


_MAX_AGE = re.compile(r"(?:^|[,\s])max-age\s*=\s*\"?(\d{1,10})")


def retry_after(value: str | None) -> float | None:
    """Seconds to wait from a Retry-After header (delay or HTTP date); None when absent."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:  # "-0000" means UTC too
        when = when.replace(tzinfo=UTC)
    return max(0.0, when.timestamp() - time.time())
