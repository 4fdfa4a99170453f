"""The knowledge base in the database: entries, their versions, proposed phrasings, dismissals.

``faq_entries`` holds the current state of each entry under its stable string id (soft-deleted,
never removed, so history and references stay valid). Every change also writes a full snapshot
to ``faq_entry_versions`` with who made it and when, which is what the history page shows.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from livebot.storage.base import Base, BigId, UtcDateTime, utcnow

ENTRY_ID_LENGTH = 100
VERSION_ACTIONS = ("create", "update", "delete", "restore", "import", "alias")
PROPOSAL_STATUSES = ("pending", "approved", "rejected")


class FaqEntryRow(Base):
    """The current state of one knowledge-base entry."""

    __tablename__ = "faq_entries"

    id: Mapped[str] = mapped_column(String(ENTRY_ID_LENGTH), primary_key=True)
    question: Mapped[str] = mapped_column(Text)
    aliases: Mapped[list[str]] = mapped_column(JSON, default=list)
    answer: Mapped[str] = mapped_column(Text)
    tags: Mapped[list[str]] = mapped_column(JSON, default=list)
    needs_human: Mapped[bool] = mapped_column(Boolean, default=False)
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_by: Mapped[str] = mapped_column(String(64), default="")
    deleted: Mapped[bool] = mapped_column(Boolean, default=False, index=True)


class FaqEntryVersion(Base):
    """One change to an entry: the full snapshot after it, who made it, when and how."""

    __tablename__ = "faq_entry_versions"
    __table_args__ = (UniqueConstraint("entry_id", "version"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    entry_id: Mapped[str] = mapped_column(ForeignKey("faq_entries.id", ondelete="CASCADE"))
    version: Mapped[int] = mapped_column(Integer)
    action: Mapped[str] = mapped_column(String(16))
    snapshot: Mapped[dict[str, Any]] = mapped_column(JSON)
    changed_by: Mapped[str] = mapped_column(String(64), default="")
    changed_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    note: Mapped[str] = mapped_column(String(255), default="")


class FaqProposal(Base):
    """A phrasing an advisor answered with an entry, waiting to become (or not) an alias.

    ``key`` is a hash of the normalised phrasing so the same wording is proposed once per
    entry however it was typed; a rejected proposal stays so it is not proposed again.
    """

    __tablename__ = "faq_proposals"
    __table_args__ = (
        UniqueConstraint("entry_id", "key"),
        Index("ix_faq_proposals_status_created", "status", "created_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    entry_id: Mapped[str] = mapped_column(ForeignKey("faq_entries.id", ondelete="CASCADE"))
    phrasing: Mapped[str] = mapped_column(Text)
    key: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16), default="pending")
    times: Mapped[int] = mapped_column(Integer, default=1)
    proposed_by: Mapped[str] = mapped_column(String(64), default="")
    event_pk: Mapped[int | None] = mapped_column(BigId, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    reviewed_by: Mapped[str] = mapped_column(String(64), default="")
    reviewed_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)


class FaqDismissal(Base):
    """Chatter an advisor dismissed from the question queue: a negative example.

    ``key`` hashes the normalised text; the enrichment stage treats a message with the same
    normalised text as not a question.
    """

    __tablename__ = "faq_dismissals"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)
    text: Mapped[str] = mapped_column(Text)
    normalized: Mapped[str] = mapped_column(Text)
    times: Mapped[int] = mapped_column(Integer, default=1)
    dismissed_by: Mapped[str] = mapped_column(String(64), default="")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
