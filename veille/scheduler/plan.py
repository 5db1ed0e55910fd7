"""When each job runs: the plan read from settings, its triggers, and which occurrence is due.

Triggers are plain APScheduler triggers so their next fire times can be computed for any `now`
(tests inject it; `veille status` shows them without a running scheduler).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from veille.errors import ConfigError
from veille.settings import Settings

# The job names, also the lease names and the job_run.job values.
PULL, DIGEST, PUBLISH, RETRAIN = "pull", "digest", "publish", "retrain"
JOB_NAMES = (PULL, DIGEST, PUBLISH, RETRAIN)


@dataclass(frozen=True)
class Plan:
    timezone: ZoneInfo
    digest_at: time = time(7, 0)
    # The pull job only wakes up; each source's own interval (feeds.yaml) says when it is due.
    pull_every: timedelta = timedelta(minutes=10)
    pull_jitter: int = 60  # seconds, so that many installs do not hit the same hosts at :00
    retrain_day: str = "sun"
    retrain_at: time = time(3, 30)
    # A digest late by up to this much (machine asleep, restart at 08:00) is still sent, once.
    digest_grace: timedelta = timedelta(hours=4)
    retrain_grace: timedelta = timedelta(days=1)
    # A lease outlives a crashed owner by at most this; running jobs renew it every third.
    lease: timedelta = timedelta(minutes=15)
    keep_history: timedelta = timedelta(days=90)

    @classmethod
    def from_settings(cls, settings: Settings) -> Plan:
        return cls(
            timezone=parse_timezone(settings.timezone),
            digest_at=parse_clock_time(settings.digest_time),
        )


def parse_timezone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(
            f"VEILLE_TIMEZONE: unknown time zone {name!r}; use an IANA name such as Europe/Paris"
        ) from None


def parse_clock_time(value: str) -> time:
    try:
        return time.fromisoformat(value)
    except ValueError:
        raise ConfigError(
            f"VEILLE_DIGEST_TIME: expected HH:MM between 00:00 and 23:59 (got {value!r})"
        ) from None


def triggers(plan: Plan, *, now: datetime) -> dict[str, BaseTrigger]:
    """The trigger of each scheduled job; publish has none, it follows the digest.

    The pull interval counts from `now` (APScheduler would count from the wall clock).
    """
    tz = plan.timezone
    return {
        PULL: IntervalTrigger(
            seconds=plan.pull_every.total_seconds(),
            jitter=plan.pull_jitter,
            start_date=now + plan.pull_every,
            timezone=tz,
        ),
        DIGEST: CronTrigger(hour=plan.digest_at.hour, minute=plan.digest_at.minute, timezone=tz),
        RETRAIN: CronTrigger(
            day_of_week=plan.retrain_day,
            hour=plan.retrain_at.hour,
            minute=plan.retrain_at.minute,
            timezone=tz,
        ),
    }


def occurrence(trigger: BaseTrigger, now: datetime, within: timedelta) -> datetime | None:
    """The latest fire time in [now - within, now]: the occurrence a run at `now` serves.

    It is the key that makes "once per occurrence" hold across processes: a run is skipped
    when a successful run of the same job started at or after it.
    """
    found = None
    when = trigger.get_next_fire_time(None, now - within)
    while when is not None and when <= now:
        found = when
        when = trigger.get_next_fire_time(when, when + timedelta(seconds=1))
    return found


def upcoming(plan: Plan, *, now: datetime) -> dict[str, datetime]:
    """Next fire time of every job after `now` (publish right after the digest)."""
    out: dict[str, datetime] = {}
    for name, trigger in triggers(plan, now=now).items():
        when = trigger.get_next_fire_time(None, now)
        if when is not None:
            out[name] = when
    if DIGEST in out:
        out[PUBLISH] = out[DIGEST]
    return {name: out[name] for name in JOB_NAMES if name in out}
