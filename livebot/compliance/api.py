"""Compliance HTTP API and the 合规审核 page: check texts, session logs, approvals, brand rules."""

from __future__ import annotations

import re
from typing import Any

import aiohttp_jinja2
from aiohttp import web

from livebot.appkeys import DATABASE
from livebot.auth.access import roles
from livebot.auth.identity import identity_of
from livebot.compliance import store
from livebot.compliance.engine import SEVERITIES
from livebot.compliance.models import ACTION_LABELS, SURFACE_LABELS
from livebot.compliance.service import GUARD, Guard
from livebot.console.api_internal import card_audit
from livebot.errors import ValidationError
from livebot.web.body import json_object

routes = web.RouteTableDef()

MAX_TEXT = 20_000
MAX_REASON = 500
MAX_TERMS = 50
MAX_TERM = 40
RULE_ID = re.compile(r"^[a-z0-9][a-z0-9-]{1,60}$")
CATEGORIES = (
    "breastmilk-substitute", "absolute-term", "disease-claim", "function-claim", "unverifiable-origin", "zero-additive",
    "unsubstantiated-claim", "medical-endorsement", "authority-endorsement", "free-sample", "infant-promotion",
    "minor-endorser", "disparagement", "data-manipulation", "brand-policy",
)


def guard_of(request: web.Request) -> Guard:
    return request.app[GUARD]


def string_field(body: dict[str, Any], name: str, limit: int, required: bool = True) -> str:
    value = body.get(name, "")
    if not isinstance(value, str):
        raise ValidationError(name, "应为字符串")
    value = value.strip()
    if len(value) > limit:
        raise ValidationError(name, f"最多 {limit} 个字符")
    if required and not value:
        raise ValidationError(name, "不能为空")
    if any(ord(char) < 32 and char not in "\n\t" for char in value):
        raise ValidationError(name, "含有控制字符")
    return value


def session_param(request: web.Request) -> int:
    try:
        value = int(request.match_info["session_id"])
    except ValueError as err:
        raise ValidationError("session_id", "必须是整数") from err
    if not 0 < value < 2**31:
        raise ValidationError("session_id", "超出范围")
    return value


@routes.post("/api/v1/compliance/check")
@roles("advisor", "producer", "marketing")
async def check(request: web.Request) -> web.Response:
    """Verdict and findings for a text (nothing is logged: drafts are private)."""
    text = string_field(await json_object(request), "text", MAX_TEXT)
    return web.json_response(guard_of(request).check(text).as_dict())


@routes.get("/api/v1/sessions/{session_id}/compliance")
@roles("producer", "marketing", "advisor")
async def session_log(request: web.Request) -> web.Response:
    """The session's compliance log: what was blocked, warned, held, approved or overridden, by whom."""
    events = await store.session_log(request.app[DATABASE], session_param(request))
    return web.json_response({"events": [store.event_dict(e) for e in events]})


@routes.get("/api/v1/compliance/approvals")
@roles("advisor", "producer")
async def list_approvals(request: web.Request) -> web.Response:
    status = request.query.get("status", "pending")
    if status not in ("pending", "approved", "rejected", "all"):
        raise ValidationError("status", "应为 pending、approved、rejected 或 all")
    rows = await store.approvals(request.app[DATABASE], None if status == "all" else status)
    return web.json_response({"approvals": [store.approval_dict(a) for a in rows]})


@routes.post("/api/v1/compliance/approvals/{approval_id}/{decision:approve|reject}")
@roles("advisor")
async def decide(request: web.Request) -> web.Response:
    """A senior advisor approves (or rejects) a warned answer; the decision is logged with the reason."""
    identity = identity_of(request)
    assert identity is not None
    guard = guard_of(request)
    if not guard.is_senior(identity.name, identity.role):
        return web.json_response({"error": "只有资深顾问可以审核"}, status=403)
    try:
        approval_id = int(request.match_info["approval_id"])
    except ValueError as err:
        raise ValidationError("approval_id", "必须是整数") from err
    if not 0 < approval_id < 2**62:
        raise ValidationError("approval_id", "超出范围")
    reason = string_field(await json_object(request), "reason", MAX_REASON)
    approve = request.match_info["decision"] == "approve"
    approval = await store.decide(request.app[DATABASE], approval_id, approve=approve, by=identity.name, reason=reason)
    result = guard.check(approval.text)
    action = "approved" if approve else "rejected"
    await guard.record("answer", action, result, approval.text, session_id=approval.session_id,
                       actor=identity.name, actor_name=identity.display_name, reason=reason, ref=f"card:{approval.card_id}")
    await card_audit(request.app[DATABASE], approval.card_id, approval.session_id, f"compliance_{action}", identity.name,
                           identity.display_name, f"#{approval.id}：{reason}")
    return web.json_response({"approval": store.approval_dict(approval)})


# ───────────── brand rules (admin) ─────────────


def brand_fields(body: dict[str, Any]) -> dict[str, Any]:
    category = body.get("category")
    if category not in CATEGORIES:
        raise ValidationError("category", "未知的规则类别")
    severity = body.get("severity")
    if severity not in SEVERITIES:
        raise ValidationError("severity", "应为 block 或 warn")
    active = body.get("active", True)
    if not isinstance(active, bool):
        raise ValidationError("active", "应为 true 或 false")
    return {
        "category": category, "severity": severity, "active": active,
        "terms": term_list(body, "terms", required=True), "exceptions": term_list(body, "exceptions", required=False),
        "explanation": string_field(body, "explanation", 500), "rewording": string_field(body, "rewording", 500, required=False),
    }


def term_list(body: dict[str, Any], name: str, required: bool) -> list[str]:
    raw = body.get(name, [])
    if not isinstance(raw, list) or len(raw) > MAX_TERMS:
        raise ValidationError(name, f"应为最多 {MAX_TERMS} 个词语的列表")
    terms: list[str] = []
    for item in raw:
        if not isinstance(item, str) or not item.strip() or len(item) > MAX_TERM or not item.isprintable():
            raise ValidationError(name, f"每个词语应为 1–{MAX_TERM} 个可见字符")
        if item.strip() not in terms:
            terms.append(item.strip())
    if required and not terms:
        raise ValidationError(name, "至少一个词语")
    return terms


@routes.get("/api/v1/compliance/brand-rules")
@roles("admin")
async def list_brand_rules(request: web.Request) -> web.Response:
    rows = await store.brand_rules(request.app[DATABASE])
    return web.json_response({"rules": [store.brand_dict(r) for r in rows], "file_version": guard_of(request).base.version})


@routes.post("/api/v1/compliance/brand-rules")
@roles("admin")
async def create_brand_rule(request: web.Request) -> web.Response:
    body = await json_object(request)
    rule_id = body.get("rule_id")
    if not isinstance(rule_id, str) or not RULE_ID.match(rule_id):
        raise ValidationError("rule_id", "应为 2–61 位小写字母、数字或连字符")
    return await save(request, rule_id, brand_fields(body), create=True)


@routes.put("/api/v1/compliance/brand-rules/{rule_id}")
@roles("admin")
async def update_brand_rule(request: web.Request) -> web.Response:
    return await save(request, request.match_info["rule_id"], brand_fields(await json_object(request)), create=False)


async def save(request: web.Request, rule_id: str, fields: dict[str, Any], create: bool) -> web.Response:
    identity = identity_of(request)
    assert identity is not None
    rule = await store.save_brand_rule(request.app[DATABASE], rule_id, fields, identity.name, create=create)
    await guard_of(request).reload_brand_rules()
    return web.json_response({"rule": store.brand_dict(rule)}, status=201 if create else 200)


@routes.get("/api/v1/compliance/brand-rules/{rule_id}/history")
@roles("admin")
async def brand_rule_history(request: web.Request) -> web.Response:
    rows = await store.brand_history(request.app[DATABASE], request.match_info["rule_id"])
    return web.json_response({"history": [store.history_dict(h) for h in rows]})


# ───────────── the page ─────────────


@routes.get("/compliance")
@roles("advisor", "producer", "marketing")
@aiohttp_jinja2.template("compliance/index.html")
async def page(request: web.Request) -> dict[str, Any]:
    """合规审核: pending approvals, the latest log entries, the rule file and the brand rules."""
    identity = identity_of(request)
    assert identity is not None
    guard = guard_of(request)
    db = request.app[DATABASE]
    return {
        "pending": await store.approvals(db, "pending"),
        "log": await store.recent_log(db, 100),
        "rules": guard.base.rules,
        "version": guard.base.version,
        "brand": await store.brand_rules(db),
        "senior": guard.is_senior(identity.name, identity.role),
        "admin": identity.role == "admin",
        "categories": CATEGORIES,
        "surfaces": SURFACE_LABELS,
        "actions": ACTION_LABELS,
    }
