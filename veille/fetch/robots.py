"""robots.txt, fetched once per site and run, read with protego (RFC 9309).

It applies to article and listing pages, not to feeds: a feed is published to be polled.
As the RFC says, a missing robots.txt (4xx) allows everything and an unreachable one (5xx,
network error) disallows everything until a later run.
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
USER_AGENT_TOKEN = "veille"

# (status, body) of GET <origin>/robots.txt
FetchRobots = Callable[[str], Awaitable[tuple[int, bytes]]]


class Robots:
    def __init__(self, fetch: FetchRobots, token: str = USER_AGENT_TOKEN) -> None:
        self.fetch = fetch
        self.token = token
        self._rules: dict[str, asyncio.Task[Protego | bool]] = {}

    async def allowed(self, url: str) -> bool:
        parts = urlsplit(url)
        origin = f"{parts.scheme}://{parts.netloc}"
        task = self._rules.get(origin)
        if task is None:  # one fetch per site, shared by every concurrent caller
            task = self._rules[origin] = asyncio.ensure_future(self._load(origin))
        rules = await asyncio.shield(task)
        if isinstance(rules, bool):
            return rules
        return rules.can_fetch(url, self.token)

    async def _load(self, origin: str) -> Protego | bool:
        try:
            status, body = await self.fetch(origin + "/robots.txt")
        except FetchError as exc:
            log.info("robots.txt unreachable", extra={"url": origin, "reason": str(exc)})
            return False
        if 200 <= status < 300:
            return Protego.parse(body.decode("utf-8", "replace"))
        return 400 <= status < 500
