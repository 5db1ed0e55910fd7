"""Counting into veille's registry and reading it back in Prometheus text format."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families

from veille import metrics


def _samples() -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    body, content_type = metrics.render()
    assert content_type.startswith("text/plain; version=")
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(body.decode())
        for s in family.samples
    }


def test_counts_show_in_the_rendered_text() -> None:
    before = metrics.value("veille_fetches_total", outcome="not_modified")
    metrics.FETCHES.labels(outcome="not_modified").inc(2)
    metrics.ITEMS_STORED.inc(5)
    metrics.EXTRACTIONS.labels(kind="article").inc()
    metrics.CLASSIFIED.labels(topic="open_collaboration").inc(3)
    metrics.DELIVERIES.labels(status="sent").inc()
    metrics.JOB_DURATION.labels(job="pull").observe(1.7)

    samples = _samples()
    assert samples[("veille_fetches_total", (("outcome", "not_modified"),))] == before + 2
    assert samples[("veille_items_stored_total", ())] >= 5
    assert samples[("veille_extractions_total", (("kind", "article"),))] >= 1
    assert samples[("veille_classified_total", (("topic", "open_collaboration"),))] >= 3
    assert samples[("veille_deliveries_total", (("status", "sent"),))] >= 1
    assert samples[("veille_job_duration_seconds_bucket", (("job", "pull"), ("le", "2.5")))] >= 1
    assert (
        samples[("veille_job_duration_seconds_bucket", (("job", "pull"), ("le", "1.0")))]
        < (samples[("veille_job_duration_seconds_bucket", (("job", "pull"), ("le", "2.5")))])
    )


def test_only_veille_metrics_are_exposed() -> None:
    names = {name for name, _ in _samples()}
    assert names and all(name.startswith("veille_") for name in names)
    assert metrics.value("veille_fetches_total", outcome="never_counted") == 0.0
