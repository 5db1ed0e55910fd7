"""Late bounces: delivery status notifications (RFC 3464) that arrive by mail, in a maildir.

`parse_dsn` reads one message: a `multipart/report; report-type=delivery-status` whose
`message/delivery-status` part holds one block per recipient (Original-Recipient, else
Final-Recipient; Action; Status). Status 5.x.x with Action `failed` is a hard bounce (the
address does not exist or refuses mail for good); 4.x.x or Action `delayed` is a soft one.
Anything else (an autoreply, a DSN saying "delivered", garbage) yields no bounce.

`read_maildir` hands every unread message of VEILLE_BOUNCE_MAILDIR to the store: a hard bounce
suspends the address at once, VEILLE_SOFT_BOUNCE_LIMIT soft ones in a row too; a report for an
address that is not a subscriber changes nothing. Each message read is marked seen and moved to
`cur/`, so the next run does not count it again; a malformed one is flagged as well and logged.
"""

from __future__ import annotations

import logging
import mailbox
import re
from dataclasses import dataclass, field
from datetime import datetime
from email import policy
from email.message import Message
from email.parser import BytesParser
from pathlib import Path

from sqlalchemy.engine import Engine

from veille import metrics
from veille.errors import ConfigError
from veille.store import subscribers as q
from veille.store.db import session_scope

log = logging.getLogger(__name__)
_STATUS = re.compile(r"^([245])\.\d{1,3}\.\d{1,3}")


@dataclass(frozen=True)
class Bounce:
    email: str
    hard: bool
    status: str  # e.g. 5.1.1
    note: str  # status and diagnostic, for the subscribers page


@dataclass
class BounceReport:
    read: int = 0
    hard: int = 0
    soft: int = 0
    suspended: int = 0
    unknown: int = 0  # reports for addresses that are not subscribers
    malformed: int = 0  # messages that are not delivery status notifications
    errors: list[str] = field(default_factory=list)

    def figures(self) -> dict[str, int]:
        return {
            "bounces_read": self.read,
            "bounces_hard": self.hard,
            "bounces_soft": self.soft,
            "suspended": self.suspended,
        }


def _address(value: str | None) -> str | None:
    """`rfc822; User@Example.org` → `user@example.org`."""
    if not value:
        return None
    kind, _, address = str(value).partition(";")
    address = (address if _ else kind).strip().strip("<>").strip()
    return address.lower() if "@" in address else None


def parse_dsn(msg: Message) -> list[Bounce]:
    """The bounces a delivery status notification reports (none for any other message)."""
    if msg.get_content_type() != "multipart/report":
        return []
    status_part = next(
        (p for p in msg.walk() if p.get_content_type() == "message/delivery-status"), None
    )
    if status_part is None:
        return []
    blocks = status_part.get_payload()
    if not isinstance(blocks, list) or len(blocks) < 2:
        return []
    found = []
    for block in blocks[1:]:  # the first block is about the message, the others per recipient
        email = _address(block.get("Original-Recipient")) or _address(block.get("Final-Recipient"))
        action = str(block.get("Action", "")).strip().lower()
        match = _STATUS.match(str(block.get("Status", "")).strip())
        if email is None or match is None or action in ("delivered", "relayed", "expanded"):
            continue
        hard = match.group(1) == "5" and action == "failed"
        soft = match.group(1) == "4" or action == "delayed"
        if not (hard or soft):
            continue
        diagnostic = " ".join(str(block.get("Diagnostic-Code", "")).split())
        status = match.group(0)
        note = f"{status} {diagnostic}".strip()[:300]
        found.append(Bounce(email, hard, status, note))
    return found


def read_maildir(
    engine: Engine, *, folder: Path, now: datetime, soft_limit: int = 3
) -> BounceReport:
    """Apply every unread DSN of the maildir `folder` to the subscribers; see the module."""
    if not (folder / "new").is_dir() or not (folder / "cur").is_dir():
        raise ConfigError(f"VEILLE_BOUNCE_MAILDIR: {folder} is not a maildir (no new/ and cur/)")
    box = mailbox.Maildir(folder, factory=None, create=False)
    report = BounceReport()
    for key in list(box.keys()):
        message = box.get_message(key)
        if "S" in message.get_flags():
            continue
        report.read += 1
        try:
            parsed = BytesParser(policy=policy.compat32).parsebytes(box.get_bytes(key))
            bounces = parse_dsn(parsed)
        except Exception as exc:  # a message we cannot even parse is reported, not fatal
            bounces = []
            report.errors.append(f"{key}: {exc}")
        if not bounces:
            report.malformed += 1
            metrics.BOUNCES.labels(kind="malformed").inc()
            log.warning("not a delivery status notification", extra={"item": key})
        for bounce in bounces:
            _apply(engine, bounce, now, soft_limit, report)
        message.set_subdir("cur")
        message.add_flag("S")
        box[key] = message
    if report.read:
        log.info("bounces read", extra={"stage": "bounces", **report.figures()})
    return report


def _apply(engine: Engine, bounce: Bounce, now: datetime, limit: int, report: BounceReport) -> None:
    with session_scope(engine) as session:
        outcome = q.record_bounce(
            session, email=bounce.email, hard=bounce.hard, note=bounce.note, now=now, limit=limit
        )
    if outcome is None:
        report.unknown += 1
        metrics.BOUNCES.labels(kind="unknown").inc()
        log.info("bounce for an unknown address", extra={"stage": "bounces"})
        return
    kind = "hard" if bounce.hard else "soft"
    metrics.BOUNCES.labels(kind=kind).inc()
    if bounce.hard:
        report.hard += 1
    else:
        report.soft += 1
    if outcome:
        report.suspended += 1
