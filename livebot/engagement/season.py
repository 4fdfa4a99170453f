"""Across sessions: each session's headline figures and, per theme, which theme works best."""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from livebot.engagement import store
from livebot.engagement.report import build_report, iso, zone_of
from livebot.engagement.settings import EngagementSettings
from livebot.schedule import api_internal as schedule
from livebot.storage.engine import Database

METRICS: dict[str, tuple[str, bool]] = {
    # key: (Chinese name, higher is better)
    "viewers_peak": ("峰值在线", True),
    "viewers_avg": ("平均在线", True),
    "watched_minutes": ("观看时长（人·分钟）", True),
    "comments": ("评论数", True),
    "chatters": ("互动人数", True),
    "messages_per_chatter": ("人均评论", True),
    "positive_share": ("正面占比", True),
    "answer_rate": ("回复率", True),
    "frt_median_s": ("首次响应中位数（秒，越低越好）", False),
    "gift_value_yuan": ("礼物价值（元）", True),
}
MAX_SESSIONS = 200


async def session_summaries(db: Database, sessions: Sequence[schedule.LiveSession], settings: EngagementSettings) -> list[dict[str, Any]]:
    """Stored report summaries where a session has one, otherwise figures computed from its rows."""
    stored = await store.report_summaries(db, [s.id for s in sessions if s.status == "ended"])
    out = []
    for session in sessions:
        found = stored.get(session.id)
        summary = found["summary"] if found and found["summary"] else (
            await build_report(db, session.id, settings, topics=False))["summary"]
        start = session.started_at or session.planned_start
        out.append({"id": session.id, "title": session.title, "theme": session.theme or "（未设主题）",
                    "status": session.status, "start": iso(start),
                    "start_label": start.astimezone(zone_of(session.timezone)).strftime("%Y-%m-%d %H:%M"),
                    "summary": summary, "stored": bool(found)})
    return out


def theme_table(items: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Per theme: session count, averages of each metric (rates pooled over the sessions' counts)."""
    groups: dict[str, list[Mapping[str, Any]]] = defaultdict(list)
    for item in items:
        groups[item["theme"]].append(item["summary"])
    out = []
    for theme, summaries in sorted(groups.items()):
        row: dict[str, Any] = {"theme": theme, "sessions": len(summaries)}
        for key in METRICS:
            values = [value for s in summaries if (value := s.get(key)) is not None]
            row[key] = round(statistics.fmean(values), 2) if values else None
        questions = sum(s.get("questions") or 0 for s in summaries)
        labelled = sum((s.get("positive") or 0) + (s.get("neutral") or 0) + (s.get("negative") or 0) for s in summaries)
        row["answer_rate"] = round(sum(s.get("answered") or 0 for s in summaries) / questions, 4) if questions else None
        row["positive_share"] = round(sum(s.get("positive") or 0 for s in summaries) / labelled, 4) if labelled else None
        out.append(row)
    return out


def best_of(rows: Sequence[Mapping[str, Any]], metric: str) -> Any:
    """The key of the best row for ``metric`` (None when no row has it)."""
    higher = METRICS[metric][1]
    scored = [r for r in rows if r.get(metric) is not None]
    if not scored:
        return None
    pick = max if higher else min
    return pick(scored, key=lambda r: r[metric])


async def season(db: Database, settings: EngagementSettings, *, ids: Sequence[int] = (), theme: str | None = None,
                 since: datetime | None = None, until: datetime | None = None) -> dict[str, Any]:
    if ids:
        sessions = [await schedule.get_session(db, i) for i in dict.fromkeys(ids)]
    else:
        # ended shows only: a show still running would pull its theme's averages down
        sessions = (await store.list_sessions(db, ("ended",), theme, since, until))[:MAX_SESSIONS]
    items = await session_summaries(db, sessions, settings)
    themes = theme_table(items)
    return {
        "sessions": items, "themes": themes,
        "best": {metric: (best_of(themes, metric) or {}).get("theme") for metric in METRICS},
        "metrics": {key: name for key, (name, _) in METRICS.items()},
    }
