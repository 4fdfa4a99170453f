"""What overlays read from other areas (trace facts, sites, sessions), behind one small boundary.

Trace is its own area; if its code is missing or fails, the overlay shows "no data" instead of
breaking the page, and the failure is logged with the lot or plant it was about.
"""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import select

from livebot.schedule.models import LiveSession, SessionSite, Site
from livebot.storage.engine import Database

logger = logging.getLogger(__name__)


async def batch_summary(db: Database, lot: str) -> dict[str, Any] | None:
    """The trace area's summary of one lot, or None when unknown or unavailable."""
    try:
        from livebot.trace import facts
    except ImportError:
        return None
    try:
        return await facts.batch_summary(db, lot)
    except Exception:  # another area's failure must not take the overlay down
        logger.exception("overlay batch summary failed lot=%s", lot)
        return None


async def telemetry_snapshot(db: Database, plant: str | None) -> list[dict[str, Any]]:
    """The newest factory readings (each with ``stale``), or [] when unavailable."""
    try:
        from livebot.trace import facts
    except ImportError:
        return []
    try:
        return list(await facts.telemetry_snapshot(db, plant=plant))
    except Exception:  # another area's failure must not take the overlay down
        logger.exception("overlay telemetry snapshot failed plant=%s", plant)
        return []


async def session_lots(db: Database, session_id: int) -> list[str]:
    """Lots linked to a session (for the producer's batch picker), or [] when unavailable."""
    try:
        from livebot.trace import store
    except ImportError:
        return []
    try:
        lots = await store.session_lots(db, session_id)
    except Exception:  # another area's failure must not take the producer page down
        logger.exception("overlay session lots failed session=%s", session_id)
        return []
    return [lot if isinstance(lot, str) else str(getattr(lot, "lot", lot)) for lot in lots]


async def get_session(db: Database, session_id: int) -> LiveSession | None:
    async with db.sessions() as session:
        return await session.get(LiveSession, session_id)


async def get_site(db: Database, site_id: int) -> Site | None:
    async with db.sessions() as session:
        return await session.get(Site, site_id)


async def session_sites(db: Database, session_id: int) -> list[Site]:
    """The sites taking part in a session, in id order."""
    async with db.sessions() as session:
        rows = await session.scalars(
            select(Site).join(SessionSite, SessionSite.site_id == Site.id)
            .where(SessionSite.session_id == session_id).order_by(Site.id)
        )
        return list(rows)
