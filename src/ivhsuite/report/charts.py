"""The report's charts, drawn by pygal as static SVG inlined in the page.

The report must open offline and run no script: pygal's tooltip script (fetched from a CDN)
is never asked for, the config script it inlines for that script is dropped, its CSS stays
inline in each SVG, and its comments (which name its web site) are dropped too.
Time series share one x axis: seconds since the run started, labelled. A chart is drawn only when
it has something to say (:func:`meaningful`); the page shows the numbers otherwise.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

import pygal
from pygal.style import Style

WIDTH, HEIGHT = 640, 300
PALETTE = ("#2563eb", "#dc2626", "#16a34a", "#9333ea", "#ea580c", "#0891b2")
TIME_AXIS = "seconds since the run started"
STYLE = Style(
    background="#ffffff",
    plot_background="#ffffff",
    foreground="#374151",
    foreground_strong="#111827",
    foreground_subtle="#e5e7eb",
    colors=PALETTE,
    font_family="system-ui, -apple-system, 'Segoe UI', sans-serif",
    title_font_size=14,
    label_font_size=11,
    major_label_font_size=11,
    legend_font_size=11,
    no_data_font_size=14,
)
_DROPPED = re.compile(r"<!--.*?-->|<script\b.*?</script>", re.DOTALL)

Point = tuple[float, float]


def _number(value: float) -> str:
    """Integers as integers (with thousands separators), small values with two significant digits."""
    if value == int(value):
        return f"{int(value):,}"
    return f"{value:,.0f}" if abs(value) >= 10 else f"{value:.2g}"


def _seconds(value: float) -> str:
    return f"{value:.0f} s" if value == int(value) else f"{value:.1f} s"


def _config(title: str, y_title: str, x_title: str = "") -> dict[str, object]:
    return {
        "title": title,
        "x_title": x_title,
        "y_title": y_title,
        "style": STYLE,
        "width": WIDTH,
        "height": HEIGHT,
        "explicit_size": True,
        "js": [],  # the tooltip script comes from a CDN: the page must open offline
        "classes": ["pygal-chart", "chart"],
        "disable_xml_declaration": True,
        "legend_at_bottom": True,
        "legend_at_bottom_columns": 4,
        "show_minor_x_labels": True,
        "truncate_legend": -1,
        "no_data_text": "no data",
        "value_formatter": _number,
        "margin": 8,
        "margin_bottom": 40,  # pygal places a bottom legend below an x title without room for it
    }


def _svg(chart: pygal.graph.graph.Graph) -> str:
    return _DROPPED.sub("", chart.render(is_unicode=True))


MIN_SAMPLES = 5  # fewer samples are no time series: the page shows the numbers instead
MIN_SPREAD = 0.2  # a distribution whose values lie within 20 % of its largest is a number, not a curve


def meaningful(series: Mapping[str, Sequence[Point]]) -> bool:
    """Whether a time series has something to say: some line of ``MIN_SAMPLES`` samples or more that is not flat."""
    return any(len(points) >= MIN_SAMPLES and len({y for _, y in points}) > 1 for points in series.values())


def spread(values: Sequence[float]) -> bool:
    """Whether a distribution is worth a curve: its values differ by more than ``MIN_SPREAD`` of the largest."""
    top = max(values, default=0.0)
    return top > 0 and (top - min(values)) / top > MIN_SPREAD


def line_chart(
    title: str, series: Mapping[str, Sequence[Point]], y_title: str = "", secondary: Sequence[str] = ()
) -> str:
    """One line per series over time (x in seconds since the run started); ``secondary`` names go on the right axis."""
    chart = pygal.XY(
        **_config(title, y_title, TIME_AXIS),
        x_value_formatter=_seconds,
        show_dots=any(len(points) == 1 for points in series.values()),
        dots_size=3,
        stroke_style={"width": 2},
        include_x_axis=True,
    )
    for name, points in series.items():
        chart.add(name, [(float(x), float(y)) for x, y in points], secondary=name in secondary)
    return _svg(chart)


def bar_chart(title: str, labels: Sequence[str], series: Mapping[str, Sequence[float]], y_title: str = "") -> str:
    """Bars per label, one colour per series (e.g. p50/p95/p99 per operation)."""
    chart = pygal.Bar(**_config(title, y_title), show_legend=len(series) > 1, x_label_rotation=20)
    chart.x_labels = list(labels)
    for name, values in series.items():
        chart.add(name, [float(value) for value in values])
    return _svg(chart)


def cdf_chart(title: str, series: Mapping[str, Sequence[Point]], x_title: str) -> str:
    """Cumulative distributions from 0: x the measured value, y the share (%) of measurements at or below it."""
    top = max((x for points in series.values() for x, _ in points), default=1.0)
    chart = pygal.XY(
        **_config(title, "% at or below", x_title),
        xrange=(0, top * 1.05),
        x_value_formatter=lambda value: f"{value:g}",
        show_dots=True,
        dots_size=3,
        stroke_style={"width": 2},
        range=(0, 100),
        include_x_axis=True,
    )
    for name, points in series.items():
        chart.add(name, [(float(x), float(y)) for x, y in points])
    return _svg(chart)
