"""Charts as server-side SVG: no script, nothing loaded from elsewhere, readable without CSS.

Each function returns an `<svg>` string that scales to its container (viewBox), carries a
<title> for screen readers, and escapes every label (source names come from feeds). Colours
come from classes (`s1`, `s2`…) styled in veille.css.
"""

from __future__ import annotations

from html import escape

from markupsafe import Markup

WIDTH = 720  # columns: wide, scrolled sideways on a phone
BARS_WIDTH = 480  # bars: narrow enough to stay legible on a phone
BAR_HEIGHT = 22


def _ticks(top: float, count: int = 4) -> list[float]:
    """Round tick values from 0 to at least `top` (1, 2, 5 × 10^n steps)."""
    if top <= 0:
        return [0.0, 1.0]
    raw = top / count
    magnitude = 10 ** (len(str(int(raw))) - 1) if raw >= 1 else 1
    step = next(m * magnitude for m in (1, 2, 5, 10) if m * magnitude >= raw)
    ticks = [0.0]
    while ticks[-1] < top:
        ticks.append(ticks[-1] + step)
    return ticks


def _svg(title: str, height: int, body: list[str], width: int = WIDTH, kind: str = "") -> Markup:
    head = (
        f'<svg class="chart {kind}" viewBox="0 0 {width} {height}" role="img" '
        f'xmlns="http://www.w3.org/2000/svg" preserveAspectRatio="xMinYMin meet">'
        f"<title>{escape(title)}</title>"
    )
    return Markup(head + "".join(body) + "</svg>")


def stacked_columns(
    title: str, columns: list[str], series: list[tuple[str, list[int]]], height: int = 260
) -> Markup:
    """One column per label in `columns` (e.g. days), stacked by series (e.g. topics)."""
    left, bottom, top_pad = 44, 40, 12
    plot_h = height - bottom - top_pad
    totals = [sum(values[i] for _, values in series) for i in range(len(columns))]
    ticks = _ticks(max(totals, default=0))
    scale = plot_h / ticks[-1]
    step = (WIDTH - left - 8) / max(1, len(columns))
    body: list[str] = []
    for tick in ticks:
        y = top_pad + plot_h - tick * scale
        body.append(f'<line class="grid" x1="{left}" x2="{WIDTH - 4}" y1="{y:.1f}" y2="{y:.1f}"/>')
        body.append(
            f'<text class="axis" x="{left - 6}" y="{y + 4:.1f}" text-anchor="end">'
            f"{int(tick)}</text>"
        )
    for i, label in enumerate(columns):
        x = left + i * step + step * 0.15
        base = top_pad + plot_h
        for n, (name, values) in enumerate(series, start=1):
            h = values[i] * scale
            if h > 0:
                base -= h
                body.append(
                    f'<rect class="s{n}" x="{x:.1f}" y="{base:.1f}" width="{step * 0.7:.1f}" '
                    f'height="{h:.1f}"><title>{escape(label)} · {escape(name)}: {values[i]}'
                    f"</title></rect>"
                )
        if len(columns) <= 10 or i % max(1, len(columns) // 8) == 0:
            body.append(
                f'<text class="axis" x="{x + step * 0.35:.1f}" y="{height - bottom + 16}" '
                f'text-anchor="middle">{escape(label)}</text>'
            )
    for n, (name, _) in enumerate(series, start=1):
        x = left + (n - 1) * 220
        body.append(f'<rect class="s{n}" x="{x}" y="{height - 14}" width="12" height="12"/>')
        body.append(f'<text class="legend" x="{x + 18}" y="{height - 3}">{escape(name)}</text>')
    return _svg(title, height, body, kind="columns")


def bars(
    title: str,
    rows: list[tuple[str, float, str]],
    maximum: float | None = None,
    bar_class: str = "bar",
) -> Markup:
    """Horizontal bars: (label, value, value as shown). `maximum` fixes the scale (1 for shares)."""
    label_w, pad = 190, 8
    height = max(1, len(rows)) * (BAR_HEIGHT + pad) + pad
    top = maximum or max((v for _, v, _ in rows), default=0) or 1
    plot_w = BARS_WIDTH - label_w - 60
    body: list[str] = []
    for i, (label, value, shown) in enumerate(rows):
        y = pad + i * (BAR_HEIGHT + pad)
        short = label if len(label) <= 24 else label[:23] + "…"
        body.append(
            f'<text class="label" x="{label_w - 8}" y="{y + 16}" text-anchor="end">'
            f"<title>{escape(label)}</title>{escape(short)}</text>"
        )
        body.append(
            f'<rect class="track" x="{label_w}" y="{y}" width="{plot_w}" height="{BAR_HEIGHT}"/>'
        )
        body.append(
            f'<rect class="{bar_class}" x="{label_w}" y="{y}" '
            f'width="{plot_w * min(value, top) / top:.1f}" height="{BAR_HEIGHT}"/>'
        )
        body.append(
            f'<text class="value" x="{label_w + plot_w + 8}" y="{y + 16}">{escape(shown)}</text>'
        )
    return _svg(title, height, body, width=BARS_WIDTH, kind="bars")
