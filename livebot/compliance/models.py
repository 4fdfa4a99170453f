"""Compliance tables: the per-session log, warn approvals, and the brand's own rules with history."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from livebot.storage.base import Base, BigId, UtcDateTime, utcnow

SURFACE_LABELS = {"answer": "顾问回答", "case_message": "跟进单消息", "featured": "精选问答", "ticker": "评论滚动", "overlay": "直播画面", "kb": "知识库",
                  "reminder": "开播提醒", "summary": "场后总结"}
ACTION_LABELS = {"blocked": "拦截", "warned": "提醒待审", "held": "暂扣", "approved": "批准", "rejected": "退回",
                 "overridden": "资深顾问放行", "passed": "批准后发出"}


class ComplianceEvent(Base):
    """One guard decision worth keeping for marketing/legal: what, where, verdict, who."""

    __tablename__ = "compliance_events"
    __table_args__ = (Index("ix_compliance_events_session_at", "session_id", "at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    session_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    surface: Mapped[str] = mapped_column(String(16))
    action: Mapped[str] = mapped_column(String(16))
    verdict: Mapped[str] = mapped_column(String(8))
    rules: Mapped[list[str]] = mapped_column(JSON, default=list)
    findings: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    text: Mapped[str] = mapped_column(Text, default="")
    actor: Mapped[str] = mapped_column(String(100), default="system")
    actor_name: Mapped[str] = mapped_column(String(100), default="")
    reason: Mapped[str] = mapped_column(String(500), default="")
    ref: Mapped[str] = mapped_column(String(200), default="")
    at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class ComplianceApproval(Base):
    """A senior advisor's sign-off for one warned text on one card (the exact text, by hash)."""

    __tablename__ = "compliance_approvals"
    __table_args__ = (Index("ix_compliance_approvals_card", "card_id", "text_hash"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    session_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    card_id: Mapped[int] = mapped_column(BigId)
    text_hash: Mapped[str] = mapped_column(String(64))
    text: Mapped[str] = mapped_column(Text)
    findings: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    requested_by: Mapped[str] = mapped_column(String(100))
    requested_name: Mapped[str] = mapped_column(String(100), default="")
    decided_by: Mapped[str | None] = mapped_column(String(100), nullable=True)
    reason: Mapped[str] = mapped_column(String(500), default="")
    requested_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    decided_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)


class BrandRule(Base):
    """A rule the brand adds on top of the shipped file: literal terms, editable by admins."""

    __tablename__ = "compliance_brand_rules"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    rule_id: Mapped[str] = mapped_column(String(80), unique=True)
    category: Mapped[str] = mapped_column(String(40))
    severity: Mapped[str] = mapped_column(String(8))
    terms: Mapped[list[str]] = mapped_column(JSON, default=list)
    exceptions: Mapped[list[str]] = mapped_column(JSON, default=list)
    explanation: Mapped[str] = mapped_column(String(500))
    rewording: Mapped[str] = mapped_column(String(500), default="")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    version: Mapped[int] = mapped_column(Integer, default=1)
    updated_by: Mapped[str] = mapped_column(String(100), default="")
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class BrandRuleHistory(Base):
    """Every saved version of a brand rule: who changed what, and when."""

    __tablename__ = "compliance_brand_rule_history"
    __table_args__ = (Index("ix_compliance_brand_rule_history_rule", "rule_id", "version"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    rule_id: Mapped[str] = mapped_column(String(80))
    version: Mapped[int] = mapped_column(Integer)
    action: Mapped[str] = mapped_column(String(16))
    snapshot: Mapped[dict[str, Any]] = mapped_column(JSON)
    changed_by: Mapped[str] = mapped_column(String(100))
    changed_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
