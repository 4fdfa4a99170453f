"""The batches (lots) a session presents: kept by the trace area when it is installed.

The trace area owns the session ↔ lot link (``livebot.trace.store.set_session_lots`` /
``session_lots``) because its suggestions and overlays read it; until that module exists the
list is kept in this area's ``session_controls.lots`` so producers can plan either way.
"""

from __future__ import annotations

import importlib
import inspect
import logging
from types import ModuleType
from typing import Any

from livebot.errors import NeedsConfirmation
from livebot.schedule.models import SessionControl
from livebot.storage.engine import Database

logger = logging.getLogger(__name__)


def trace_store() -> ModuleType | None:
    """The trace area's store module, if it offers the session-lot functions."""
    try:
        module = importlib.import_module("livebot.trace.store")
    except ImportError:
        return None
    if hasattr(module, "set_session_lots") and hasattr(module, "session_lots"):
        return module
    return None


async def resolve(value: Any) -> Any:
    return await value if inspect.isawaitable(value) else value


async def get(db: Database, session_id: int) -> list[str]:
    """The lot numbers of a session, in the order the producer gave them."""
    module = trace_store()
    if module is not None:
        found = await resolve(module.session_lots(db, session_id))
        return [str(getattr(x, "lot", x)) for x in found or []]
    async with db.sessions() as s:
        row = await s.get(SessionControl, session_id)
    return list(row.lots or []) if row else []


async def known(db: Database, lot: str) -> bool:
    """Whether the trace area has data for ``lot`` (False when trace is missing or fails)."""
    try:
        from livebot.trace import facts
    except ImportError:
        return False
    try:
        return await facts.batch_summary(db, lot) is not None
    except Exception:  # another area's failure: treat the lot as unknown, the producer may still force it
        logger.exception("trace lookup failed lot=%s", lot)
        return False


async def check_known(db: Database, lot: str, force: bool) -> None:
    """Refuse (409) a lot without trace data unless ``force``: on air it would say "暂无溯源数据"."""
    if lot and not force and not await known(db, lot):
        raise NeedsConfirmation(f"批次 {lot} 没有溯源数据，播出时会显示“批次 {lot} 暂无溯源数据”。请核对批次号；确认无误仍要使用请确认后再保存",
                                "lot", "force")


async def put(db: Database, session_id: int, lots: list[str]) -> None:
    """Replace the lot numbers of a session."""
    module = trace_store()
    if module is not None:
        await resolve(module.set_session_lots(db, session_id, lots))
        logger.info("session=%s lots set in trace store: %d", session_id, len(lots))
        return
    async with db.sessions() as s:
        row = await s.get(SessionControl, session_id) or SessionControl(session_id=session_id, mode="auto", robot_url="")
        row.lots = list(lots)
        s.add(row)
        await s.commit()
