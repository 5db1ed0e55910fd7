"""kind: feed — RSS, Atom, JSON Feed. A conditional GET of the feed (or of where it moved
for good); robots.txt does not apply to feeds.

State: {"etag", "last_modified", "url"} — `url` is where the feed moved permanently.
"""

from __future__ import annotations

from typing import Any

from veille.parse import parse_feed
from veille.sources.readers.base import (
    FEED_ACCEPT,
    ReadContext,
    SourceRead,
    State,
    Target,
    conditional_get,
    validators,
)


async def read_feed(
    ctx: ReadContext, url: str, state: State | None, *, declared: str
) -> SourceRead:
    """Read the feed at `url` (`state` None: unconditionally). `declared` is the URL of the
    sources file: the state remembers `url` when it is another one."""
    response = await conditional_get(
        ctx, url, state, max_bytes=ctx.max_feed_bytes, accept=FEED_ACCEPT
    )
    moved = response.moved_to or (url if url != declared else None)
    if response.not_modified:
        kept = {**validators(response, state), **({"url": moved} if moved else {})}
        return SourceRead(not_modified=True, state=kept, max_age=response.max_age)
    parsed = await ctx.parse(
        parse_feed,
        response.body,
        url=response.final_url,
        headers=response.headers,
        max_entries=ctx.max_entries,
    )
    warnings = [parsed.warning] if parsed.warning else []
    if response.moved_to:
        warnings.insert(0, f"moved permanently to {response.moved_to}; update the sources file")
    return SourceRead(
        entries=parsed.entries,
        state={**validators(response), **({"url": moved} if moved else {})},
        warning="; ".join(warnings) or None,
        max_age=response.max_age,
    )


class FeedReader:
    label = "RSS/Atom feed"  # msgids: the web form translates them
    short_label = "feed"

    async def read(self, source: Target, state: State, ctx: ReadContext) -> SourceRead:
        return await read_feed(ctx, state.get("url") or source.url, state, declared=source.url)

    def after_failure(self, state: State) -> dict[str, Any]:
        return dict(state)
