"""Charts as inline SVG, drawn on the server: no script, no network, the same in the page,
the downloadable HTML file and a screenshot.

Every text that reaches the SVG is escaped here. A point's or bar's figures are in a
``<title>`` child, which browsers show as a tooltip without any JavaScript.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from html import escape

from markupsafe import Markup

WIDTH = 960
PAD_LEFT, PAD_RIGHT, PAD_TOP, PAD_BOTTOM = 56, 16, 28, 52
MAX_TICKS = 10
TICK_SIZE, MARKER_SIZE, LABEL_GAP = 12, 11, 8
"""Font sizes of axis and marker labels (as engagement.css draws them) and the space kept between labels."""
MARKER_ROWS, MARKER_ROW_HEIGHT = 3, 17
PLATFORM_COLORS = {
    "douyin": "#fe2c55", "kuaishou": "#ff7a00", "channels": "#07c160", "bilibili": "#00a1d6", "taobao": "#c9a000",
    "wecom": "#2f7ef5", "web": "#8e44ad", "other": "#95a5a6",
}
SENTIMENT_COLORS = {"positive": "#2e9e5b", "neutral": "#a0a7b4", "negative": "#d64545"}
BAND_COLORS = ("#eef3fb", "#fbf3e6", "#eaf6ee", "#f6ecf6", "#eef6f6")
SERIES_COLORS = ("#2f6fde", "#e8833a", "#2e9e5b", "#9b59b6", "#d64545", "#16a085", "#7f8c8d")


@dataclass(frozen=True)
class Series:
    name: str
    values: Sequence[float | None]
    color: str
    dashed: bool = False


@dataclass(frozen=True)
class Band:
    """A shaded interval of the x axis (a segment on air), indexes inclusive-exclusive."""

    start: int
    end: int
    label: str
    color: str


@dataclass(frozen=True)
class Marker:
    """A vertical line at an x index (a site switch)."""

    index: int
    label: str


@dataclass(frozen=True)
class Frame:
    """Plot geometry shared by the chart kinds."""

    count: int
    top: float
    height: int
    width: int = WIDTH
    ticks: list[float] = field(default_factory=list)

    @property
    def plot_w(self) -> float:
        return self.width - PAD_LEFT - PAD_RIGHT

    @property
    def plot_h(self) -> float:
        return self.height - PAD_TOP - PAD_BOTTOM

    def x(self, index: float) -> float:
        step = self.plot_w / max(self.count, 1)
        return PAD_LEFT + step * (index + 0.5)

    def slot(self) -> float:
        return self.plot_w / max(self.count, 1)

    def y(self, value: float) -> float:
        return PAD_TOP + self.plot_h * (1 - (value / self.top if self.top else 0))


def nice_ticks(maximum: float, count: int = 5) -> list[float]:
    """Round axis ticks from 0 to at least ``maximum``."""
    if maximum <= 0:
        return [0.0, 1.0]
    raw = maximum / count
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    ticks = [0.0]
    while ticks[-1] < maximum:
        ticks.append(round(ticks[-1] + step, 10))
    return ticks


def number(value: float) -> str:
    """Axis and tooltip numbers: 1.2万 for large ones, as Chinese dashboards write them."""
    if abs(value) >= 100_000:
        return f"{value / 10_000:.0f}万"
    if abs(value) >= 10_000:
        return f"{value / 10_000:.1f}万"
    if value == int(value):
        return f"{int(value)}"
    return f"{value:.1f}"


def svg_open(name: str, title: str, height: int, width: int = WIDTH) -> list[str]:
    return [f'<svg class="chart" data-chart="{escape(name)}" '
            f'viewBox="0 0 {width} {height}" role="img" aria-label="{escape(title)}" preserveAspectRatio="xMidYMid meet">',
            f"<title>{escape(title)}</title>"]


def empty(name: str, title: str, height: int = 120, width: int = WIDTH) -> Markup:
    parts = svg_open(name, title, height, width)
    parts.append(f'<text class="empty" x="{width / 2}" y="{height / 2}" text-anchor="middle">暂无数据</text></svg>')
    return Markup("".join(parts))


def text_width(text: str, size: float) -> float:
    """Roughly how wide ``text`` is drawn at font ``size`` (CJK full width, Latin and digits ~0.62)."""
    return sum(size if ord(char) >= 0x2E80 else size * 0.62 for char in text)


def axes(frame: Frame, labels: Sequence[str], percent: bool = False) -> list[str]:
    parts = []
    for tick in frame.ticks:
        y = frame.y(tick)
        text = f"{tick:.0f}%" if percent else number(tick)
        parts.append(f'<line class="grid" x1="{PAD_LEFT}" x2="{frame.width - PAD_RIGHT}" y1="{y:.1f}" y2="{y:.1f}"/>')
        baseline = min(y + 4, frame.height - PAD_BOTTOM - 2)  # the bottom number sits above the x labels
        parts.append(f'<text class="tick" x="{PAD_LEFT - 6}" y="{baseline:.1f}" text-anchor="end">{escape(text)}</text>')
    # x labels: at most MAX_TICKS, and never closer than the widest label (plus a gap) to each other
    widest = max((text_width(label, TICK_SIZE) for label in labels), default=0) + LABEL_GAP
    every = max(1, math.ceil(len(labels) / MAX_TICKS), math.ceil(widest / frame.slot()))
    for index, label in enumerate(labels):
        if index % every == 0:
            parts.append(f'<text class="tick" x="{frame.x(index):.1f}" y="{frame.height - PAD_BOTTOM + 20}" '
                         f'text-anchor="middle">{escape(label)}</text>')
    return parts


def bands_and_markers(frame: Frame, bands: Sequence[Band], markers: Sequence[Marker]) -> list[str]:
    parts = []
    slot = frame.slot()
    for band in bands:
        x0 = PAD_LEFT + slot * band.start
        w = max(slot * (band.end - band.start), 1)
        parts.append(f'<g class="band"><rect x="{x0:.1f}" y="{PAD_TOP}" width="{w:.1f}" height="{frame.plot_h:.1f}" '
                     f'fill="{escape(band.color)}"><title>{escape(band.label)}</title></rect>')
        if w > 40:
            parts.append(f'<text class="band-label" x="{x0 + 4:.1f}" y="{PAD_TOP - 8}">{escape(clip(band.label, int(w / 12)))}</text>')
        parts.append("</g>")
    ends = [0.0] * MARKER_ROWS  # where each row of marker labels is taken up to
    for marker in sorted(markers, key=lambda m: m.index):
        x = PAD_LEFT + slot * marker.index
        label = clip(marker.label, 10)
        row = next((r for r, end in enumerate(ends) if x + 3 >= end), None)
        text = ""
        if row is not None:  # no free row: the line stays, its label is in the tooltip
            ends[row] = x + 3 + text_width(label, MARKER_SIZE) + LABEL_GAP
            text = f'<text x="{x + 3:.1f}" y="{PAD_TOP + 12 + row * MARKER_ROW_HEIGHT}">{escape(label)}</text>'
        parts.append(f'<g class="marker"><line x1="{x:.1f}" x2="{x:.1f}" y1="{PAD_TOP}" y2="{frame.height - PAD_BOTTOM}"/>'
                     f"{text}<title>{escape(marker.label)}</title></g>")
    return parts


def clip(text: str, limit: int) -> str:
    limit = max(limit, 2)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def legend(series: Sequence[tuple[str, str]], height: int, width: int = WIDTH) -> list[str]:
    parts, x = [], PAD_LEFT
    y = height - 12
    for name, color in series:
        parts.append(f'<g class="legend"><rect x="{x}" y="{y - 9}" width="10" height="10" fill="{escape(color)}"/>'
                     f'<text x="{x + 14}" y="{y}">{escape(name)}</text></g>')
        x += 22 + 13 * len(name)
        if x > width - 120:
            break
    return parts


def line_chart(name: str, title: str, labels: Sequence[str], series: Sequence[Series], *,
               bands: Sequence[Band] = (), markers: Sequence[Marker] = (), height: int = 300, unit: str = "",
               width: int = WIDTH) -> Markup:
    """Lines over the minute axis, with segment bands behind and site switches as vertical lines."""
    values = [v for s in series for v in s.values if v is not None]
    if not labels or not values:
        return empty(name, title, width=width)
    ticks = nice_ticks(max(values))
    frame = Frame(count=len(labels), top=ticks[-1], height=height, width=width, ticks=ticks)
    parts = svg_open(name, title, height, width)
    parts += bands_and_markers(frame, bands, markers)
    parts += axes(frame, labels)
    for s in series:
        parts += polyline(frame, labels, s, unit)
    parts += legend([(s.name, s.color) for s in series], height, width)
    parts.append("</svg>")
    return Markup("".join(parts))


def polyline(frame: Frame, labels: Sequence[str], s: Series, unit: str) -> list[str]:
    parts: list[str] = []
    run: list[str] = []
    dash = ' stroke-dasharray="5 4"' if s.dashed else ""
    for index, value in enumerate([*s.values, None]):
        if value is None:
            if len(run) > 1:
                parts.append(f'<polyline class="line" fill="none" stroke="{escape(s.color)}" stroke-width="2"{dash} '
                             f'points="{" ".join(run)}"/>')
            run = []
            continue
        run.append(f"{frame.x(index):.1f},{frame.y(value):.1f}")
    for index, value in enumerate(s.values):
        if value is not None:
            tip = f"{labels[index]} {s.name}：{number(value)}{unit}"
            parts.append(f'<circle class="point" cx="{frame.x(index):.1f}" cy="{frame.y(value):.1f}" r="2.5" '
                         f'fill="{escape(s.color)}"><title>{escape(tip)}</title></circle>')
    return parts


def stacked_bars(name: str, title: str, labels: Sequence[str], series: Sequence[Series], *,
                 bands: Sequence[Band] = (), markers: Sequence[Marker] = (), height: int = 280, percent: bool = False,
                 unit: str = "", width: int = WIDTH) -> Markup:
    """Stacked columns per minute (counts, or shares of 100% with ``percent``)."""
    totals = [sum((s.values[i] or 0) for s in series) for i in range(len(labels))]
    if not labels or not any(totals):
        return empty(name, title, width=width)
    ticks = [0.0, 25.0, 50.0, 75.0, 100.0] if percent else nice_ticks(max(totals))
    frame = Frame(count=len(labels), top=ticks[-1], height=height, width=width, ticks=ticks)
    parts = svg_open(name, title, height, width)
    parts += bands_and_markers(frame, bands, markers)
    parts += axes(frame, labels, percent=percent)
    bar = max(frame.slot() * 0.8, 1.0)
    for index, label in enumerate(labels):
        base = 0.0
        total = totals[index]
        for s in series:
            raw = s.values[index] or 0
            if raw <= 0:
                continue
            value = raw * 100 / total if percent and total else raw
            y0, y1 = frame.y(base), frame.y(base + value)
            tip = f"{label} {s.name}：{number(raw)}{unit}" + (f"（{value:.0f}%）" if percent else "")
            parts.append(f'<rect class="bar" x="{frame.x(index) - bar / 2:.1f}" y="{y1:.1f}" width="{bar:.1f}" '
                         f'height="{max(y0 - y1, 0.5):.1f}" fill="{escape(s.color)}"><title>{escape(tip)}</title></rect>')
            base += value
    parts += legend([(s.name, s.color) for s in series], height, width)
    parts.append("</svg>")
    return Markup("".join(parts))


def hbars(name: str, title: str, items: Sequence[tuple[str, float, str]], *, color: str = "#2f6fde",
          colors: Sequence[str] | None = None, label_width: int = 160, width: int = 640) -> Markup:
    """Horizontal bars: (label, value, text shown after the bar), largest first as given."""
    if not items or not any(v for _, v, _ in items):
        return empty(name, title, width=width)
    row = 26
    height = 8 + row * len(items) + 8
    top = max(v for _, v, _ in items) or 1
    parts = svg_open(name, title, height, width)
    span = width - label_width - 190
    for index, (label, value, text) in enumerate(items):
        y = 8 + index * row
        w = max(span * value / top, 1)
        fill = colors[index % len(colors)] if colors else color
        parts.append(f'<g class="hbar"><text class="tick" x="{label_width - 8}" y="{y + 15}" text-anchor="end">'
                     f"{escape(clip(label, label_width // 13))}</text>"
                     f'<rect class="bar" x="{label_width}" y="{y + 3}" width="{w:.1f}" height="{row - 8}" fill="{escape(fill)}">'
                     f"<title>{escape(label)}：{escape(text)}</title></rect>"
                     f'<text class="value" x="{label_width + w + 6:.1f}" y="{y + 15}">{escape(text)}</text></g>')
    parts.append("</svg>")
    return Markup("".join(parts))
