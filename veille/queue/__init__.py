"""The distributed engine (VEILLE_EXECUTOR=procrastinate): jobs in PostgreSQL, run by any
number of `veille worker` processes on any number of machines.

    tick  (every minute, once for the cluster)  what is due by veille's plan → jobs
    reap  (every 10 s)                          jobs of dead workers → todo again
    fetch_host(host, source_ids)   lock host:H    refresh_ids: fetch, extract, file, classify
    build_digest(day)              lock digest    the issue, its deliveries, its send jobs
    send_batch(digest_id, lane)    lock send:D:L  one SMTP lane; each delivery claimed first
    publish                        lock publish   archive and feeds, once per issue
    retrain                        lock retrain   the weekly retraining

Each job's effect is conditional or keyed, so a job run twice (a retry after a kill, two
copies deferred at once) has its effect once; jobs that follow data are deferred in the
transaction that writes the data, so a rollback leaves no job.
"""

from veille.queue.app import LANES, app, conninfo, defer, open_app
from veille.queue.tick import tick_once

__all__ = ["LANES", "app", "conninfo", "defer", "open_app", "tick_once"]
