"""The session report: every figure marketing reads, from minute rows plus the conversation.

:func:`compose` is pure (rows and facts in, a JSON-ready dict out) and does the arithmetic;
:func:`build_report` gathers its inputs from the database and runs the CPU part in a thread.
Minutes are UTC buckets; every label a person reads is in the session's own time zone.
"""

from __future__ import annotations

import asyncio
import statistics
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from livebot.compliance import store as compliance_store
from livebot.engagement import platform_totals, store
from livebot.engagement.advisors import advisor_rows
from livebot.engagement.attribution import Attributor
from livebot.engagement.figures import MINUTE, minute_of, nearest_rank
from livebot.engagement.keywords import keywords
from livebot.engagement.names import NO_SITE, NOT_ON_AIR
from livebot.engagement.settings import EngagementSettings
from livebot.platforms import platform_label
from livebot.schedule import api_internal as schedule
from livebot.storage.base import utcnow
from livebot.storage.engine import Database
from livebot.trace.scans import session_scans

REPORT_VERSION = 1
DEFAULT_ZONE = "Asia/Shanghai"
MAX_SPAN = timedelta(hours=48)
"""A report never draws more minutes than this (a mis-set clock must not make a million-minute chart)."""


def zone_of(name: str | None) -> ZoneInfo:
    try:
        return ZoneInfo(name or DEFAULT_ZONE)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo(DEFAULT_ZONE)


def iso(value: datetime | None) -> str | None:
    return value.astimezone(UTC).isoformat() if value is not None else None


def local_label(value: datetime | None, zone: ZoneInfo, with_date: bool = False) -> str:
    if value is None:
        return ""
    return value.astimezone(zone).strftime("%m-%d %H:%M" if with_date else "%H:%M")


# ───────────── totals over any group of rows ─────────────


@dataclass
class Totals:
    """Additive figures and exact sets over some minute rows."""

    sums: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    chatters: set[str] = field(default_factory=set)
    visitors: set[str] = field(default_factory=set)
    response_ms: list[int] = field(default_factory=list)
    sentiment_sum: float = 0.0

    def add(self, row: Mapping[str, Any]) -> None:
        for name in ("comments", "enters", "likes", "gifts", "gift_value", "follows", "shares", "positive", "neutral",
                     "negative", "sentiment_n", "hidden", "merged", "questions", "answered"):
            self.sums[name] += row[name] or 0
        self.chatters.update(row.get("chatter_keys") or ())
        self.visitors.update(row.get("visitor_keys") or ())
        self.response_ms.extend(row["response_ms"] or ())
        self.sentiment_sum += row["sentiment_sum"] or 0.0

    def figures(self) -> dict[str, Any]:
        s = self.sums
        comments, chatters = s["comments"], len(self.chatters)
        labelled = s["positive"] + s["neutral"] + s["negative"]
        seconds = sorted(ms / 1000 for ms in self.response_ms)
        return {
            "comments": comments, "chatters": chatters,
            "messages_per_chatter": round(comments / chatters, 2) if chatters else 0.0,
            "visitors": len(self.visitors), "enters": s["enters"], "likes": s["likes"], "gifts": s["gifts"],
            "gift_value": s["gift_value"], "gift_value_yuan": round(s["gift_value"] / 100, 2), "follows": s["follows"],
            "shares": s["shares"], "questions": s["questions"], "answered": s["answered"],
            "answer_rate": round(s["answered"] / s["questions"], 4) if s["questions"] else None,
            "frt_median_s": round(statistics.median(seconds), 1) if seconds else None,
            "frt_p90_s": round(nearest_rank(seconds, 0.9), 1) if seconds else None,
            "positive": s["positive"], "neutral": s["neutral"], "negative": s["negative"],
            "positive_share": share(s["positive"], labelled), "neutral_share": share(s["neutral"], labelled),
            "negative_share": share(s["negative"], labelled),
            "sentiment_mean": round(self.sentiment_sum / s["sentiment_n"], 4) if s["sentiment_n"] else None,
            "hidden": s["hidden"], "merged": s["merged"],
        }


def share(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def totals(rows: Iterable[Mapping[str, Any]]) -> Totals:
    out = Totals()
    for row in rows:
        out.add(row)
    return out


# ───────────── viewers ─────────────


@dataclass
class Viewers:
    """Concurrent viewers per minute of the span: summed over platforms, latest and peak."""

    last: list[int | None]
    peak: list[int | None]
    by_platform: dict[str, list[int | None]]
    platform_peak: dict[str, int]


def viewer_series(rows: Sequence[Mapping[str, Any]], minutes: Sequence[datetime]) -> Viewers:
    """Carry each platform's last figure forward through minutes it reported nothing."""
    samples: dict[str, dict[datetime, tuple[int, datetime, int]]] = defaultdict(dict)
    platform_peak: dict[str, int] = {}
    for row in rows:
        if not row["viewers_samples"]:
            continue
        platform, minute = row["platform"], row["minute"]
        old = samples[platform].get(minute)
        last, last_at, peak = row["viewers_last"], row["viewers_last_at"], row["viewers_peak"]
        if old is not None:
            if old[1] > last_at:
                last, last_at = old[0], old[1]
            peak = max(old[2], peak)
        samples[platform][minute] = (last, last_at, peak)
        platform_peak[platform] = max(platform_peak.get(platform, 0), peak)
    current: dict[str, int] = {}
    series_last: list[int | None] = []
    series_peak: list[int | None] = []
    by_platform: dict[str, list[int | None]] = {p: [] for p in sorted(samples)}
    for minute in minutes:
        total_last = total_peak = 0
        seen = False
        for platform in by_platform:
            sample = samples[platform].get(minute)
            if sample is not None:
                current[platform] = sample[0]
                peak = sample[2]
            elif platform in current:
                peak = current[platform]
            else:
                by_platform[platform].append(None)
                continue
            seen = True
            total_last += current[platform]
            total_peak += peak
            by_platform[platform].append(current[platform])
        series_last.append(total_last if seen else None)
        series_peak.append(total_peak if seen else None)
    return Viewers(series_last, series_peak, by_platform, platform_peak)


def viewer_figures(viewers: Viewers, indexes: Sequence[int], minutes: Sequence[datetime], zone: ZoneInfo,
                   with_date: bool) -> dict[str, Any]:
    """Peak, peak time, average, latest and watched minutes over some minutes of the span."""
    last = [(i, value) for i in indexes if (value := viewers.last[i]) is not None]
    peak = [(i, value) for i in indexes if (value := viewers.peak[i]) is not None]
    if not last:
        return {"viewers_peak": None, "peak_at": None, "peak_label": "", "viewers_avg": None, "viewers_latest": None,
                "viewers_start": None, "watched_minutes": 0}
    top_index, top = max(peak, key=lambda p: (p[1], -p[0]))
    values = [v for _, v in last]
    return {
        "viewers_peak": top, "peak_at": iso(minutes[top_index]),
        "peak_label": local_label(minutes[top_index], zone, with_date),
        "viewers_avg": round(sum(values) / len(values), 1), "viewers_latest": values[-1], "viewers_start": values[0],
        "watched_minutes": sum(values),
    }


# ───────────── the span, bands and switches ─────────────


def span_minutes(session: schedule.LiveSession, rows: Sequence[Mapping[str, Any]], now: datetime) -> list[datetime]:
    """Every minute from the show's start (or first figure) to its end (or last figure, or now if live)."""
    starts = [minute_of(session.started_at)] if session.started_at else []
    ends = [minute_of(session.ended_at)] if session.ended_at else []
    if session.status == "live" and not session.ended_at:
        ends.append(minute_of(now))
    if rows:
        starts.append(rows[0]["minute"])
        ends.append(max(r["minute"] for r in rows))
    if not starts or not ends:
        return []
    start, end = min(starts), max(ends)
    if session.ended_at is not None and not rows:
        end = minute_of(session.ended_at)
    end = min(end, start + MAX_SPAN)
    count = int((end - start) / MINUTE) + 1
    return [start + MINUTE * i for i in range(max(count, 0))]


@dataclass(frozen=True)
class Context:
    """Names and the on-air history a report labels its figures with."""

    zone: ZoneInfo
    segment_titles: Mapping[int, str]
    site_names: Mapping[int, str]
    attributor: Attributor
    marks: Sequence[Mapping[str, Any]]

    def segment(self, segment_id: int) -> str:
        if not segment_id:
            return NOT_ON_AIR
        return self.segment_titles.get(segment_id, f"段落 #{segment_id}")

    def site(self, site_id: int) -> str:
        if not site_id:
            return NO_SITE
        return self.site_names.get(site_id, f"站点 #{site_id}")


def minute_index(minutes: Sequence[datetime], at: datetime) -> float:
    """Fractional position of ``at`` on the minute axis."""
    if not minutes:
        return 0.0
    return (at - minutes[0]) / MINUTE


def bands(ctx: Context, minutes: Sequence[datetime]) -> list[dict[str, Any]]:
    """Segments on air, clipped to the span, as minute-index intervals (for the charts and exports)."""
    if not minutes:
        return []
    out = []
    span_end = minutes[-1] + MINUTE
    for start, end, state in ctx.attributor.bands():
        if not state.segment_id:
            continue
        end = end or span_end
        if end <= minutes[0] or start >= span_end:
            continue
        out.append({
            "segment_id": state.segment_id, "site_id": state.site_id, "title": ctx.segment(state.segment_id),
            "site": ctx.site(state.site_id), "start": iso(start), "end": iso(end),
            "start_index": max(minute_index(minutes, start), 0.0), "end_index": min(minute_index(minutes, end), len(minutes)),
            "label": f"{local_label(start, ctx.zone)} {ctx.segment(state.segment_id)}",
        })
    return out


def switches(ctx: Context, minutes: Sequence[datetime]) -> list[dict[str, Any]]:
    """Site switches (the on-air site changed), for vertical markers."""
    out = []
    for mark in ctx.marks:
        if mark["kind"] != "site" or not minutes:
            continue
        at = mark["at"]
        if minutes[0] <= at < minutes[-1] + MINUTE:
            name = ctx.site(mark["site_id"] or 0)
            out.append({"at": iso(at), "index": minute_index(minutes, at), "site_id": mark["site_id"],
                        "label": f"{local_label(at, ctx.zone)} 切到{name}"})
    return out


def on_air_indexes(ctx: Context, minutes: Sequence[datetime], attr: str) -> dict[int, list[int]]:
    """Minute indexes by the segment (or site) on air in the middle of each minute."""
    out: dict[int, list[int]] = defaultdict(list)
    for index, minute in enumerate(minutes):
        state = ctx.attributor.on_air(minute + MINUTE / 2)
        out[getattr(state, attr)].append(index)
    return out


# ───────────── composing the report ─────────────


def per_minute(rows: Sequence[Mapping[str, Any]], minutes: Sequence[datetime], viewers: Viewers, ctx: Context,
               with_date: bool) -> list[dict[str, Any]]:
    """One line per minute of the span, all platforms together."""
    by_minute: dict[datetime, list[Mapping[str, Any]]] = defaultdict(list)
    for row in rows:
        by_minute[row["minute"]].append(row)
    out = []
    for index, minute in enumerate(minutes):
        figures = totals(by_minute.get(minute, ())).figures()
        state = ctx.attributor.on_air(minute + MINUTE / 2)
        out.append({
            "minute": iso(minute), "label": local_label(minute, ctx.zone, with_date),
            "segment": ctx.segment(state.segment_id), "site": ctx.site(state.site_id),
            "viewers": viewers.last[index], "viewers_peak": viewers.peak[index], **minute_columns(figures),
        })
    return out


MINUTE_FIGURES = ("comments", "chatters", "visitors", "enters", "likes", "gifts", "gift_value_yuan", "follows", "shares",
                  "questions", "answered", "frt_median_s", "positive", "neutral", "negative", "sentiment_mean", "hidden",
                  "merged")


def minute_columns(figures: Mapping[str, Any]) -> dict[str, Any]:
    return {name: figures[name] for name in MINUTE_FIGURES}


def detail(rows: Sequence[Mapping[str, Any]], ctx: Context, with_date: bool) -> list[dict[str, Any]]:
    """The stored rows themselves: minute × platform × site × segment (the export's main table)."""
    out = []
    for row in rows:
        figures = totals([row]).figures()
        out.append({
            "minute": iso(row["minute"]), "label": local_label(row["minute"], ctx.zone, with_date),
            "platform": row["platform"], "platform_name": platform_label(row["platform"]),
            "site_id": row["site_id"], "site": ctx.site(row["site_id"]), "segment_id": row["segment_id"],
            "segment": ctx.segment(row["segment_id"]), "viewers_latest": row["viewers_last"],
            "viewers_peak": row["viewers_peak"], **minute_columns(figures),
        })
    return out


def group_rows(rows: Sequence[Mapping[str, Any]], column: str) -> dict[Any, list[Mapping[str, Any]]]:
    out: dict[Any, list[Mapping[str, Any]]] = defaultdict(list)
    for row in rows:
        out[row[column]].append(row)
    return out


def platform_table(rows: Sequence[Mapping[str, Any]], viewers: Viewers, total_comments: int) -> list[dict[str, Any]]:
    out = []
    for platform, group in group_rows(rows, "platform").items():
        figures = totals(group).figures()
        series = [v for v in viewers.by_platform.get(platform, []) if v is not None]
        out.append({
            "platform": platform, "name": platform_label(platform), **figures,
            "comment_share": share(figures["comments"], total_comments),
            "viewers_peak": viewers.platform_peak.get(platform), "viewers_latest": series[-1] if series else None,
            "viewers_avg": round(sum(series) / len(series), 1) if series else None,
        })
    out.sort(key=lambda p: (-(p["viewers_peak"] or 0), -p["comments"], p["platform"]))
    return out


def on_air_table(rows: Sequence[Mapping[str, Any]], viewers: Viewers, minutes: Sequence[datetime], ctx: Context,
                 column: str, order: Mapping[int, int], with_date: bool) -> list[dict[str, Any]]:
    """Per segment (``segment_id``) or per site (``site_id``): figures and how viewers held up."""
    attr = column
    indexes = on_air_indexes(ctx, minutes, attr)
    groups = group_rows(rows, column)
    out = []
    for key in sorted(set(groups) | {k for k in indexes if k}, key=lambda k: (order.get(k, 10**6) if k else 10**7, k)):
        figures = totals(groups.get(key, ())).figures()
        seen = viewer_figures(viewers, indexes.get(key, []), minutes, ctx.zone, with_date)
        start = seen.pop("viewers_start")
        item = {"id": key, "name": ctx.segment(key) if column == "segment_id" else ctx.site(key),
                "minutes": len(indexes.get(key, [])), **figures, **seen,
                "viewers_change": (seen["viewers_latest"] - start) if start is not None and seen["viewers_latest"] is not None else None}
        if not item["minutes"] and not figures["comments"] and not figures["questions"] and not key:
            continue
        out.append(item)
    return out


def compose(session: schedule.LiveSession, rows: Sequence[Mapping[str, Any]], ctx: Context, now: datetime,
            conversation: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The whole report as a JSON-ready dict."""
    minutes = span_minutes(session, rows, now)
    with_date = bool(minutes) and local_label(minutes[0], ctx.zone, True)[:5] != local_label(minutes[-1], ctx.zone, True)[:5]
    viewers = viewer_series(rows, minutes)
    summary = {**totals(rows).figures(),
               **viewer_figures(viewers, range(len(minutes)), minutes, ctx.zone, with_date), "minutes": len(minutes)}
    summary.pop("viewers_start", None)
    order = {sid: pos for pos, sid in enumerate(ctx.segment_titles)}
    site_order = {sid: pos for pos, sid in enumerate(ctx.site_names)}
    return {
        "version": REPORT_VERSION,
        "generated_at": iso(now),
        "session": session_info(session, ctx.zone),
        "summary": summary,
        "minutes": per_minute(rows, minutes, viewers, ctx, with_date),
        "viewers_by_platform": {p: v for p, v in viewers.by_platform.items()},
        "detail": detail(rows, ctx, with_date),
        "platforms": platform_table(rows, viewers, summary["comments"]),
        "segments": on_air_table(rows, viewers, minutes, ctx, "segment_id", order, with_date),
        "sites": on_air_table(rows, viewers, minutes, ctx, "site_id", site_order, with_date),
        "bands": bands(ctx, minutes),
        "switches": switches(ctx, minutes),
        "topics": dict(conversation or {}),
    }


def session_info(session: schedule.LiveSession, zone: ZoneInfo) -> dict[str, Any]:
    start = session.started_at or session.planned_start
    end = session.ended_at or (None if session.status == "live" else session.planned_end)
    return {
        "id": session.id, "title": session.title, "theme": session.theme, "status": session.status,
        "timezone": zone.key, "planned_start": iso(session.planned_start), "planned_end": iso(session.planned_end),
        "started_at": iso(session.started_at), "ended_at": iso(session.ended_at),
        "start_label": start.astimezone(zone).strftime("%Y-%m-%d %H:%M") if start else "",
        "end_label": end.astimezone(zone).strftime("%Y-%m-%d %H:%M") if end else "",
        "duration_minutes": round((end - start).total_seconds() / 60) if start and end else None,
    }


# ───────────── gathering inputs ─────────────


async def context(db: Database, session: schedule.LiveSession) -> Context:
    segs = await store.segments(db, session.id)
    return Context(
        zone=zone_of(session.timezone), segment_titles={s.id: s.title for s in segs},
        site_names=await schedule.site_names(db), attributor=await store.attributor(db, session.id),
        marks=await store.timeline_marks(db, session.id),
    )


async def conversation(db: Database, session: schedule.LiveSession, settings: EngagementSettings, zone: ZoneInfo) -> dict[str, Any]:
    """Keywords, FAQ entries asked, unanswered questions, most-repeated comments, top commenters."""
    top = settings.top_n
    texts = await store.comment_texts(db, session.id, settings.keyword_texts_limit)
    words = await asyncio.to_thread(keywords, texts, top)
    repeated = [(text, sent) for text, sent in texts[:top]]
    platforms = await store.top_comment_platforms(db, session.id, [t for t, _ in repeated])
    open_cards = await store.unanswered(db, session.id, top)
    commenters = await store.top_commenters(db, session.id, top)
    return {
        "keywords": [k.as_json() for k in words],
        "faq": (await store.faq_asked(db, session.id))[:top],
        "unanswered": [{**card, "first_asked_at": iso(card["first_asked_at"]),
                        "label": local_label(card["first_asked_at"], zone),
                        "platform_names": [platform_label(p) for p in card["platforms"]]} for card in open_cards],
        "unanswered_cards": await store.unanswered_count(db, session.id),
        "top_comments": [{"text": text, "sent": sent, "platforms": [platform_label(p) for p in platforms.get(text, [])]}
                         for text, sent in repeated],
        "top_commenters": commenters_shown(commenters, settings.anonymize_users),
        "anonymized": settings.anonymize_users,
        "advisors": await advisor_rows(db, session.id, utcnow()),
    }


def commenters_shown(commenters: Sequence[Mapping[str, Any]], anonymize: bool) -> list[dict[str, Any]]:
    """Names only where marketing needs them; never user ids; anonymised on request."""
    out = []
    for rank, c in enumerate(commenters, start=1):
        name = f"{platform_label(c['platform'])}观众 {rank}" if anonymize else (c["name"] or "（无昵称）")
        out.append({"rank": rank, "name": name, "platform": platform_label(c["platform"]), "comments": c["comments"]})
    return out


def scan_span(report: Mapping[str, Any], now: datetime) -> tuple[datetime, datetime]:
    """The minutes the report draws, or the planned hours before the first comment."""
    minutes = report["minutes"]
    if minutes:
        return datetime.fromisoformat(minutes[0]["minute"]), datetime.fromisoformat(minutes[-1]["minute"]) + MINUTE
    return now - MAX_SPAN, now


def add_scans(report: dict[str, Any], scans: Mapping[str, Any]) -> None:
    """Can scans beside the comments: a column of the per-minute table, and totals per batch."""
    per_minute = scans["per_minute"]
    for row in report["minutes"]:
        row["scans"] = per_minute.get(row["minute"], 0)
    report["scans"] = {"total": scans["total"], "by_lot": scans["by_lot"]}
    report["summary"]["scans"] = scans["total"]


async def build_report(db: Database, session_id: int, settings: EngagementSettings, *, topics: bool = True,
                       now: datetime | None = None) -> dict[str, Any]:
    """The report of one session from its stored minute rows (and the conversation when ``topics``)."""
    now = now or utcnow()
    session = await schedule.get_session(db, session_id)
    rows = await store.minute_rows(db, session_id)
    ctx = await context(db, session)
    talk = await conversation(db, session, settings, ctx.zone) if topics else None
    report = await asyncio.to_thread(compose, session, rows, ctx, now, talk)
    official = await platform_totals.report_section(db, session.id, session.started_at or session.planned_start, ctx.zone,
                                                    report["platforms"])
    report["platform_totals"] = official
    add_scans(report, await session_scans(db, session.id, *scan_span(report, now)))
    report["summary"]["platform_views"] = sum(p["views"] or 0 for p in official["platforms"]) if official["platforms"] else None
    report["compliance"] = await compliance_log(db, session_id, ctx.zone)
    return report


async def compliance_log(db: Database, session_id: int, zone: ZoneInfo) -> list[dict[str, Any]]:
    """The session's compliance log for marketing/legal: blocked, warned, held, approved, overridden, by whom."""
    events = await compliance_store.session_log(db, session_id)
    return [{**compliance_store.event_dict(event), "label": local_label(event.at, zone, with_date=True),
             "rules_text": "、".join(event.rules), "who": event.actor_name or event.actor} for event in events]
