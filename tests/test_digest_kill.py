"""`veille digest --send` killed with SIGKILL at random points, then run again: one copy each.

The sender is a real subprocess talking to a real SMTP server on 127.0.0.1. It is killed while
starting, in the middle of sending, and at the very moment the server takes a message (from the
server's own handler, before it answers); the restarts must finish the job without a duplicate.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter

import pytest
from sqlmodel import select

from tests.conftest import ROOT
from tests.fixtures.digest.mailserver import MailServer
from tests.fixtures.digest.seed import seed_items, seed_subscribers
from veille.digest.select import local_day
from veille.store import Delivery, open_store, session_scope, utcnow

pytestmark = pytest.mark.slow
SUBSCRIBERS = 40


def test_a_killed_sender_restarts_and_nobody_gets_two_copies(tmp_path, settings) -> None:  # noqa: ANN001
    seed = int(os.environ.get("DIGEST_KILL_SEED", time.time()))
    rng = random.Random(seed)
    url = f"sqlite:///{tmp_path / 'kill.db'}"
    engine = open_store(url)
    now = utcnow()
    seed_items(engine, now)
    seed_subscribers(engine, now, SUBSCRIBERS)
    mail = MailServer()
    env = {k: v for k, v in os.environ.items() if not k.startswith("VEILLE_")}
    env.update(
        VEILLE_DATABASE_URL=url,
        VEILLE_DATA_DIR=str(settings.data_dir),
        VEILLE_SMTP_URL=mail.url,
        VEILLE_SEND_RATE="60",
        VEILLE_SECRET_KEY="k",
        VEILLE_BASE_URL="https://veille.example.org",
        VEILLE_LOG_LEVEL="WARNING",
    )
    day = local_day(now, settings.timezone).isoformat()

    def start() -> subprocess.Popen:
        return subprocess.Popen(
            [sys.executable, "-m", "veille", "digest", "--send", "--date", day],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )

    def kill_after(proc: subprocess.Popen, more: int) -> None:
        target, deadline = mail.count() + more, time.monotonic() + 60
        while mail.count() < target and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.001)
        time.sleep(rng.uniform(0, 0.015))  # anywhere in the next message's transaction
        proc.kill()
        proc.communicate(timeout=30)

    kills = []
    try:
        proc = start()  # 1. killed at a random time, maybe before it sends anything
        time.sleep(rng.uniform(0.2, 2.5))
        proc.kill()
        proc.communicate(timeout=30)
        kills.append(("time", mail.count()))
        kill_after(proc := start(), rng.randint(2, 8))  # 2. mid-send, a few messages on
        kills.append(("mid-send", mail.count()))
        # 3. killed by the server the instant it takes a message, before it says 250
        proc = start()
        at = mail.count() + rng.randint(1, 5)
        mail.on_message = lambda n: os.kill(proc.pid, signal.SIGKILL) if n == at else None
        proc.communicate(timeout=120)
        mail.on_message = None
        kills.append(("in handler", mail.count()))
        final = start()
        out, err = final.communicate(timeout=120)
    finally:
        mail.close()
    context = f"seed={seed} kills={kills} stderr={err.decode()[-500:]!r}"
    print(context)
    assert final.returncode == 0, context
    assert b"delivered" in out, context
    copies = Counter(rcpt for rcpt, _ in mail.messages())
    assert len(copies) == SUBSCRIBERS, context
    assert set(copies.values()) == {1}, (
        f"duplicates {[r for r, n in copies.items() if n > 1]} {context}"
    )
    with session_scope(engine) as s:
        rows = s.exec(select(Delivery)).all()
    assert len(rows) == SUBSCRIBERS and {r.status for r in rows} == {"sent"}, context
    assert len({r.message_id for r in rows}) == SUBSCRIBERS
    engine.dispose()
