"""Sites, sessions and their chat channels; run-of-show segments, the actual timeline, and the
scheduler's own tables (job store, runs, lease)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Table,
    Text,
    Unicode,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from livebot.storage.base import Base, BigId, UtcDateTime, utcnow

SITE_ROLES = ("studio", "factory", "farm", "lab")
SESSION_STATUSES = ("draft", "scheduled", "live", "ended", "cancelled")


class Site(Base):
    __tablename__ = "sites"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(128))
    role: Mapped[str] = mapped_column(String(16))
    location: Mapped[str] = mapped_column(String(255), default="")
    latitude: Mapped[float | None] = mapped_column(Float, nullable=True)
    longitude: Mapped[float | None] = mapped_column(Float, nullable=True)
    timezone: Mapped[str] = mapped_column(String(64), default="Asia/Shanghai")
    contact: Mapped[str] = mapped_column(String(255), default="")
    lower_third: Mapped[str] = mapped_column(String(255), default="")


class LiveSession(Base):
    """A broadcast ("场次"); called LiveSession to keep it apart from database sessions."""

    __tablename__ = "sessions"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    title: Mapped[str] = mapped_column(String(255))
    theme: Mapped[str] = mapped_column(String(64), default="")
    description: Mapped[str] = mapped_column(Text, default="")
    planned_start: Mapped[datetime] = mapped_column(UtcDateTime)
    planned_end: Mapped[datetime] = mapped_column(UtcDateTime)
    timezone: Mapped[str] = mapped_column(String(64), default="Asia/Shanghai")
    status: Mapped[str] = mapped_column(String(16), default="draft", index=True)
    started_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    ended_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    status_changed_by: Mapped[str] = mapped_column(String(64), default="")
    status_changed_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class SessionSite(Base):
    __tablename__ = "session_sites"

    session_id: Mapped[int] = mapped_column(ForeignKey("sessions.id", ondelete="CASCADE"), primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id", ondelete="CASCADE"), primary_key=True)


class Channel(Base):
    """A (source, channel) pair bound to a session: chat arriving on it belongs to that session."""

    __tablename__ = "channels"
    __table_args__ = (UniqueConstraint("session_id", "source_id", "channel"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("sessions.id", ondelete="CASCADE"), index=True)
    source_id: Mapped[str] = mapped_column(String(64))
    channel: Mapped[str] = mapped_column(String(128))
    platform: Mapped[str] = mapped_column(String(16), default="other")
    site_id: Mapped[int | None] = mapped_column(ForeignKey("sites.id", ondelete="SET NULL"), nullable=True)
    label: Mapped[str] = mapped_column(String(128), default="")


SEGMENT_SCENES = (
    "trace_card", "timeline", "inspections", "telemetry", "lower_third", "featured_qa", "ticker", "stats", "countdown",
)
TIMELINE_KINDS = ("status", "segment", "site", "cue", "ack", "note")
RUN_MODES = ("auto", "manual")


class Segment(Base):
    """One run-of-show item; ``offset_s`` counts from the session's (actual) start."""

    __tablename__ = "segments"
    __table_args__ = (Index("ix_segments_session_position", "session_id", "position"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("sessions.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(128))
    offset_s: Mapped[int] = mapped_column(Integer)
    duration_s: Mapped[int] = mapped_column(Integer)
    site_id: Mapped[int | None] = mapped_column(ForeignKey("sites.id", ondelete="SET NULL"), nullable=True)
    pip_site_id: Mapped[int | None] = mapped_column(ForeignKey("sites.id", ondelete="SET NULL"), nullable=True)
    scene: Mapped[str] = mapped_column(String(32), default="lower_third")
    lot: Mapped[str] = mapped_column(String(64), default="")
    talking_points: Mapped[str] = mapped_column(Text, default="")
    faq_tags: Mapped[list[str]] = mapped_column(JSON, default=list)


class SessionControl(Base):
    """Live state of a session beside the core row: mode, on-air segment and site, robot URL."""

    __tablename__ = "session_controls"

    session_id: Mapped[int] = mapped_column(ForeignKey("sessions.id", ondelete="CASCADE"), primary_key=True)
    mode: Mapped[str] = mapped_column(String(8), default="auto")
    robot_url: Mapped[str] = mapped_column(String(512), default="")
    current_segment_id: Mapped[int | None] = mapped_column(
        ForeignKey("segments.id", ondelete="SET NULL"), nullable=True
    )
    segment_started_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    on_air_site_id: Mapped[int | None] = mapped_column(ForeignKey("sites.id", ondelete="SET NULL"), nullable=True)
    lots: Mapped[list[str]] = mapped_column(JSON, default=list)


class TimelineEntry(Base):
    """What actually happened, in order: status changes, segment and site switches, cues, acks, notes."""

    __tablename__ = "session_timeline"
    __table_args__ = (Index("ix_session_timeline_session_at", "session_id", "at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("sessions.id", ondelete="CASCADE"))
    at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    kind: Mapped[str] = mapped_column(String(16))
    segment_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    site_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    by: Mapped[str] = mapped_column(String(64), default="")
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class JobRun(Base):
    """Each scheduler firing or miss, unique per (job, planned time) so a job fires at most once."""

    __tablename__ = "schedule_job_runs"
    __table_args__ = (UniqueConstraint("job_id", "planned_at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    job_id: Mapped[str] = mapped_column(String(191))
    session_id: Mapped[int | None] = mapped_column(ForeignKey("sessions.id", ondelete="CASCADE"), nullable=True, index=True)
    kind: Mapped[str] = mapped_column(String(16))
    planned_at: Mapped[datetime] = mapped_column(UtcDateTime)
    ran_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    outcome: Mapped[str] = mapped_column(String(16))
    instance: Mapped[str] = mapped_column(String(64), default="")
    detail: Mapped[str] = mapped_column(Text, default="")


class Lease(Base):
    """A named lock with an expiry, for setups without Redis: whoever holds it runs the scheduler."""

    __tablename__ = "schedule_leases"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    holder: Mapped[str] = mapped_column(String(64))
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime)


scheduler_jobs = Table(
    "schedule_jobs",
    Base.metadata,
    Column("id", Unicode(191), primary_key=True),
    Column("next_run_time", Float(25), index=True),
    Column("job_state", LargeBinary, nullable=False),
)
"""APScheduler's SQLAlchemyJobStore table, declared here so migrations own its schema."""
