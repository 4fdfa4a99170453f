"""Question cards, the asks behind them, the audit trail, the reply outbox and the sequence.

``question_cards`` and ``question_asks`` are a contract with the engagement reports: one ask
per chat event that was a question (``first_answer_at - asked_at`` is the first-response
time), grouped into cards that advisors claim and answer once for every asker.

``console_seqs`` holds one counter per session. Every transaction that changes cards bumps it
first, which also serialises writers of one session (a row lock on PostgreSQL, the write lock
on SQLite): card versions therefore follow commit order, and a console can tell a gap in the
updates it received from a duplicate.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from livebot.storage.base import Base, BigId, UtcDateTime, utcnow

CARD_STATUSES = ("open", "claimed", "answered", "dismissed", "escalated")
ACTIVE_STATUSES = ("open", "claimed", "escalated")
OUTBOX_STATUSES = ("pending", "sent", "failed")


class ConsoleSeq(Base):
    __tablename__ = "console_seqs"

    session_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    seq: Mapped[int] = mapped_column(BigInteger, default=0)


class QuestionCard(Base):
    """One question as advisors see it: possibly asked by many viewers on many platforms."""

    __tablename__ = "question_cards"
    __table_args__ = (
        Index("ix_question_cards_session_status", "session_id", "status"),
        Index("ix_question_cards_session_group", "session_id", "group_key"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    session_id: Mapped[int] = mapped_column(Integer)
    group_key: Mapped[str] = mapped_column(String(200))
    group_reason: Mapped[str] = mapped_column(String(255), default="")
    status: Mapped[str] = mapped_column(String(16), default="open")
    text: Mapped[str] = mapped_column(Text, default="")
    faq_id: Mapped[str | None] = mapped_column(String(100), nullable=True)
    suggestions: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    needs_human: Mapped[bool] = mapped_column(Boolean, default=False)
    complaint: Mapped[bool] = mapped_column(Boolean, default=False)
    ask_count: Mapped[int] = mapped_column(Integer, default=0)
    askers: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    platforms: Mapped[list[str]] = mapped_column(JSON, default=list)
    site_ids: Mapped[list[int]] = mapped_column(JSON, default=list)
    segment_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    first_asked_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    last_asked_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    claimed_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    claimed_by_name: Mapped[str] = mapped_column(String(128), default="")
    claimed_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    escalated_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    escalated_by: Mapped[str] = mapped_column(String(64), default="")
    escalate_note: Mapped[str] = mapped_column(String(255), default="")
    answered_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    answered_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    answered_by_name: Mapped[str] = mapped_column(String(128), default="")
    answer_text: Mapped[str | None] = mapped_column(Text, nullable=True)
    answer_mode: Mapped[str] = mapped_column(String(16), default="")
    reply_status: Mapped[str] = mapped_column(String(16), default="")
    reply_error: Mapped[str] = mapped_column(String(500), default="")
    dismissed_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    dismissed_by: Mapped[str] = mapped_column(String(64), default="")
    featured: Mapped[bool] = mapped_column(Boolean, default=False)
    version: Mapped[int] = mapped_column(BigInteger, default=0)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class QuestionAsk(Base):
    """One viewer asking: the chat event, its card, when it was asked and first answered."""

    __tablename__ = "question_asks"
    __table_args__ = (Index("ix_question_asks_session_asked", "session_id", "asked_at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("chat_events.id", ondelete="CASCADE"), unique=True)
    card_id: Mapped[int] = mapped_column(ForeignKey("question_cards.id", ondelete="CASCADE"), index=True)
    session_id: Mapped[int] = mapped_column(Integer)
    asked_at: Mapped[datetime] = mapped_column(UtcDateTime)
    first_answer_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    answered_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    faq_id: Mapped[str | None] = mapped_column(String(100), nullable=True)
    status: Mapped[str] = mapped_column(String(16), default="open")
    platform: Mapped[str] = mapped_column(String(16), default="other")
    site_id: Mapped[int | None] = mapped_column(Integer, nullable=True)


class ConsoleAudit(Base):
    """Who did what to which card, and when (claim, answer, edit, dismiss, escalate ...)."""

    __tablename__ = "console_audit"
    __table_args__ = (Index("ix_console_audit_session_at", "session_id", "at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    card_id: Mapped[int | None] = mapped_column(ForeignKey("question_cards.id", ondelete="SET NULL"), nullable=True, index=True)
    session_id: Mapped[int] = mapped_column(Integer)
    action: Mapped[str] = mapped_column(String(24))
    actor: Mapped[str] = mapped_column(String(64), default="")
    actor_name: Mapped[str] = mapped_column(String(128), default="")
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class ReplyOutbox(Base):
    """A reply waiting to reach a platform; retried with backoff until sent or given up."""

    __tablename__ = "console_outbox"
    __table_args__ = (Index("ix_console_outbox_status_next", "status", "next_try"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    card_id: Mapped[int] = mapped_column(ForeignKey("question_cards.id", ondelete="CASCADE"), index=True)
    session_id: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(16))
    target: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    text: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_try: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    last_error: Mapped[str] = mapped_column(String(500), default="")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
