"""A lot goes on air only when trace has data for it, or when the producer confirms it anyway."""

from __future__ import annotations

import logging

from livebot.errors import NeedsConfirmation
from livebot.storage.engine import Database
from livebot.trace import api_internal as trace

logger = logging.getLogger(__name__)


async def known(facts: trace.TraceFacts, db: Database, lot: str) -> bool:
    """Whether trace has data for ``lot`` (a failed lookup counts as unknown: the producer may still force it)."""
    try:
        return await facts.batch_summary(db, lot) is not None
    except Exception:
        logger.exception("trace lookup failed lot=%s", lot)
        return False


async def check_known(facts: trace.TraceFacts, db: Database, lot: str, force: bool) -> None:
    """Refuse (409) a lot without trace data unless ``force``: on air it would say "暂无溯源数据"."""
    if lot and not force and not await known(facts, db, lot):
        raise NeedsConfirmation(f"批次 {lot} 没有溯源数据，播出时会显示“批次 {lot} 暂无溯源数据”。请核对批次号；确认无误仍要使用请确认后再保存",
                                "lot", "force")
