"""Statistics page: items per day per topic, top sources, share of items reviewed.

The queries are the store's (veille/store/stats.py); days are cut in VEILLE_TIMEZONE, so an
item stored at 00:30 in Paris counts for that day, not the one before.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from veille import i18n
from veille.store import session_scope, utcnow
from veille.store import stats as stored
from veille.types import TOPICS
from veille.web import charts
from veille.web.auth import require_curator
from veille.web.render import renderer

router = APIRouter(dependencies=[Depends(require_curator)])
DAYS = 30
PHONE_DAYS = 14


@router.get("/stats")
def stats_page(request: Request) -> Response:
    render = renderer(request)
    lang = render.lang(request)
    tr = render.gettext
    zone = ZoneInfo(request.app.state.settings.timezone)
    today = utcnow().astimezone(zone).date()
    columns = [today - timedelta(days=DAYS - 1 - i) for i in range(DAYS)]
    keys = [d.isoformat() for d in columns]
    # Each local day starts at its own midnight (23 or 25 hours around a clock change).
    starts = [datetime.combine(d, time(), tzinfo=zone) for d in columns]
    with session_scope(request.app.state.engine) as s:
        days = stored.per_day(s, days=list(zip(keys, starts, strict=True)))
        sources = stored.top_sources(s, since=starts[0])
        shares = stored.reviewed_share(s)
    env = render.envs[lang]
    topic_name = env.filters["topic"]
    series = [(topic_name(t), [days.get(k, Counter())[t] for k in keys]) for t in TOPICS]
    labels = [i18n.format_date(d, lang, "d MMM") for d in columns]
    title = tr(request, "Items per day per topic")
    per_day_svg = charts.stacked_columns(title, labels, series)
    # A phone gets the last two weeks at its own width rather than a month scaled down.
    recent = [(name, values[-PHONE_DAYS:]) for name, values in series]
    per_day_phone = charts.stacked_columns(title, labels[-PHONE_DAYS:], recent, width=charts.NARROW)
    sources_svg = charts.bars(
        tr(request, "Top sources"), [(name, n, env.filters["number"](n)) for name, n in sources]
    )
    share_rows = []
    for key in ("", *TOPICS, "none"):
        n, done = shares[key]
        name = {"": tr(request, "All items"), "none": tr(request, "Off-topic")}.get(
            key
        ) or topic_name(key)
        share_rows.append(
            (name, done / n if n else 0.0, env.filters["percent"](done / n) if n else "–")
        )
    share_svg = charts.bars(tr(request, "Share of items reviewed"), share_rows, maximum=1.0)
    total = sum(c[""] for c in days.values())
    return render.page(
        request,
        "stats.html",
        per_day_svg=per_day_svg,
        per_day_phone=per_day_phone,
        phone_days=PHONE_DAYS,
        sources_svg=sources_svg,
        share_svg=share_svg,
        days=DAYS,
        total=total,
        series=series,
        labels=labels,
        sources=sources,
        shares=shares,
    )
