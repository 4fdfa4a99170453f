"""Sentiment corrections: one click on a mislabelled message in the report stores the right label, and the
stored corrections export as ``{"text", "label"}`` lines that ``python -m livebot.sentiment.learned`` trains on."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import and_, delete, select

from livebot.chat.api_internal import StoredEvent
from livebot.engagement.models import SentimentCorrection
from livebot.errors import NotFoundError, ValidationError
from livebot.schedule import api_internal as schedule
from livebot.storage.base import utcnow
from livebot.storage.engine import Database

LABELS = ("positive", "neutral", "negative")
LABEL_NAMES = {"positive": "正面", "neutral": "中性", "negative": "负面"}
MESSAGE_LIMIT = 100
TEXT_LIMIT = 2000
MODEL_LABEL = StoredEvent.enrichment[("sentiment", "label")].as_string()


def label_param(value: Any) -> str:
    """The corrected label, one of ``LABELS``."""
    if not isinstance(value, str) or value not in LABELS:
        raise ValidationError("label", "应为 positive（正面）、neutral（中性）或 negative（负面）之一")
    return value


def message_id_param(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value <= 2**63 - 1:
        raise ValidationError("message_id", "应为正整数")
    return value


def _iso(moment: datetime) -> str:
    return moment.isoformat()


def as_dict(row: SentimentCorrection) -> dict[str, Any]:
    return {"message_id": row.message_id, "session_id": row.session_id, "text": row.text, "model_label": row.model_label,
            "label": row.label, "corrected_by": row.corrected_by, "corrected_at": _iso(row.corrected_at)}


async def correct(db: Database, session_id: int, message_id: int, label: str, by: str) -> dict[str, Any]:
    """Store (or replace) the correction of one of the session's comments; the text is snapshotted."""
    await schedule.get_session(db, session_id)
    query = select(StoredEvent.text, MODEL_LABEL.label("model_label")).where(
        StoredEvent.id == message_id, StoredEvent.session_id == session_id, StoredEvent.kind == "comment")
    async with db.engine.connect() as conn:
        found = (await conn.execute(query)).first()
    if found is None:
        raise NotFoundError("本场没有这条评论")
    row = SentimentCorrection(message_id=message_id, session_id=session_id, text=(found.text or "")[:TEXT_LIMIT],
                              model_label=found.model_label or "", label=label, corrected_by=by[:64], corrected_at=utcnow())
    async with db.sessions() as s:
        await s.execute(delete(SentimentCorrection).where(SentimentCorrection.message_id == message_id))
        s.add(row)
        await s.commit()
        return as_dict(row)


async def corrections(db: Database, session_id: int) -> list[dict[str, Any]]:
    await schedule.get_session(db, session_id)
    query = (select(SentimentCorrection).where(SentimentCorrection.session_id == session_id)
             .order_by(SentimentCorrection.corrected_at, SentimentCorrection.message_id))
    async with db.sessions() as s:
        return [as_dict(row) for row in (await s.scalars(query)).all()]


def training_lines(rows: list[dict[str, Any]]) -> bytes:
    """JSON lines ``{"text", "label"}`` as ``livebot.sentiment.learned`` reads them (empty texts skipped)."""
    return b"".join(orjson.dumps({"text": r["text"], "label": r["label"]}) + b"\n" for r in rows if r["text"].strip())


async def session_messages(db: Database, session_id: int, limit: int = MESSAGE_LIMIT) -> list[dict[str, Any]]:
    """The session's most recent labelled comments with the model's label and any correction (for the report page)."""
    query = (select(StoredEvent.id, StoredEvent.ts, StoredEvent.text, MODEL_LABEL.label("model_label"),
                    SentimentCorrection.label.label("corrected"))
             .outerjoin(SentimentCorrection, SentimentCorrection.message_id == StoredEvent.id)
             .where(and_(StoredEvent.session_id == session_id, StoredEvent.kind == "comment", StoredEvent.hidden.is_(False),
                         StoredEvent.text != "", MODEL_LABEL.isnot(None)))
             .order_by(StoredEvent.ts.desc(), StoredEvent.id.desc()).limit(limit))
    async with db.engine.connect() as conn:
        return [{"id": r.id, "ts": r.ts, "text": r.text, "model_label": r.model_label, "corrected": r.corrected}
                for r in await conn.execute(query)]
