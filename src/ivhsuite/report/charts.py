"""Inline SVG charts: the report must open offline, with no script, font or image fetched."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from html import escape

WIDTH, HEIGHT = 640, 240
LEFT, RIGHT, TOP, BOTTOM = 56, 16, 28, 36
PALETTE = ("#2563eb", "#dc2626", "#16a34a", "#9333ea", "#ea580c", "#0891b2")

Point = tuple[float, float]


def _scale(values: Sequence[float], low_px: float, high_px: float) -> tuple[float, float, Callable[[float], float]]:
    low, high = (min(values), max(values)) if values else (0.0, 1.0)
    low = min(low, 0.0)
    if high <= low:
        high = low + 1.0
    span = high - low

    def to_px(value: float) -> float:
        return low_px + (value - low) / span * (high_px - low_px)

    return low, high, to_px


def _number(value: float) -> str:
    return f"{value:,.0f}" if abs(value) >= 10 else f"{value:.2g}"


def _frame(title: str, x_label: str, y_label: str, body: str, y_range: tuple[float, float]) -> str:
    low, high = y_range
    return (
        f'<svg class="chart" role="img" aria-label="{escape(title)}" viewBox="0 0 {WIDTH} {HEIGHT}" '
        f'xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}">'
        f"<title>{escape(title)}</title>"
        f'<text x="{LEFT}" y="16" class="chart-title">{escape(title)}</text>'
        f'<line x1="{LEFT}" y1="{HEIGHT - BOTTOM}" x2="{WIDTH - RIGHT}" y2="{HEIGHT - BOTTOM}" class="axis"/>'
        f'<line x1="{LEFT}" y1="{TOP}" x2="{LEFT}" y2="{HEIGHT - BOTTOM}" class="axis"/>'
        f'<text x="{LEFT - 6}" y="{HEIGHT - BOTTOM}" text-anchor="end" class="tick">{_number(low)}</text>'
        f'<text x="{LEFT - 6}" y="{TOP + 8}" text-anchor="end" class="tick">{_number(high)}</text>'
        f'<text x="{WIDTH - RIGHT}" y="{HEIGHT - 8}" text-anchor="end" class="tick">{escape(x_label)}</text>'
        f'<text x="4" y="{TOP - 10}" class="tick">{escape(y_label)}</text>'
        f"{body}</svg>"
    )


def line_chart(title: str, series: Mapping[str, Sequence[Point]], x_label: str = "s", y_label: str = "") -> str:
    """One polyline per series over a shared x and y scale, with a legend."""
    points = [point for values in series.values() for point in values]
    if not points:
        return empty_chart(title)
    _, _, x_px = _scale([x for x, _ in points], LEFT, WIDTH - RIGHT)
    low, high, y_px = _scale([y for _, y in points], HEIGHT - BOTTOM, TOP)
    parts = []
    for index, (name, values) in enumerate(series.items()):
        color = PALETTE[index % len(PALETTE)]
        coords = " ".join(f"{x_px(x):.1f},{y_px(y):.1f}" for x, y in values)
        parts.append(f'<polyline fill="none" stroke="{color}" stroke-width="2" points="{coords}"/>')
        if len(values) == 1:
            x, y = values[0]
            parts.append(f'<circle cx="{x_px(x):.1f}" cy="{y_px(y):.1f}" r="3" fill="{color}"/>')
        legend_x = LEFT + 8 + index * 120
        parts.append(f'<rect x="{legend_x}" y="{TOP - 2}" width="10" height="3" fill="{color}"/>')
        parts.append(f'<text x="{legend_x + 14}" y="{TOP + 2}" class="legend">{escape(name)}</text>')
    return _frame(title, x_label, y_label, "".join(parts), (low, high))


def bar_chart(title: str, bars: Sequence[tuple[str, float]], y_label: str = "") -> str:
    """Labelled vertical bars, for a distribution."""
    if not bars:
        return empty_chart(title)
    low, high, y_px = _scale([value for _, value in bars], HEIGHT - BOTTOM, TOP)
    slot = (WIDTH - LEFT - RIGHT) / len(bars)
    parts = []
    for index, (label, value) in enumerate(bars):
        x = LEFT + index * slot + slot * 0.15
        top = y_px(value)
        parts.append(
            f'<rect x="{x:.1f}" y="{top:.1f}" width="{slot * 0.7:.1f}" height="{HEIGHT - BOTTOM - top:.1f}" '
            f'fill="{PALETTE[0]}"><title>{escape(label)}: {_number(value)}</title></rect>'
        )
        parts.append(
            f'<text x="{x + slot * 0.35:.1f}" y="{HEIGHT - BOTTOM + 14}" text-anchor="middle" class="tick">'
            f"{escape(label)}</text>"
        )
    return _frame(title, "", y_label, "".join(parts), (low, high))


def empty_chart(title: str) -> str:
    body = f'<text x="{WIDTH / 2}" y="{HEIGHT / 2}" text-anchor="middle" class="tick">no data</text>'
    return _frame(title, "", "", body, (0.0, 1.0))
