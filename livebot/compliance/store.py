"""Reads and writes of the compliance tables: the session log, approvals and brand rules."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any

from sqlalchemy import select

from livebot.compliance.engine import Result
from livebot.compliance.models import (
    ACTION_LABELS,
    SURFACE_LABELS,
    BrandRule,
    BrandRuleHistory,
    ComplianceApproval,
    ComplianceEvent,
)
from livebot.errors import ConflictError, NotFoundError
from livebot.storage.base import utcnow
from livebot.storage.engine import Database

MAX_LOG_TEXT = 2000


def text_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


async def log_event(
    db: Database,
    *,
    surface: str,
    action: str,
    result: Result,
    text: str,
    session_id: int | None = None,
    actor: str = "system",
    actor_name: str = "",
    reason: str = "",
    ref: str = "",
) -> ComplianceEvent:
    """Keep one guard decision in the session's compliance log."""
    findings = [finding.as_dict() for finding in result.findings]
    event = ComplianceEvent(
        session_id=session_id, surface=surface, action=action, verdict=result.verdict,
        rules=sorted({finding.rule for finding in result.findings}), findings=findings, text=text[:MAX_LOG_TEXT],
        actor=actor[:100], actor_name=actor_name[:100], reason=reason[:500], ref=ref[:200], at=utcnow(),
    )
    async with db.sessions() as session, session.begin():
        session.add(event)
    return event


async def session_log(db: Database, session_id: int, limit: int = 1000) -> list[ComplianceEvent]:
    async with db.sessions() as session:
        rows = await session.scalars(
            select(ComplianceEvent).where(ComplianceEvent.session_id == session_id)
            .order_by(ComplianceEvent.at, ComplianceEvent.id).limit(limit)
        )
        return list(rows.all())


async def recent_log(db: Database, limit: int = 200) -> list[ComplianceEvent]:
    async with db.sessions() as session:
        rows = await session.scalars(select(ComplianceEvent).order_by(ComplianceEvent.id.desc()).limit(limit))
        return list(rows.all())


def event_dict(event: ComplianceEvent) -> dict[str, Any]:
    return {
        "id": event.id, "session_id": event.session_id, "surface": event.surface, "action": event.action,
        "verdict": event.verdict, "rules": event.rules, "findings": event.findings, "text": event.text,
        "actor": event.actor, "actor_name": event.actor_name, "reason": event.reason, "ref": event.ref,
        "at": event.at.isoformat(), "surface_label": SURFACE_LABELS.get(event.surface, event.surface),
        "action_label": ACTION_LABELS.get(event.action, event.action),
    }


# ───────────── approvals of warned answers ─────────────


async def request_approval(
    db: Database, *, card_id: int, session_id: int | None, text: str, result: Result, actor: str, actor_name: str
) -> ComplianceApproval:
    """The pending (or already decided) approval for this exact text on this card, created once."""
    digest = text_hash(text)
    async with db.sessions() as session, session.begin():
        existing = await session.scalar(
            select(ComplianceApproval).where(ComplianceApproval.card_id == card_id, ComplianceApproval.text_hash == digest)
            .order_by(ComplianceApproval.id.desc())
        )
        if existing is not None and existing.status in ("pending", "approved"):
            return existing
        approval = ComplianceApproval(
            session_id=session_id, card_id=card_id, text_hash=digest, text=text,
            findings=[f.as_dict() for f in result.findings], status="pending",
            requested_by=actor[:100], requested_name=actor_name[:100], requested_at=utcnow(),
        )
        session.add(approval)
    return approval


async def approved(db: Database, card_id: int, text: str) -> ComplianceApproval | None:
    async with db.sessions() as session:
        return await session.scalar(
            select(ComplianceApproval).where(
                ComplianceApproval.card_id == card_id, ComplianceApproval.text_hash == text_hash(text),
                ComplianceApproval.status == "approved",
            )
        )


async def approvals(db: Database, status: str | None = "pending", limit: int = 200) -> list[ComplianceApproval]:
    async with db.sessions() as session:
        query = select(ComplianceApproval).order_by(ComplianceApproval.id.desc()).limit(limit)
        if status:
            query = query.where(ComplianceApproval.status == status)
        return list((await session.scalars(query)).all())


async def decide(db: Database, approval_id: int, *, approve: bool, by: str, reason: str) -> ComplianceApproval:
    """Approve or reject a pending request; a decided one cannot be decided again."""
    async with db.sessions() as session, session.begin():
        approval = await session.get(ComplianceApproval, approval_id)
        if approval is None:
            raise NotFoundError(f"审核请求 {approval_id} 不存在")
        if approval.status != "pending":
            raise ConflictError("该审核请求已处理")
        approval.status = "approved" if approve else "rejected"
        approval.decided_by = by[:100]
        approval.reason = reason[:500]
        approval.decided_at = utcnow()
    return approval


def approval_dict(approval: ComplianceApproval) -> dict[str, Any]:
    return {
        "id": approval.id, "session_id": approval.session_id, "card_id": approval.card_id, "text": approval.text,
        "findings": approval.findings, "status": approval.status, "requested_by": approval.requested_by,
        "requested_name": approval.requested_name, "decided_by": approval.decided_by, "reason": approval.reason,
        "requested_at": approval.requested_at.isoformat(),
        "decided_at": approval.decided_at.isoformat() if approval.decided_at else None,
    }


# ───────────── brand rules ─────────────

BRAND_FIELDS = ("category", "severity", "terms", "exceptions", "explanation", "rewording", "active")


async def brand_rules(db: Database, active_only: bool = False) -> list[BrandRule]:
    async with db.sessions() as session:
        query = select(BrandRule).order_by(BrandRule.rule_id)
        if active_only:
            query = query.where(BrandRule.active.is_(True))
        return list((await session.scalars(query)).all())


async def save_brand_rule(db: Database, rule_id: str, fields: dict[str, Any], by: str, *, create: bool) -> BrandRule:
    """Create or update a brand rule, writing the new version to its history."""
    async with db.sessions() as session, session.begin():
        rule = await session.scalar(select(BrandRule).where(BrandRule.rule_id == rule_id))
        if create and rule is not None:
            raise ConflictError(f"规则 {rule_id} 已存在")
        if not create and rule is None:
            raise NotFoundError(f"规则 {rule_id} 不存在")
        if rule is None:
            rule = BrandRule(rule_id=rule_id, version=1, **fields)
            session.add(rule)
        else:
            for key, value in fields.items():
                setattr(rule, key, value)
            rule.version += 1
        rule.updated_by = by[:100]
        rule.updated_at = utcnow()
        session.add(BrandRuleHistory(rule_id=rule_id, version=rule.version, action="create" if create else "update",
                                     snapshot=brand_snapshot(rule), changed_by=by[:100], changed_at=rule.updated_at))
    return rule


async def brand_history(db: Database, rule_id: str) -> list[BrandRuleHistory]:
    async with db.sessions() as session:
        rows = await session.scalars(select(BrandRuleHistory).where(BrandRuleHistory.rule_id == rule_id)
                                     .order_by(BrandRuleHistory.version))
        return list(rows.all())


def brand_snapshot(rule: BrandRule) -> dict[str, Any]:
    return {"rule_id": rule.rule_id, **{key: getattr(rule, key) for key in BRAND_FIELDS}}


def brand_dict(rule: BrandRule) -> dict[str, Any]:
    return {**brand_snapshot(rule), "version": rule.version, "updated_by": rule.updated_by,
            "updated_at": rule.updated_at.isoformat() if rule.updated_at else None}


def history_dict(entry: BrandRuleHistory) -> dict[str, Any]:
    return {"version": entry.version, "action": entry.action, "snapshot": entry.snapshot,
            "changed_by": entry.changed_by, "changed_at": entry.changed_at.isoformat()}


def distinct_terms(values: Sequence[str]) -> list[str]:
    seen: list[str] = []
    for value in values:
        if value not in seen:
            seen.append(value)
    return seen
