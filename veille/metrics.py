"""Prometheus metrics: one registry every layer counts into, rendered by the web app's /metrics.

A leaf module (it imports only prometheus_client) so that stages, the orchestrator, the
scheduler and the web app can all count without importing each other. The registry is our own,
not prometheus_client's global one, so /metrics shows veille's figures and nothing else, and
tests can read values back with `value()`.

    from veille import metrics
    metrics.FETCHES.labels(outcome="not_modified").inc()
    body, content_type = metrics.render()
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.exposition import CONTENT_TYPE_LATEST, generate_latest

REGISTRY = CollectorRegistry(auto_describe=True)

FETCHES = Counter(
    "veille_fetches",
    "Source fetches by outcome (ok, not_modified, failed, skipped).",
    ["outcome"],
    registry=REGISTRY,
)
ITEMS_STORED = Counter(
    "veille_items_stored",
    "New items written to the store.",
    registry=REGISTRY,
)
EXTRACTIONS = Counter(
    "veille_extractions",
    "Texts kept for items, by where they came from (article, feed_content, summary).",
    ["kind"],
    registry=REGISTRY,
)
CLASSIFIED = Counter(
    "veille_classified",
    "Items classified, by topic given (off_topic when none).",
    ["topic"],
    registry=REGISTRY,
)
DELIVERIES = Counter(
    "veille_deliveries",
    "Digest emails by delivery status (sent, failed, rejected).",
    ["status"],
    registry=REGISTRY,
)
FEEDBACK = Counter(
    "veille_reader_reports",
    "Readers' 'off topic?' clicks by outcome (new, repeat, invalid, refused).",
    ["outcome"],
    registry=REGISTRY,
)
BOUNCES = Counter(
    "veille_bounces",
    "Bounce reports read from the bounce mailbox, by kind (hard, soft, unknown, malformed).",
    ["kind"],
    registry=REGISTRY,
)
JOB_DURATION = Histogram(
    "veille_job_duration_seconds",
    "Wall time of scheduled and manual jobs (pull, digest, publish, retrain).",
    ["job"],
    # A pull takes seconds, a digest to thousands of subscribers or a retrain minutes.
    buckets=(0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600),
    registry=REGISTRY,
)


def render() -> tuple[bytes, str]:
    """The Prometheus text exposition of every veille metric and its content type."""
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST


def value(name: str, **labels: str) -> float:
    """One sample's current value (0 when never counted): for tests and `veille status`."""
    found = REGISTRY.get_sample_value(name, labels)
    return 0.0 if found is None else found
