"""Classification of 10,000 items and a digest delivered to 10,000 subscribers over real SMTP.

`veille classify --input F --output F` reads JSON lines built from ../shared/corpora/
articles.jsonl (read in place; the lines live in the run's temporary folder only). The digest
goes to an aiosmtpd server on 127.0.0.1 that counts what it receives; the send rate limit is
lifted for the run (VEILLE_SEND_RATE), or 10,000 emails would take 1,000 s by design.
"""

from __future__ import annotations

import json
import socket
from pathlib import Path

from aiosmtpd.controller import Controller

from bench.corpus import SHARED
from bench.ours import Veille
from bench.report import Row, na


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class _Counter:
    def __init__(self) -> None:
        self.messages = 0
        self.recipients = 0

    async def handle_DATA(self, server: object, session: object, envelope) -> str:  # noqa: ANN001, N802
        self.messages += 1
        self.recipients += len(envelope.rcpt_tos)
        return "250 OK"


def classify_rows(v: Veille, count: int, timeout: float) -> list[Row]:
    missing = v.missing("classify")
    if missing:
        return [na("classify", f"{count} items", missing)]
    source = SHARED / "corpora" / "articles.jsonl"
    records = [json.loads(line) for line in source.open(encoding="utf-8")]
    given, got = v.home / "classify-in.jsonl", v.home / "classify-out.jsonl"
    with given.open("w", encoding="utf-8") as f:
        for n in range(count):
            rec = records[n % len(records)]
            line = {
                "id": f"{rec['id']}-{n // len(records)}",
                "title": rec["title"],
                "text": rec["text"],
                "lang": rec["lang"],
            }
            f.write(json.dumps(line, ensure_ascii=False) + "\n")
    run = v.run("classify", "--input", str(given), "--output", str(got), timeout=timeout)
    if not run.ok:
        return [na("classify", f"{count} items", run.why())]
    lines = sum(1 for _ in got.open(encoding="utf-8")) if got.exists() else 0
    return [
        Row(
            "classify",
            f"{count} items",
            run.wall_s,
            "s",
            note=f"{lines} predictions written; {count / run.wall_s:.0f} items/s; "
            f"CPU {run.cpu_s:.1f} s, peak {run.tree_mb:.0f} MB",
        )
    ]


def digest_rows(v: Veille, subscribers: int, timeout: float) -> list[Row]:
    missing = v.missing("subscribers", "import") or v.missing("digest")
    if missing:
        return [na("digest", f"build + send to {subscribers}", missing)]
    csv = v.home / "subscribers.csv"
    lines = ["email,lang"] + [
        f"reader{n:05d}@bench.example,{'en' if n % 5 == 0 else 'fr'}" for n in range(subscribers)
    ]
    csv.write_text("\n".join(lines) + "\n")
    imported = v.run("subscribers", "import", str(csv), timeout=timeout)
    if not imported.ok:
        return [na("digest", f"build + send to {subscribers}", f"import {imported.why()}")]
    counter = _Counter()
    port = _free_port()
    smtp = Controller(counter, hostname="127.0.0.1", port=port)
    smtp.start()
    try:
        env = {
            "VEILLE_SMTP_URL": f"smtp://127.0.0.1:{port}",
            "VEILLE_SEND_RATE": "100000",
            "VEILLE_SEND_EMPTY": "true",
        }
        run = v.run("digest", "--send", env=env, timeout=timeout)
    finally:
        smtp.stop()
    rate = f"{counter.messages} emails received by SMTP ({counter.messages / run.wall_s:.0f}/s)"
    if not run.ok:
        return [na("digest", f"build + send to {subscribers}", f"{run.why()}; {rate}")]
    return [
        Row(
            "digest",
            f"build + send to {subscribers}",
            run.wall_s,
            "s",
            note=f"{rate}; import took {imported.wall_s:.1f} s; "
            f"CPU {run.cpu_s:.1f} s, peak {run.tree_mb:.0f} MB",
        )
    ]


def home_for(root: Path, pulled: Veille | None) -> Veille:
    """The cold pull's installation (a store with items), else an empty one."""
    return pulled if pulled is not None else Veille(root / "delivery", [])
