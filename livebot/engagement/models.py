"""Per-minute engagement figures and stored post-session reports.

``engagement_minutes`` holds one row per session × minute (UTC, the bucket's start) × platform
× on-air site × segment. ``site_id`` and ``segment_id`` are 0 when nothing was on air (before
the show, after it ended), so they can be part of the primary key. Counters are plain sums;
the exact sets behind the distinct counts (chatters, visitors) and the first-response times
are kept per row so any grouping (per platform, per segment, whole session) can be computed
exactly from the rows alone. Users are stored as short one-way digests, never names.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Float, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from livebot.storage.base import Base, BigId, UtcDateTime, utcnow


class EngagementMinute(Base):
    __tablename__ = "engagement_minutes"

    session_id: Mapped[int] = mapped_column(BigId, ForeignKey("sessions.id", ondelete="CASCADE"), primary_key=True)
    minute: Mapped[datetime] = mapped_column(UtcDateTime, primary_key=True)
    platform: Mapped[str] = mapped_column(String(16), primary_key=True)
    site_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    segment_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    comments: Mapped[int] = mapped_column(Integer, default=0)
    chatters: Mapped[int] = mapped_column(Integer, default=0)
    chatter_keys: Mapped[list[str]] = mapped_column(JSON, default=list)
    visitors: Mapped[int] = mapped_column(Integer, default=0)
    visitor_keys: Mapped[list[str]] = mapped_column(JSON, default=list)
    enters: Mapped[int] = mapped_column(Integer, default=0)
    likes: Mapped[int] = mapped_column(Integer, default=0)
    gifts: Mapped[int] = mapped_column(Integer, default=0)
    gift_value: Mapped[int] = mapped_column(Integer, default=0)
    follows: Mapped[int] = mapped_column(Integer, default=0)
    shares: Mapped[int] = mapped_column(Integer, default=0)
    viewers_last: Mapped[int | None] = mapped_column(Integer, nullable=True)
    viewers_last_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    viewers_peak: Mapped[int | None] = mapped_column(Integer, nullable=True)
    viewers_samples: Mapped[int] = mapped_column(Integer, default=0)
    positive: Mapped[int] = mapped_column(Integer, default=0)
    neutral: Mapped[int] = mapped_column(Integer, default=0)
    negative: Mapped[int] = mapped_column(Integer, default=0)
    sentiment_sum: Mapped[float] = mapped_column(Float, default=0.0)
    sentiment_n: Mapped[int] = mapped_column(Integer, default=0)
    hidden: Mapped[int] = mapped_column(Integer, default=0)
    merged: Mapped[int] = mapped_column(Integer, default=0)
    questions: Mapped[int] = mapped_column(Integer, default=0)
    answered: Mapped[int] = mapped_column(Integer, default=0)
    response_ms: Mapped[list[int]] = mapped_column(JSON, default=list)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class EngagementReport(Base):
    """The report stored when a session ended (or was regenerated), as the JSON the pages read."""

    __tablename__ = "engagement_reports"

    session_id: Mapped[int] = mapped_column(BigId, ForeignKey("sessions.id", ondelete="CASCADE"), primary_key=True,
                                            autoincrement=False)
    generated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    trigger: Mapped[str] = mapped_column(String(16), default="manual")
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    robot_status: Mapped[str] = mapped_column(String(16), default="")
    robot_error: Mapped[str] = mapped_column(String(500), default="")


class PlatformTotal(Base):
    """A platform's own figures for a session, as imported from its back-office export (one row per platform)."""

    __tablename__ = "engagement_platform_totals"

    session_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    platform: Mapped[str] = mapped_column(String(16), primary_key=True)
    figures: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    rows: Mapped[int] = mapped_column(Integer, default=0)
    source_name: Mapped[str] = mapped_column(String(255), default="")
    imported_by: Mapped[str] = mapped_column(String(64), default="")
    imported_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class SentimentCorrection(Base):
    """An advisor's or marketer's corrected sentiment label for one chat message (a later one replaces it)."""

    __tablename__ = "engagement_sentiment_corrections"

    message_id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=False)
    session_id: Mapped[int] = mapped_column(BigId, ForeignKey("sessions.id", ondelete="CASCADE"), index=True)
    text: Mapped[str] = mapped_column(String(2000), default="")
    model_label: Mapped[str] = mapped_column(String(16), default="")
    label: Mapped[str] = mapped_column(String(16))
    corrected_by: Mapped[str] = mapped_column(String(64), default="")
    corrected_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
