"""What other areas may use of the schedule: sessions, their sites, segments and channels.

Chat routes by channel, the console, overlays and FAQ show a session's title and sites, and
engagement reports per session: they read through these functions (and the row types, for
annotations and report queries) instead of importing the schedule's models and store.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import select

from livebot.schedule.errors import UnknownSession
from livebot.schedule.models import Channel, LiveSession, Segment, SessionControl, SessionSite, Site, TimelineEntry
from livebot.schedule.store import get_session, session_sites
from livebot.storage.engine import Database

__all__ = [
    "Channel", "LiveSession", "Segment", "SessionControl", "SessionSite", "Site", "TimelineEntry", "UnknownSession",
    "channel_bindings", "find_session", "find_site", "get_session", "recent_sessions", "segment_names", "session_sites",
    "sessions_with_status", "site_names",
]


async def find_session(db: Database, session_id: int) -> LiveSession | None:
    """The session, or None (``get_session`` raises :class:`UnknownSession` instead)."""
    async with db.sessions() as s:
        return await s.get(LiveSession, session_id)


async def find_site(db: Database, site_id: int) -> Site | None:
    async with db.sessions() as s:
        return await s.get(Site, site_id)


async def sessions_with_status(db: Database, statuses: Sequence[str]) -> list[LiveSession]:
    """Sessions in ``statuses``, by planned start."""
    async with db.sessions() as s:
        return list((await s.scalars(
            select(LiveSession).where(LiveSession.status.in_(statuses)).order_by(LiveSession.planned_start)
        )).all())


async def recent_sessions(db: Database, limit: int) -> list[LiveSession]:
    """The ``limit`` sessions planned latest, newest first."""
    async with db.sessions() as s:
        return list(await s.scalars(select(LiveSession).order_by(LiveSession.planned_start.desc()).limit(limit)))


async def site_names(db: Database) -> dict[int, str]:
    async with db.sessions() as s:
        return {row.id: row.name for row in (await s.execute(select(Site.id, Site.name))).all()}


async def segment_names(db: Database) -> dict[int, str]:
    async with db.sessions() as s:
        return {row.id: row.title for row in (await s.execute(select(Segment.id, Segment.title))).all()}


async def channel_bindings(db: Database, statuses: Sequence[str]) -> list[Any]:
    """Every channel of a session in ``statuses``, with the session's times and on-air segment and site."""
    query = (
        select(Channel.source_id, Channel.channel, Channel.session_id, Channel.site_id, LiveSession.status,
               LiveSession.planned_start, LiveSession.planned_end, LiveSession.started_at, LiveSession.ended_at,
               SessionControl.current_segment_id, SessionControl.on_air_site_id)
        .join(LiveSession, LiveSession.id == Channel.session_id)
        .outerjoin(SessionControl, SessionControl.session_id == Channel.session_id)
        .where(LiveSession.status.in_(statuses))
    )
    async with db.engine.connect() as conn:
        return list(await conn.execute(query))
