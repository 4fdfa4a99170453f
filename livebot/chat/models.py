"""Stored chat events (one row per (source, platform id), with flags and enrichment) and source cursors."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from livebot.storage.base import Base, BigId, UtcDateTime, utcnow


class StoredEvent(Base):
    __tablename__ = "chat_events"
    __table_args__ = (
        UniqueConstraint("source", "external_id"),
        Index("ix_chat_events_session_ts", "session_id", "ts"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    source: Mapped[str] = mapped_column(String(64))
    external_id: Mapped[str] = mapped_column(String(128))
    platform: Mapped[str] = mapped_column(String(16))
    channel: Mapped[str] = mapped_column(String(128), default="")
    kind: Mapped[str] = mapped_column(String(16))
    ts: Mapped[datetime] = mapped_column(UtcDateTime)
    received_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    user_id: Mapped[str] = mapped_column(String(128), default="")
    user_name: Mapped[str] = mapped_column(String(128), default="")
    text: Mapped[str] = mapped_column(Text, default="")
    count: Mapped[int | None] = mapped_column(Integer, nullable=True)
    viewers: Mapped[int | None] = mapped_column(Integer, nullable=True)
    value: Mapped[int | None] = mapped_column(Integer, nullable=True)
    session_id: Mapped[int | None] = mapped_column(
        ForeignKey("sessions.id", ondelete="SET NULL"), nullable=True
    )
    site_id: Mapped[int | None] = mapped_column(ForeignKey("sites.id", ondelete="SET NULL"), nullable=True)
    segment_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    hidden: Mapped[bool] = mapped_column(Boolean, default=False)
    flags: Mapped[list[str]] = mapped_column(JSON, default=list)
    merged_count: Mapped[int] = mapped_column(Integer, default=1)
    is_question: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    sentiment: Mapped[float | None] = mapped_column(Float, nullable=True)
    enrichment: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    raw: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)


class SourceState(Base):
    """Small per-source key/value state that must survive restarts (sync cursors, last seen ids)."""

    __tablename__ = "source_state"

    source_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text, default="")
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)
