"""The report's charts, built from the report dict (so the page, the HTML file and the war room agree)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from markupsafe import Markup

from livebot.engagement.charts import (
    BAND_COLORS,
    PLATFORM_COLORS,
    SENTIMENT_COLORS,
    SERIES_COLORS,
    Band,
    Marker,
    Series,
    hbars,
    line_chart,
    stacked_bars,
)
from livebot.platforms import platform_label

HALF = 640
"""Width of the charts shown two to a row."""


def chart_bands(report: Mapping[str, Any]) -> list[Band]:
    colors: dict[int, str] = {}
    out = []
    for band in report.get("bands") or []:
        color = colors.setdefault(band["site_id"], BAND_COLORS[len(colors) % len(BAND_COLORS)])
        out.append(Band(int(band["start_index"]), max(int(round(band["end_index"])), int(band["start_index"]) + 1),
                        f"{band['title']}（{band['site']}）", color))
    return out


def chart_markers(report: Mapping[str, Any]) -> list[Marker]:
    return [Marker(int(s["index"]), s["label"]) for s in report.get("switches") or []]


def labels_of(report: Mapping[str, Any]) -> list[str]:
    return [m["label"] for m in report.get("minutes") or []]


def viewers_chart(report: Mapping[str, Any]) -> Markup:
    minutes = report.get("minutes") or []
    series = [Series("总在线", [m["viewers"] for m in minutes], SERIES_COLORS[0])]
    for platform, values in (report.get("viewers_by_platform") or {}).items():
        series.append(Series(platform_label(platform), values, PLATFORM_COLORS.get(platform, "#888"), dashed=True))
    return line_chart("viewers", "在线人数（按分钟，底色为段落，竖线为站点切换）", labels_of(report), series,
                      bands=chart_bands(report), markers=chart_markers(report), unit=" 人")


def comments_chart(report: Mapping[str, Any]) -> Markup:
    labels = labels_of(report)
    index = {m["minute"]: i for i, m in enumerate(report.get("minutes") or [])}
    per_platform: dict[str, list[float | None]] = {}
    for row in report.get("detail") or []:
        values = per_platform.setdefault(row["platform"], [0] * len(labels))
        i = index.get(row["minute"])
        if i is not None:
            values[i] = (values[i] or 0) + row["comments"]
    series = [Series(platform_label(p), v, PLATFORM_COLORS.get(p, "#888")) for p, v in sorted(per_platform.items())]
    return stacked_bars("comments", "每分钟评论数（按平台）", labels, series, bands=chart_bands(report),
                        markers=chart_markers(report), unit=" 条")


def sentiment_chart(report: Mapping[str, Any]) -> Markup:
    minutes = report.get("minutes") or []
    names = {"positive": "正面", "neutral": "中性", "negative": "负面"}
    series = [Series(names[k], [m[k] for m in minutes], SENTIMENT_COLORS[k]) for k in ("positive", "neutral", "negative")]
    return stacked_bars("sentiment", "每分钟情感分布（占比）", labels_of(report), series, bands=chart_bands(report),
                        percent=True, unit=" 条", width=HALF)


def platform_chart(report: Mapping[str, Any]) -> Markup:
    platforms: Sequence[Mapping[str, Any]] = report.get("platforms") or []
    items = [(p["name"], float(p["comments"]),
              f"评论 {p['comments']} · 峰值在线 {p['viewers_peak'] if p['viewers_peak'] is not None else '—'}") for p in platforms]
    colors = [PLATFORM_COLORS.get(p["platform"], "#888") for p in platforms]
    return hbars("platforms", "各平台评论数", items, colors=colors, label_width=110)


def questions_chart(report: Mapping[str, Any]) -> Markup:
    minutes = report.get("minutes") or []
    series = [Series("已回复", [m["answered"] for m in minutes], "#2e9e5b"),
              Series("未回复", [m["questions"] - m["answered"] for m in minutes], "#e8833a")]
    return stacked_bars("questions", "每分钟提问（按提问时间）", labels_of(report), series, bands=chart_bands(report),
                        markers=chart_markers(report), unit=" 次", width=HALF)


def answer_time_chart(report: Mapping[str, Any]) -> Markup:
    segments = [g for g in report.get("segments") or [] if g.get("frt_median_s") is not None]
    items = [(g["name"], float(g["frt_median_s"]), f"中位 {g['frt_median_s']:.0f} 秒 · P90 {g['frt_p90_s']:.0f} 秒 · {g['answered']} 条")
             for g in segments]
    return hbars("answer-times", "各段落首次响应时间（中位数，秒）", items, color="#9b59b6")


def keyword_chart(report: Mapping[str, Any]) -> Markup:
    words = (report.get("topics") or {}).get("keywords") or []
    items = [(k["term"], float(k["weight"]), f"{k['count']} 条评论提及") for k in words]
    return hbars("keywords", "热词（TF-IDF）", items, color="#16a085", label_width=110)


def segment_chart(report: Mapping[str, Any]) -> Markup:
    segments = [g for g in report.get("segments") or [] if g["id"] and g.get("viewers_avg") is not None]
    items = [(g["name"], float(g["viewers_avg"]), f"平均在线 {g['viewers_avg']:.0f} · 峰值 {g['viewers_peak']}") for g in segments]
    return hbars("segments", "各段落平均在线", items, color="#2f6fde")


def report_charts(report: Mapping[str, Any], topics: bool = True) -> dict[str, Markup]:
    charts = {
        "viewers": viewers_chart(report), "comments": comments_chart(report), "sentiment": sentiment_chart(report),
        "platforms": platform_chart(report), "questions": questions_chart(report),
        "answer_times": answer_time_chart(report), "segments": segment_chart(report),
    }
    if topics:
        charts["keywords"] = keyword_chart(report)
    return charts
