"""Overlay state per session (what the screen shows) and the per-session overlay tokens."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from livebot.storage.base import Base, BigId, UtcDateTime, utcnow


class OverlayState(Base):
    """The producer-controlled part of a session's overlays, so restarts show the same screen.

    ``state`` holds scene, lot, featured Q&A, active site, countdown and the comment ticker;
    figures derived from other areas (batch facts, telemetry, stats) are recomputed, not stored.
    """

    __tablename__ = "overlay_states"

    session_id: Mapped[int] = mapped_column(ForeignKey("sessions.id", ondelete="CASCADE"), primary_key=True)
    state: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    version: Mapped[int] = mapped_column(Integer, default=0)
    updated_by: Mapped[str] = mapped_column(String(64), default="")
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class OverlayToken(Base):
    """A secret in the OBS browser-source URL; only its SHA-256 is kept, rotation revokes it."""

    __tablename__ = "overlay_tokens"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("sessions.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_by: Mapped[str] = mapped_column(String(64), default="")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
