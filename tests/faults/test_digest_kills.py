"""`veille digest --send` SIGKILLed 20 times against a real SMTP sink (aiosmtpd on 127.0.0.1),
at random moments and a few messages into sending, then run to the end.

What the message in flight at a kill becomes: its Delivery row was marked `sending` just
before the transport released it, and a restart counts such a row as sent (at most once,
never twice). So a subscriber gets exactly one copy, or none when the kill fell between that
mark and the server taking the message: the test counts those and names them.
"""

from __future__ import annotations

import os
import random
import subprocess
import sys
import time
from collections import Counter

from sqlmodel import select

from tests.conftest import ROOT
from tests.fixtures.digest.mailserver import MailServer
from tests.fixtures.digest.seed import seed_items, seed_subscribers
from veille.digest.select import local_day
from veille.store import Delivery, Subscriber, open_store, session_scope, utcnow

SUBSCRIBERS = 120
KILLS = 20


def test_a_sender_killed_20_times_sends_each_copy_at_most_once(tmp_path, settings) -> None:  # noqa: ANN001
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
        VEILLE_SEND_RATE="200",
        VEILLE_SECRET_KEY="k",
        VEILLE_BASE_URL="https://veille.example.org",
        VEILLE_LOG_LEVEL="ERROR",
    )
    day = local_day(now, settings.timezone).isoformat()
    command = [sys.executable, "-m", "veille", "digest", "--send", "--date", day]
    kills = 0
    try:
        for i in range(KILLS):
            proc = subprocess.Popen(
                command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
            )
            if i % 2:  # a few messages into sending
                target, deadline = mail.count() + rng.randint(1, 4), time.monotonic() + 30
                while mail.count() < target and proc.poll() is None and time.monotonic() < deadline:
                    time.sleep(0.001)
                time.sleep(rng.uniform(0, 0.01))
            else:  # anywhere: starting, building the issue, sending
                time.sleep(rng.uniform(0.3, 2.5))
            kills += proc.poll() is None
            proc.kill()
            proc.wait(timeout=30)
        final = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, timeout=300)
    finally:
        mail.close()
    copies = Counter(rcpt for rcpt, _ in mail.messages())
    with session_scope(engine) as s:
        emails = {sub.id: sub.email for sub in s.exec(select(Subscriber)).all()}
        rows = s.exec(select(Delivery)).all()
    engine.dispose()
    missing = sorted(set(emails.values()) - set(copies))
    in_flight = {emails[r.subscriber_id] for r in rows if r.status == "sending"}
    figures = (
        f"seed={seed}: {kills} of {KILLS} runs killed mid-run, {len(copies)} of {SUBSCRIBERS} "
        f"subscribers got a copy, {sum(n > 1 for n in copies.values())} got two or more, "
        f"{len(missing)} got none (all in flight at a kill: {set(missing) <= in_flight})"
    )
    print(figures)
    assert final.returncode == 0, final.stderr.decode()[-1000:]
    assert all(n == 1 for n in copies.values()), figures
    assert set(missing) <= in_flight and len(missing) <= kills, figures
    assert len({r.subscriber_id for r in rows}) == SUBSCRIBERS, figures
