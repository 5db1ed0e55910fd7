"""robots.txt, fetched once per site and run, read with protego (RFC 9309).

It applies to article and listing pages, not to feeds: a feed is published to be polled.
As the RFC says, a missing robots.txt (4xx) allows everything and an unreachable one (5xx,
network error) disallows everything until a later run; that refusal says "unreachable", not
"refused by robots.txt", so a site that is down is not mistaken for one that said no.

`Crawl-delay` is honoured per host (the time between two requests that robots.txt applies
to), capped at MAX_CRAWL_DELAY seconds so one site cannot stall a run.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from urllib.parse import urlsplit

from protego import Protego

from veille.errors import FetchError

log = logging.getLogger(__name__)
MAX_ROBOTS_BYTES = 512 * 1024  # RFC 9309 asks crawlers to read at least 500 KiB
MAX_CRAWL_DELAY = 10.0  # seconds; a longer Crawl-delay counts as this
USER_AGENT_TOKEN = "veille"

# (status, body) of GET <origin>/robots.txt
FetchRobots = Callable[[str], Awaitable[tuple[int, bytes]]]


class Robots:
    def __init__(self, fetch: FetchRobots, token: str = USER_AGENT_TOKEN) -> None:
        self.fetch = fetch
        self.token = token
        self._rules: dict[str, asyncio.Task[Protego | bool | str]] = {}
        self._pace: dict[str, tuple[asyncio.Lock, list[float]]] = {}

    async def allowed(self, url: str) -> bool:
        """Whether robots.txt lets us fetch `url`; FetchError("unreachable: …") when the
        site's robots.txt could not be read (the site is treated as closed for this run)."""
        rules = await self._rules_for(url)
        if isinstance(rules, str):
            raise FetchError(f"{rules}: {url}")
        if isinstance(rules, bool):
            return rules
        return rules.can_fetch(url, self.token)

    async def pace(self, url: str) -> None:
        """Wait until the host's Crawl-delay has passed since our previous request to it."""
        rules = await self._rules_for(url)
        delay = rules.crawl_delay(self.token) if isinstance(rules, Protego) else None
        if not delay:
            return
        delay = min(float(delay), MAX_CRAWL_DELAY)
        lock, next_at = self._pace.setdefault(_origin(url), (asyncio.Lock(), [0.0]))
        loop = asyncio.get_running_loop()
        async with lock:  # callers queue, each starting `delay` after the previous one
            wait = next_at[0] - loop.time()
            if wait > 0:
                await asyncio.sleep(wait)
            next_at[0] = loop.time() + delay

    async def _rules_for(self, url: str) -> Protego | bool | str:
        origin = _origin(url)
        task = self._rules.get(origin)
        if task is None:  # one fetch per site, shared by every concurrent caller
            task = self._rules[origin] = asyncio.ensure_future(self._load(origin))
        return await asyncio.shield(task)

    async def _load(self, origin: str) -> Protego | bool | str:
        try:
            status, body = await self.fetch(origin + "/robots.txt")
        except FetchError as exc:
            log.info("robots.txt unreachable", extra={"url": origin, "reason": str(exc)})
            return f"unreachable: {str(exc).removesuffix(': ' + origin + '/robots.txt')}"
        if 200 <= status < 300:
            return Protego.parse(body.decode("utf-8", "replace"))
        if 400 <= status < 500:
            return True
        return f"unreachable: robots.txt answered HTTP {status} (tried again next run)"


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"
