"""Queries of the schedule area: sites, sessions (with sites, channels, lots), segments, the timeline.

Writes take already validated input (see :mod:`livebot.schedule.validate`) and happen in one
transaction each, so a rejected request leaves nothing behind. Other areas read through
:func:`segments` and :func:`timeline` (engagement attributes chat to segment and on-air site).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from livebot.errors import ConflictError, FieldConflict, LivebotError, ValidationError
from livebot.schedule.errors import UnknownSegment, UnknownSession, UnknownSite
from livebot.schedule.models import (
    Channel,
    JobRun,
    LiveSession,
    Segment,
    SessionControl,
    SessionSite,
    Site,
    TimelineEntry,
)
from livebot.schedule.validate import ChannelInput, SegmentInput, SessionInput, SiteInput, check_run_of_show
from livebot.storage.base import rowcount
from livebot.storage.engine import Database
from livebot.trace import api_internal as trace

ACTIVE = ("draft", "scheduled", "live")


@dataclass(frozen=True)
class TimelineItem:
    """One recorded transition; ``at`` is when it actually happened (UTC)."""

    id: int
    session_id: int
    at: datetime
    kind: str
    segment_id: int | None
    site_id: int | None
    by: str
    payload: dict[str, Any] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        return {**asdict(self), "at": self.at.isoformat()}


@dataclass(frozen=True)
class SegmentView:
    """A run-of-show segment as consoles, overlays and reports read it."""

    id: int
    session_id: int
    position: int
    title: str
    offset_s: int
    duration_s: int
    site_id: int | None
    pip_site_id: int | None
    scene: str
    lot: str
    talking_points: str
    faq_tags: list[str]

    @property
    def end_s(self) -> int:
        return self.offset_s + self.duration_s

    def as_json(self) -> dict[str, Any]:
        return {**asdict(self), "end_s": self.end_s}


def segment_view(row: Segment) -> SegmentView:
    return SegmentView(
        id=row.id, session_id=row.session_id, position=row.position, title=row.title, offset_s=row.offset_s,
        duration_s=row.duration_s, site_id=row.site_id, pip_site_id=row.pip_site_id, scene=row.scene, lot=row.lot,
        talking_points=row.talking_points, faq_tags=list(row.faq_tags or []),
    )


def timeline_item(row: TimelineEntry) -> TimelineItem:
    return TimelineItem(id=row.id, session_id=row.session_id, at=row.at, kind=row.kind, segment_id=row.segment_id,
                        site_id=row.site_id, by=row.by, payload=dict(row.payload or {}))


def site_json(site: Site) -> dict[str, Any]:
    return {"id": site.id, "slug": site.slug, "name": site.name, "role": site.role, "location": site.location,
            "latitude": site.latitude, "longitude": site.longitude, "timezone": site.timezone, "contact": site.contact,
            "lower_third": site.lower_third}


def channel_json(ch: Channel) -> dict[str, Any]:
    return {"id": ch.id, "session_id": ch.session_id, "source_id": ch.source_id, "channel": ch.channel,
            "platform": ch.platform, "site_id": ch.site_id, "label": ch.label}


def session_json(row: LiveSession) -> dict[str, Any]:
    def iso(value: datetime | None) -> str | None:
        return value.isoformat() if value else None

    return {"id": row.id, "title": row.title, "theme": row.theme, "description": row.description,
            "planned_start": iso(row.planned_start), "planned_end": iso(row.planned_end), "timezone": row.timezone,
            "status": row.status, "started_at": iso(row.started_at), "ended_at": iso(row.ended_at),
            "status_changed_by": row.status_changed_by, "status_changed_at": iso(row.status_changed_at)}


# ---- sites -------------------------------------------------------------------------------------


async def list_sites(db: Database) -> list[Site]:
    async with db.sessions() as s:
        return list((await s.scalars(select(Site).order_by(Site.id))).all())


async def get_site(db: Database, site_id: int) -> Site:
    async with db.sessions() as s:
        site = await s.get(Site, site_id)
    if site is None:
        raise UnknownSite(f"没有编号为 {site_id} 的站点")
    return site


async def site_by_slug(db: Database, slug: str) -> Site:
    async with db.sessions() as s:
        site = await s.scalar(select(Site).where(Site.slug == slug))
    if site is None:
        raise UnknownSite(f"没有站点 {slug!r}")
    return site


async def save_site(db: Database, data: SiteInput, site_id: int | None = None) -> Site:
    """Create a site, or replace the fields of an existing one; the slug stays unique."""
    async with db.sessions() as s:
        site = Site() if site_id is None else await s.get(Site, site_id)
        if site is None:
            raise UnknownSite(f"没有编号为 {site_id} 的站点")
        clash = await s.scalar(select(Site.id).where(Site.slug == data.slug, Site.id != (site_id or 0)))
        if clash is not None:
            raise FieldConflict("slug", f"站点标识 {data.slug!r} 已被使用")
        for name, value in asdict(data).items():
            setattr(site, name, value)
        s.add(site)
        try:
            await s.commit()
        except IntegrityError as err:
            raise FieldConflict("slug", f"站点标识 {data.slug!r} 已被使用") from err
        return site


async def delete_site(db: Database, site_id: int) -> None:
    """Only a site no draft, scheduled or live session uses may go."""
    async with db.sessions() as s:
        site = await s.get(Site, site_id)
        if site is None:
            raise UnknownSite(f"没有编号为 {site_id} 的站点")
        used = await s.scalar(
            select(func.count()).select_from(SessionSite).join(LiveSession, LiveSession.id == SessionSite.session_id)
            .where(SessionSite.site_id == site_id, LiveSession.status.in_(ACTIVE))
        )
        if used:
            raise ConflictError(f"站点“{site.name}”仍在 {used} 个未结束的场次中，不能删除")
        await s.delete(site)
        await s.commit()


# ---- sessions ----------------------------------------------------------------------------------


async def list_sessions(db: Database, start: datetime | None = None, end: datetime | None = None,
                        statuses: Sequence[str] = ()) -> list[LiveSession]:
    """Sessions overlapping [start, end), earliest first."""
    query = select(LiveSession).order_by(LiveSession.planned_start, LiveSession.id)
    if start is not None:
        query = query.where(LiveSession.planned_end > start)
    if end is not None:
        query = query.where(LiveSession.planned_start < end)
    if statuses:
        query = query.where(LiveSession.status.in_(statuses))
    async with db.sessions() as s:
        return list((await s.scalars(query)).all())


async def get_session(db: Database, session_id: int) -> LiveSession:
    async with db.sessions() as s:
        row = await s.get(LiveSession, session_id)
    if row is None:
        raise UnknownSession(f"没有编号为 {session_id} 的场次")
    return row


async def session_site_ids(db: Database, session_id: int) -> list[int]:
    async with db.sessions() as s:
        return list((await s.scalars(
            select(SessionSite.site_id).where(SessionSite.session_id == session_id).order_by(SessionSite.site_id))).all())


async def session_sites(db: Database, session_id: int) -> list[Site]:
    async with db.sessions() as s:
        return list((await s.scalars(
            select(Site).join(SessionSite, SessionSite.site_id == Site.id).where(SessionSite.session_id == session_id)
            .order_by(Site.id))).all())


async def channels(db: Database, session_id: int | None = None) -> list[Channel]:
    query = select(Channel).order_by(Channel.id)
    if session_id is not None:
        query = query.where(Channel.session_id == session_id)
    async with db.sessions() as s:
        return list((await s.scalars(query)).all())


async def control(db: Database, session_id: int) -> SessionControl:
    """The session's live state row (a default one when none was stored yet)."""
    async with db.sessions() as s:
        row = await s.get(SessionControl, session_id)
    return row or SessionControl(session_id=session_id, mode="auto", robot_url="", lots=[])


async def session_detail(db: Database, session_id: int) -> dict[str, Any]:
    """Everything the editor and the API show about one session."""
    row = await get_session(db, session_id)
    ctl = await control(db, session_id)
    return {
        **session_json(row),
        "site_ids": await session_site_ids(db, session_id),
        "channels": [channel_json(c) for c in await channels(db, session_id)],
        "lots": await trace.session_lots(db, session_id),
        "segments": [seg.as_json() for seg in await segments(db, session_id)],
        "mode": ctl.mode,
        "robot_url": ctl.robot_url,
        "current_segment_id": ctl.current_segment_id,
        "on_air_site_id": ctl.on_air_site_id,
        "segment_started_at": ctl.segment_started_at.isoformat() if ctl.segment_started_at else None,
    }


async def known_sites(s: AsyncSession, site_ids: Iterable[int], field: str) -> None:
    wanted = set(site_ids)
    if not wanted:
        return
    found = set((await s.scalars(select(Site.id).where(Site.id.in_(wanted)))).all())
    missing = sorted(wanted - found)
    if missing:
        raise ValidationError(field, f"未知站点编号 {missing[0]}")


async def create_session(db: Database, data: SessionInput, by: str, now: datetime) -> int:
    """Insert a session with its sites, channels, controls and lots in one transaction."""
    async with db.sessions() as s:
        await known_sites(s, data.site_ids or [], "site_ids")
        await known_sites(s, [c.site_id for c in data.channels or [] if c.site_id], "channels")
        row = LiveSession(title=data.title, theme=data.theme, description=data.description,
                          planned_start=data.planned_start, planned_end=data.planned_end, timezone=data.timezone,
                          status=data.status, status_changed_by=by, status_changed_at=now, created_at=now)
        s.add(row)
        await s.flush()
        s.add_all(SessionSite(session_id=row.id, site_id=site_id) for site_id in data.site_ids or [])
        s.add_all(channel_row(row.id, ch) for ch in data.channels or [])
        s.add(SessionControl(session_id=row.id, mode=data.mode, robot_url=data.robot_url, lots=[]))
        s.add(TimelineEntry(session_id=row.id, at=now, kind="status", by=by, payload={"from": None, "to": data.status}))
        await s.commit()
        session_id = row.id
    if data.lots is not None:
        try:
            await trace.set_session_lots(db, session_id, data.lots)
        except LivebotError:
            await drop_session(db, session_id)  # nothing saved half-way
            raise
    return session_id


async def drop_session(db: Database, session_id: int) -> None:
    async with db.sessions() as s:
        await s.execute(delete(LiveSession).where(LiveSession.id == session_id))
        await s.commit()


def channel_row(session_id: int, ch: ChannelInput) -> Channel:
    return Channel(session_id=session_id, source_id=ch.source_id, channel=ch.channel, platform=ch.platform,
                   site_id=ch.site_id, label=ch.label)


def editable_fields(row: LiveSession, ctl: SessionControl) -> dict[str, Any]:
    """The current values in the shape :func:`validate.session_input` reads, for partial updates."""
    return {"title": row.title, "theme": row.theme, "description": row.description,
            "planned_start": row.planned_start.isoformat(), "planned_end": row.planned_end.isoformat(),
            "_planned_start": row.planned_start, "timezone": row.timezone, "status": row.status,
            "robot_url": ctl.robot_url, "mode": ctl.mode}


async def update_session(db: Database, session_id: int, data: SessionInput) -> None:
    """Replace a session's fields (and sites/channels when given); segments must still fit."""
    async with db.sessions() as s:
        row = await s.get(LiveSession, session_id)
        if row is None:
            raise UnknownSession(f"没有编号为 {session_id} 的场次")
        if row.status in ("ended", "cancelled"):
            raise ConflictError("场次已结束或取消，不能再修改")
        segs = (await s.scalars(select(Segment).where(Segment.session_id == session_id).order_by(Segment.position))).all()
        length = int((data.planned_end - data.planned_start).total_seconds())
        check_run_of_show([(g.offset_s, g.duration_s) for g in segs], length)
        if data.site_ids is not None:
            await known_sites(s, data.site_ids, "site_ids")
            used = {g.site_id for g in segs} | {g.pip_site_id for g in segs}
            dropped = sorted(x for x in used - set(data.site_ids) if x is not None)
            if dropped:
                raise ValidationError("site_ids", f"站点 {dropped[0]} 仍在节目流程中使用，请先修改相关段落")
        if data.channels is not None:
            await known_sites(s, [c.site_id for c in data.channels if c.site_id], "channels")
        if row.status == "live" and data.planned_start != row.planned_start:
            raise ValidationError("planned_start", "直播中不能修改开始时间")
        for name in ("title", "theme", "description", "planned_start", "planned_end", "timezone"):
            setattr(row, name, getattr(data, name))
        ctl = await s.get(SessionControl, session_id) or SessionControl(session_id=session_id, lots=[])
        ctl.robot_url, ctl.mode = data.robot_url, data.mode
        s.add(ctl)
        if data.site_ids is not None:
            await s.execute(delete(SessionSite).where(SessionSite.session_id == session_id))
            s.add_all(SessionSite(session_id=session_id, site_id=x) for x in data.site_ids)
        if data.channels is not None:
            await s.execute(delete(Channel).where(Channel.session_id == session_id))
            await s.flush()
            s.add_all(channel_row(session_id, ch) for ch in data.channels)
        await s.commit()
    if data.lots is not None:
        await trace.set_session_lots(db, session_id, data.lots)


async def delete_session(db: Database, session_id: int) -> None:
    """Only drafts and cancelled sessions may be deleted; the rest is history."""
    async with db.sessions() as s:
        row = await s.get(LiveSession, session_id)
        if row is None:
            raise UnknownSession(f"没有编号为 {session_id} 的场次")
        if row.status not in ("draft", "cancelled"):
            raise ConflictError("只能删除草稿或已取消的场次")
        await s.delete(row)
        await s.commit()


async def add_channel(db: Database, session_id: int, ch: ChannelInput) -> Channel:
    async with db.sessions() as s:
        if await s.get(LiveSession, session_id) is None:
            raise UnknownSession(f"没有编号为 {session_id} 的场次")
        await known_sites(s, [ch.site_id] if ch.site_id else [], "site_id")
        row = channel_row(session_id, ch)
        s.add(row)
        try:
            await s.commit()
        except IntegrityError as err:
            raise ConflictError(f"频道 {ch.source_id}/{ch.channel} 已绑定到本场次") from err
        return row


async def remove_channel(db: Database, session_id: int, channel_id: int) -> None:
    async with db.sessions() as s:
        result = await s.execute(delete(Channel).where(Channel.id == channel_id, Channel.session_id == session_id))
        if not rowcount(result):
            raise UnknownSession(f"本场次没有编号为 {channel_id} 的频道")
        await s.commit()


# ---- segments ----------------------------------------------------------------------------------


async def segments(db: Database, session_id: int) -> list[SegmentView]:
    """The run of show of a session, in order."""
    async with db.sessions() as s:
        rows = (await s.scalars(
            select(Segment).where(Segment.session_id == session_id).order_by(Segment.position, Segment.id))).all()
    return [segment_view(r) for r in rows]


async def session_length(s: AsyncSession, session_id: int) -> tuple[LiveSession, int]:
    row = await s.get(LiveSession, session_id)
    if row is None:
        raise UnknownSession(f"没有编号为 {session_id} 的场次")
    if row.status in ("ended", "cancelled"):
        raise ConflictError("场次已结束或取消，不能再修改节目流程")
    return row, int((row.planned_end - row.planned_start).total_seconds())


async def check_segment_sites(s: AsyncSession, session_id: int, data: SegmentInput) -> None:
    """On-air and picture-in-picture sites must be sites taking part in the session."""
    taking_part = set((await s.scalars(select(SessionSite.site_id).where(SessionSite.session_id == session_id))).all())
    for name in ("site_id", "pip_site_id"):
        value = getattr(data, name)
        if value is not None and value not in taking_part:
            exists = await s.get(Site, value)
            raise ValidationError(name, f"未知站点编号 {value}" if exists is None else f"站点“{exists.name}”未参加本场次")


def apply_segment(row: Segment, data: SegmentInput) -> None:
    for name in ("title", "duration_s", "site_id", "pip_site_id", "scene", "lot", "talking_points", "faq_tags"):
        setattr(row, name, getattr(data, name))


def renumber(rows: list[Segment]) -> None:
    """Order by offset and write positions 0..n-1."""
    rows.sort(key=lambda r: (r.offset_s, r.position))
    for index, row in enumerate(rows):
        row.position = index


async def create_segment(db: Database, session_id: int, data: SegmentInput) -> SegmentView:
    """Append (no offset given) or insert at ``offset_s``; overlaps are refused, nothing moves."""
    async with db.sessions() as s:
        _, length = await session_length(s, session_id)
        await check_segment_sites(s, session_id, data)
        rows = list((await s.scalars(select(Segment).where(Segment.session_id == session_id))).all())
        renumber(rows)
        offset = data.offset_s if data.offset_s is not None else (rows[-1].offset_s + rows[-1].duration_s if rows else 0)
        new = Segment(session_id=session_id, position=len(rows), offset_s=offset)
        apply_segment(new, data)
        rows.append(new)
        renumber(rows)
        check_run_of_show([(r.offset_s, r.duration_s) for r in rows], length)
        s.add(new)
        await s.commit()
        return segment_view(new)


async def update_segment(db: Database, session_id: int, segment_id: int, raw_keys: Iterable[str],
                         data: SegmentInput) -> SegmentView:
    """Change a segment; a new duration shifts the later segments by the difference (gaps kept)."""
    keys = set(raw_keys)
    async with db.sessions() as s:
        _, length = await session_length(s, session_id)
        await check_segment_sites(s, session_id, data)
        rows = list((await s.scalars(select(Segment).where(Segment.session_id == session_id))).all())
        renumber(rows)
        target = next((r for r in rows if r.id == segment_id), None)
        if target is None:
            raise UnknownSegment(f"本场次没有编号为 {segment_id} 的段落")
        delta = data.duration_s - target.duration_s
        if delta and "offset_s" not in keys:
            for row in rows[target.position + 1:]:
                row.offset_s += delta
        apply_segment(target, data)
        if "offset_s" in keys and data.offset_s is not None:
            target.offset_s = data.offset_s
        renumber(rows)
        check_run_of_show([(r.offset_s, r.duration_s) for r in rows], length)
        await s.commit()
        return segment_view(target)


async def delete_segment(db: Database, session_id: int, segment_id: int) -> None:
    async with db.sessions() as s:
        await session_length(s, session_id)
        rows = list((await s.scalars(select(Segment).where(Segment.session_id == session_id))).all())
        target = next((r for r in rows if r.id == segment_id), None)
        if target is None:
            raise UnknownSegment(f"本场次没有编号为 {segment_id} 的段落")
        await s.execute(update(SessionControl).where(SessionControl.current_segment_id == segment_id)
                        .values(current_segment_id=None))
        await s.delete(target)
        rows.remove(target)
        renumber(rows)
        await s.commit()


async def reorder_segments(db: Database, session_id: int, order: Sequence[int]) -> list[SegmentView]:
    """Put segments in the given order and re-time them back to back from the first start."""
    async with db.sessions() as s:
        _, length = await session_length(s, session_id)
        rows = {r.id: r for r in (await s.scalars(select(Segment).where(Segment.session_id == session_id))).all()}
        if sorted(order) != sorted(rows) or len(set(order)) != len(order):
            raise ValidationError("order", "应列出本场次的每个段落编号各一次")
        start = min((r.offset_s for r in rows.values()), default=0)
        for index, segment_id in enumerate(order):
            row = rows[segment_id]
            row.position, row.offset_s = index, start
            start += row.duration_s
        check_run_of_show([(rows[i].offset_s, rows[i].duration_s) for i in order], length)
        await s.commit()
    return await segments(db, session_id)


# ---- timeline and runs -------------------------------------------------------------------------


async def add_timeline(db: Database, session_id: int, kind: str, at: datetime, by: str, *, segment_id: int | None = None,
                       site_id: int | None = None, payload: dict[str, Any] | None = None) -> TimelineItem:
    async with db.sessions() as s:
        row = TimelineEntry(session_id=session_id, at=at, kind=kind, segment_id=segment_id, site_id=site_id, by=by,
                            payload=payload or {})
        s.add(row)
        await s.commit()
        return timeline_item(row)


async def timeline(db: Database, session_id: int, kinds: Sequence[str] = ()) -> list[TimelineItem]:
    """What actually happened in a session, oldest first (ties in insertion order)."""
    query = select(TimelineEntry).where(TimelineEntry.session_id == session_id)
    if kinds:
        query = query.where(TimelineEntry.kind.in_(kinds))
    async with db.sessions() as s:
        rows = (await s.scalars(query.order_by(TimelineEntry.at, TimelineEntry.id))).all()
    return [timeline_item(r) for r in rows]


async def job_runs(db: Database, outcomes: Sequence[str] = (), limit: int = 50,
                   session_id: int | None = None) -> list[JobRun]:
    query = select(JobRun).order_by(JobRun.ran_at.desc(), JobRun.id.desc()).limit(limit)
    if outcomes:
        query = query.where(JobRun.outcome.in_(outcomes))
    if session_id is not None:
        query = query.where(JobRun.session_id == session_id)
    async with db.sessions() as s:
        return list((await s.scalars(query)).all())


def job_run_json(run: JobRun) -> dict[str, Any]:
    return {"id": run.id, "job_id": run.job_id, "session_id": run.session_id, "kind": run.kind,
            "planned_at": run.planned_at.isoformat(), "ran_at": run.ran_at.isoformat(), "outcome": run.outcome,
            "instance": run.instance, "detail": run.detail}
