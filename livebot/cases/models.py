"""Tables of the cases area: one row per follow-up case, and its history (who did what, when).

Cases refer to console cards, sessions and lots by value: they outlive a card's cleanup and
keep the area's tables its own.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from livebot.storage.base import Base, BigId, UtcDateTime, utcnow


class FollowupCase(Base):
    __tablename__ = "followup_cases"
    __table_args__ = (
        Index("ix_followup_cases_status_due", "status", "due_at"),
        Index("ix_followup_cases_lot_category", "lot", "category"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    session_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    card_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True, unique=True)
    category: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), default="open")
    title: Mapped[str] = mapped_column(String(300), default="")
    viewers: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    messages: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    lot: Mapped[str | None] = mapped_column(String(64), nullable=True)
    can_code: Mapped[str | None] = mapped_column(String(128), nullable=True)
    owner: Mapped[str | None] = mapped_column(String(64), nullable=True)
    owner_name: Mapped[str] = mapped_column(String(128), default="")
    opened_by: Mapped[str] = mapped_column(String(64), default="")
    auto: Mapped[bool] = mapped_column(default=False)
    due_at: Mapped[datetime] = mapped_column(UtcDateTime)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    version: Mapped[int] = mapped_column(Integer, default=1)


class CaseEvent(Base):
    __tablename__ = "followup_case_events"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    case_id: Mapped[int] = mapped_column(BigId, ForeignKey("followup_cases.id", ondelete="CASCADE"), index=True)
    action: Mapped[str] = mapped_column(String(16))
    from_status: Mapped[str] = mapped_column(String(16), default="")
    to_status: Mapped[str] = mapped_column(String(16), default="")
    note: Mapped[str] = mapped_column(Text, default="")
    actor: Mapped[str] = mapped_column(String(64), default="")
    actor_name: Mapped[str] = mapped_column(String(128), default="")
    at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class CaseContact(Base):
    """A viewer behind a case as the platform knows them, so a conversation can continue in the case."""

    __tablename__ = "followup_case_contacts"
    __table_args__ = (Index("ix_followup_case_contacts_who", "source", "channel", "user_id"),)

    case_id: Mapped[int] = mapped_column(BigId, ForeignKey("followup_cases.id", ondelete="CASCADE"), primary_key=True)
    source: Mapped[str] = mapped_column(String(64), primary_key=True)
    channel: Mapped[str] = mapped_column(String(128), primary_key=True)
    user_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    platform: Mapped[str] = mapped_column(String(16), default="")
    user_name: Mapped[str] = mapped_column(String(128), default="")
    last_seen: Mapped[datetime] = mapped_column(UtcDateTime)
    """The viewer's latest message: WeCom 微信客服 lets an account answer for 48 hours after it."""
