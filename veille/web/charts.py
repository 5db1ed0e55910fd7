"""Charts as server-side SVG: no script, nothing loaded from elsewhere, readable without CSS.

Each function returns an `<svg>` string that scales to its container (viewBox), carries a
<title> for screen readers, and escapes every label (source names come from feeds). Colours
come from classes (`s1`, `s2`…) styled in veille.css.
"""

from __future__ import annotations

import math
from html import escape

from markupsafe import Markup

WIDTH = 720  # columns on a wide screen
NARROW = 360  # columns on a phone: about its width, so the 11 px text stays ~11 px
BARS_WIDTH = 360  # bars: drawn at a phone's width, so labels stay legible there
BAR_HEIGHT = 22
LABEL_SPACE = 56  # px of the drawing one day label needs


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
    title: str,
    columns: list[str],
    series: list[tuple[str, list[int]]],
    height: int = 240,
    width: int = WIDTH,
) -> Markup:
    """One column per label in `columns` (e.g. days), stacked by series (e.g. topics). The
    legend is left to the page (HTML wraps where an SVG line would be cut)."""
    left, bottom, top_pad = 36, 24, 12
    plot_h = height - bottom - top_pad
    totals = [sum(values[i] for _, values in series) for i in range(len(columns))]
    ticks = _ticks(max(totals, default=0))
    scale = plot_h / ticks[-1]
    step = (width - left - 8) / max(1, len(columns))
    every = max(1, math.ceil(LABEL_SPACE / step))  # the newest column is always labelled
    body: list[str] = []
    for tick in ticks:
        y = top_pad + plot_h - tick * scale
        body.append(f'<line class="grid" x1="{left}" x2="{width - 4}" y1="{y:.1f}" y2="{y:.1f}"/>')
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
        if (len(columns) - 1 - i) % every == 0:
            anchor = "end" if i == len(columns) - 1 else "middle"
            lx = x + step * 0.7 if anchor == "end" else x + step * 0.35
            body.append(
                f'<text class="axis" x="{lx:.1f}" y="{height - bottom + 16}" '
                f'text-anchor="{anchor}">{escape(label)}</text>'
            )
    return _svg(title, height, body, width=width, kind="columns")


def bars(
    title: str,
    rows: list[tuple[str, float, str]],
    maximum: float | None = None,
    bar_class: str = "bar",
) -> Markup:
    """Horizontal bars: (label, value, value as shown). `maximum` fixes the scale (1 for shares)."""
    label_w, pad = 192, 8
    height = max(1, len(rows)) * (BAR_HEIGHT + pad) + pad
    top = maximum or max((v for _, v, _ in rows), default=0) or 1
    plot_w = BARS_WIDTH - label_w - 48
    body: list[str] = []
    for i, (label, value, shown) in enumerate(rows):
        y = pad + i * (BAR_HEIGHT + pad)
        short = label if len(label) <= 26 else label[:25] + "…"
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


def curves(
    title: str,
    lines: list[tuple[str, list[float], list[float], tuple[float, float] | None]],
    x_label: str,
    y_label: str,
    percent: str = "%",
) -> Markup:
    """Lines on a 0–1 × 0–1 square, one per (name, xs, ys, chosen point): e.g. how many found
    against how many right, for each threshold the model could use, with the one it uses."""
    size, left, bottom, top = NARROW, 58, 40, 10
    plot = size - left - 22  # room for the last x label
    height = plot + top + bottom

    def xy(x: float, y: float) -> tuple[float, float]:
        return left + x * plot, top + (1 - y) * plot

    body: list[str] = []
    for tick in (0.0, 0.25, 0.5, 0.75, 1.0):
        x0, y0 = xy(0, tick)
        x1, _ = xy(1, tick)
        body.append(f'<line class="grid" x1="{x0}" x2="{x1}" y1="{y0:.1f}" y2="{y0:.1f}"/>')
        body.append(
            f'<text class="axis" x="{left - 6}" y="{y0 + 4:.1f}" text-anchor="end">'
            f"{round(tick * 100)}{percent}</text>"
        )
        gx, gy = xy(tick, 0)
        body.append(
            f'<text class="axis" x="{gx:.1f}" y="{gy + 16:.1f}" text-anchor="middle">'
            f"{round(tick * 100)}{percent}</text>"
        )
    body.append(
        f'<text class="axis" x="{left + plot / 2:.1f}" y="{height - 4}" text-anchor="middle">'
        f"{escape(x_label)}</text>"
    )
    body.append(
        f'<text class="axis" x="10" y="{top + plot / 2:.1f}" text-anchor="middle" '
        f'transform="rotate(-90 10 {top + plot / 2:.1f})">{escape(y_label)}</text>'
    )
    for n, (name, xs, ys, chosen) in enumerate(lines, start=1):
        points = " ".join(
            f"{px:.1f},{py:.1f}" for px, py in (xy(x, y) for x, y in zip(xs, ys, strict=True))
        )
        body.append(
            f'<polyline class="line l{n}" points="{points}"><title>{escape(name)}</title>'
            "</polyline>"
        )
        if chosen is not None:
            cx, cy = xy(*chosen)
            body.append(f'<circle class="s{n}" cx="{cx:.1f}" cy="{cy:.1f}" r="4"/>')
    return _svg(title, height, body, width=size, kind="curves")
