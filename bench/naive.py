"""The naive baseline: the script a user writes first, one request and one page at a time.

    python -m bench.naive OUT.jsonl FEED_URL…

Sequential feedparser + httpx + trafilatura, each article saved as one JSON line; failures
are skipped. It is given one kindness a first script often lacks (a shared httpx.Client, so
connections are reused), which makes our speed-up over it a floor, not an inflated figure.
It prints {"items": saved, "failures": skipped} on stdout.
"""

from __future__ import annotations

import json
import sys

import feedparser
import httpx
import trafilatura


def run(feed_urls: list[str], out_path: str) -> dict[str, int]:
    saved = failures = 0
    with httpx.Client(timeout=5, follow_redirects=True) as client, open(out_path, "w") as out:
        for feed_url in feed_urls:
            try:
                response = client.get(feed_url)
                response.raise_for_status()
            except httpx.HTTPError:
                failures += 1
                continue
            for entry in feedparser.parse(response.content).entries:
                try:
                    page = client.get(entry.link)
                    page.raise_for_status()
                except httpx.HTTPError:
                    failures += 1
                    continue
                text = trafilatura.extract(page.text)
                if text:
                    record = {"url": entry.link, "title": entry.get("title", ""), "text": text}
                    out.write(json.dumps(record, ensure_ascii=False) + "\n")
                    saved += 1
    return {"items": saved, "failures": failures}


if __name__ == "__main__":
    print(json.dumps(run(sys.argv[2:], sys.argv[1])))
