"""The season at a glance: month/week grids, conflicts, and iCalendar (RFC 5545) feeds.

Calendar apps cannot log in, so each feed URL carries its own token: an HMAC of the feed name
under ``[schedule] calendar_secret`` (or a key derived from ``auth.session_secret``). Changing
the secret revokes every feed link at once.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from icalendar import Calendar, Event

from livebot.config import Config
from livebot.schedule.models import Channel, LiveSession
from livebot.schedule.settings import ScheduleSettings

logger = logging.getLogger(__name__)

DISPLAY_ZONE = ZoneInfo("Asia/Shanghai")
PRODID = "-//livebot//溯源直播排期//ZH"
ICS_STATUS = {"draft": "TENTATIVE", "scheduled": "CONFIRMED", "live": "CONFIRMED", "ended": "CONFIRMED",
              "cancelled": "CANCELLED"}
STATUS_NAMES = {"draft": "草稿", "scheduled": "已排期", "live": "直播中", "ended": "已结束", "cancelled": "已取消"}
WEEKDAYS = ("一", "二", "三", "四", "五", "六", "日")


def feed_key(config: Config, settings: ScheduleSettings) -> bytes:
    if settings.calendar_secret:
        return hashlib.sha256(("calendar:" + settings.calendar_secret).encode()).digest()
    if config.auth.session_secret:
        return hashlib.sha256(("livebot-calendar-feed:" + config.auth.session_secret).encode()).digest()
    logger.warning("calendar feeds: no schedule.calendar_secret or auth.session_secret; links change on restart")
    return os.urandom(32)


def feed_token(key: bytes, feed: str) -> str:
    """The token for one feed (``all`` or ``site:<slug>``)."""
    return hmac.new(key, feed.encode(), hashlib.sha256).hexdigest()[:32]


def token_ok(key: bytes, feed: str, given: str) -> bool:
    return hmac.compare_digest(feed_token(key, feed).encode(), given.encode()[:64])


@dataclass(frozen=True)
class Conflict:
    kind: str  # "site" or "channel"
    session_ids: tuple[int, int]
    what: str
    message: str


def overlaps(a: LiveSession, b: LiveSession) -> bool:
    return a.planned_start < b.planned_end and b.planned_start < a.planned_end


def conflicts(sessions: Sequence[LiveSession], site_ids: dict[int, set[int]], channels: dict[int, list[Channel]],
              site_names: dict[int, str]) -> list[Conflict]:
    """A site in two sessions at once, or a (source, channel) bound to two overlapping sessions."""
    found: list[Conflict] = []
    active = [s for s in sessions if s.status != "cancelled"]
    for i, a in enumerate(active):
        for b in active[i + 1:]:
            if not overlaps(a, b):
                continue
            for site in sorted(site_ids.get(a.id, set()) & site_ids.get(b.id, set())):
                name = site_names.get(site, str(site))
                found.append(Conflict("site", (a.id, b.id), name,
                                      f"站点“{name}”同时在《{a.title}》和《{b.title}》中"))
            bound_a = {(c.source_id, c.channel) for c in channels.get(a.id, [])}
            for src, ch in sorted(bound_a & {(c.source_id, c.channel) for c in channels.get(b.id, [])}):
                found.append(Conflict("channel", (a.id, b.id), f"{src}/{ch}",
                                      f"频道 {src}/{ch} 同时绑定到《{a.title}》和《{b.title}》"))
    return found


def ics_feed(sessions: Sequence[LiveSession], site_names: dict[int, list[str]], host: str, base_url: str,
             name: str, now: datetime | None = None) -> bytes:
    """An RFC 5545 calendar: one VEVENT per session, times in the session's own time zone."""
    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", "PUBLISH")
    cal.add("x-wr-calname", name)
    cal.add("x-wr-timezone", "Asia/Shanghai")
    stamp = (now or datetime.now(UTC)).astimezone(UTC).replace(microsecond=0)
    for session in sessions:
        zone = ZoneInfo(session.timezone)
        event = Event()
        event.add("uid", f"session-{session.id}@{host}")
        event.add("dtstamp", stamp)
        event.add("dtstart", session.planned_start.astimezone(zone))
        event.add("dtend", session.planned_end.astimezone(zone))
        event.add("summary", f"{session.title}（{STATUS_NAMES.get(session.status, session.status)}）")
        sites = "、".join(site_names.get(session.id, []))
        description = f"主题：{session.theme or '—'}\n连线站点：{sites or '—'}\n{session.description}".strip()
        event.add("description", description)
        event.add("location", sites)
        event.add("status", ICS_STATUS.get(session.status, "CONFIRMED"))
        event.add("url", f"{base_url}/producer/sessions/{session.id}")
        if session.theme:
            event.add("categories", [session.theme])
        cal.add_component(event)
    cal.add_missing_timezones()
    return cal.to_ical()


@dataclass
class Day:
    date: date
    in_range: bool
    sessions: list[LiveSession] = field(default_factory=list)


def local_date(moment: datetime) -> date:
    return moment.astimezone(DISPLAY_ZONE).date()


def month_days(year: int, month: int) -> tuple[date, date, list[date]]:
    """The month's first day, the day after its last, and whole Monday-first weeks around it."""
    first = date(year, month, 1)
    after = date(year + (month == 12), month % 12 + 1, 1)
    start = first - timedelta(days=first.weekday())
    end = after + timedelta(days=(7 - after.weekday()) % 7)
    return first, after, [start + timedelta(days=i) for i in range((end - start).days)]


def week_days(day: date) -> list[date]:
    start = day - timedelta(days=day.weekday())
    return [start + timedelta(days=i) for i in range(7)]


def grid(days: Sequence[date], first: date, after: date, sessions: Sequence[LiveSession]) -> list[list[Day]]:
    """Weeks of days, each day holding the sessions that start on it (display time zone)."""
    cells = {d: Day(d, first <= d < after) for d in days}
    for session in sessions:
        day = local_date(session.planned_start)
        if day in cells:
            cells[day].sessions.append(session)
    ordered = [cells[d] for d in days]
    return [ordered[i:i + 7] for i in range(0, len(ordered), 7)]


def range_bounds(first: date, after: date) -> tuple[datetime, datetime]:
    """UTC bounds of local dates [first, after)."""
    start = datetime.combine(first, datetime.min.time(), DISPLAY_ZONE).astimezone(UTC)
    end = datetime.combine(after, datetime.min.time(), DISPLAY_ZONE).astimezone(UTC)
    return start, end
