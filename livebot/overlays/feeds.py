"""What overlays read from trace, through its front door: a failure there shows "no data" on the
overlay instead of breaking the page, and is logged with the lot or plant it was about.

Sessions and sites come straight from :mod:`livebot.schedule.api_internal`.
"""

from __future__ import annotations

import logging
from typing import Any

from livebot.storage.engine import Database
from livebot.trace import api_internal as trace

logger = logging.getLogger(__name__)


async def batch_summary(facts: trace.TraceFacts, db: Database, lot: str) -> dict[str, Any] | None:
    """The trace area's summary of one lot, or None when unknown or unavailable."""
    try:
        return await facts.batch_summary(db, lot)
    except Exception:  # another area's failure must not take the overlay down
        logger.exception("overlay batch summary failed lot=%s", lot)
        return None


async def telemetry_snapshot(facts: trace.TraceFacts, db: Database, plant: str | None) -> list[dict[str, Any]]:
    """The newest factory readings (each with ``stale``), or [] when unavailable."""
    try:
        return list(await facts.telemetry_snapshot(db, plant))
    except Exception:  # another area's failure must not take the overlay down
        logger.exception("overlay telemetry snapshot failed plant=%s", plant)
        return []


async def session_lots(db: Database, session_id: int) -> list[str]:
    """Lots linked to a session (for the producer's batch picker), or [] when unavailable."""
    try:
        return await trace.session_lots(db, session_id)
    except Exception:  # another area's failure must not take the producer page down
        logger.exception("overlay session lots failed session=%s", session_id)
        return []
