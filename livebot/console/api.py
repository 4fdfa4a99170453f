"""The console's JSON API: claim, release, answer, dismiss, escalate, feature, retry, audit.

Every change is committed first and then published on ``console.{session_id}``, so all
consoles (on every instance) see it within one frame. Errors come back as
``{"error": "已被 李营养师 认领"}`` with 409 and friends (see ``livebot.web.errors``).
"""

from __future__ import annotations

import logging
from typing import Any

from aiohttp import web

from livebot.appkeys import BUS, DATABASE
from livebot.auth.access import roles
from livebot.auth.identity import identity_of
from livebot.compliance.gate import Who, gate
from livebot.console import store
from livebot.console.cards import clean_text
from livebot.console.state import CONSOLE, ConsoleState, publish_change
from livebot.console.store import Actor
from livebot.errors import ValidationError
from livebot.faq import learning
from livebot.topics import OVERLAY_CONTROL, overlay_control
from livebot.web.body import json_object

logger = logging.getLogger(__name__)
routes = web.RouteTableDef()

MAX_ANSWER = 2000
MAX_NOTE = 200
MAX_ALIAS_PROPOSALS = 5


def state_of(request: web.Request) -> ConsoleState:
    return request.app[CONSOLE]


def actor_of(request: web.Request) -> Actor:
    identity = identity_of(request)
    assert identity is not None, "access middleware lets only known callers through"
    return state_of(request).actor(identity)


def int_param(request: web.Request, name: str) -> int:
    """A path id; session ids are 32-bit columns (a larger one would fail the query on PostgreSQL)."""
    try:
        value = int(request.match_info[name])
    except ValueError as err:
        raise ValidationError(name, "必须是整数") from err
    if not 0 <= value < (2**31 if name == "session_id" else 2**62):
        raise ValidationError(name, "超出范围")
    return value


def text_field(body: dict[str, Any], name: str, limit: int, required: bool) -> str:
    value = body.get(name, "")
    if not isinstance(value, str):
        raise ValidationError(name, "应为字符串")
    if len(value) > limit:
        raise ValidationError(name, f"最多 {limit} 个字符")
    cleaned = clean_text(value, limit)
    if required and not cleaned:
        raise ValidationError(name, "不能为空")
    return cleaned


def suggestion_field(body: dict[str, Any]) -> int | None:
    """``suggestion`` is 1..3 as the advisor sees it (keys 1-3); the store counts from 0."""
    value = body.get("suggestion")
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= 3:
        raise ValidationError("suggestion", "应为 1、2 或 3")
    return value - 1


def faq_field(body: dict[str, Any]) -> str | None:
    value = body.get("faq_id")
    if value is None or value == "":
        return None
    if not isinstance(value, str) or len(value) > 100 or not value.isprintable():
        raise ValidationError("faq_id", "应为不超过 100 字符的字符串")
    return value


async def respond(request: web.Request, change: store.Change, **extra: Any) -> web.Response:
    await publish_change(request.app, change)
    card_id = int_param(request, "card_id")
    card = next(c for c in change.cards if c.id == card_id)
    return web.json_response({"card": state_of(request).payloads([card])[0], "seq": change.seq, **extra})


@routes.get("/api/v1/console/sessions/{session_id}/queue")
@roles("advisor", "producer")
async def queue(request: web.Request) -> web.Response:
    session_id = int_param(request, "session_id")
    state = state_of(request)
    seq, cards = await store.snapshot(request.app[DATABASE], session_id, state.settings.snapshot_limit)
    return web.json_response({"session_id": session_id, "seq": seq, "cards": state.payloads(cards)})


@routes.post("/api/v1/console/cards/{card_id}/claim")
@roles("advisor")
async def claim(request: web.Request) -> web.Response:
    state = state_of(request)
    version = version_field(await json_object(request))
    change = await store.claim(request.app[DATABASE], int_param(request, "card_id"), actor_of(request), state.claim_timeout,
                               version=version)
    return await respond(request, change)


def version_field(body: dict[str, Any]) -> int | None:
    """The card version the console rendered (optional): a claim on a card that changed since is refused."""
    value = body.get("version")
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value < 2**62:
        raise ValidationError("version", "应为非负整数")
    return value


@routes.post("/api/v1/console/cards/{card_id}/release")
@roles("advisor")
async def release(request: web.Request) -> web.Response:
    change = await store.release(request.app[DATABASE], int_param(request, "card_id"), actor_of(request))
    return await respond(request, change)


@routes.post("/api/v1/console/cards/{card_id}/answer")
@roles("advisor")
async def answer(request: web.Request) -> web.Response:
    state = state_of(request)
    body = await json_object(request)
    text = text_field(body, "text", MAX_ANSWER, required=True)
    suggestion, faq_id = suggestion_field(body), faq_field(body)
    actor = actor_of(request)
    db = request.app[DATABASE]
    refused = await compliance_gate(request, "answer", text, body)
    if refused is not None:
        return refused
    change, asks = await store.answer(db, int_param(request, "card_id"), actor, text, faq_id, suggestion,
                                      state.claim_timeout, state.routes.resolve)
    state.outbox_wake.set()
    card = change.cards[0]
    if card.faq_id and (suggestion is not None or faq_id):
        await teach_alias(request, card.faq_id, asks, actor)
    copy = card.answer_mode in ("on_air", "mixed")
    return await respond(request, change, mode=card.answer_mode, copy=copy, text=text)


async def compliance_gate(request: web.Request, surface: str, text: str, body: dict[str, Any]) -> web.Response | None:
    """The compliance guard's answer for this text on this card (None: it may go out)."""
    card = await store.get_card(request.app[DATABASE], int_param(request, "card_id"))
    identity = identity_of(request)
    assert identity is not None
    reason = text_field(body, "override_reason", MAX_NOTE, required=False)
    who = Who(identity.name, identity.display_name or identity.name, identity.role)
    return await gate(request.app, surface=surface, text=text, card_id=card.id, session_id=card.session_id, who=who,
                      override_reason=reason)


async def teach_alias(request: web.Request, faq_id: str, asks: list[store.AskContext], actor: Actor) -> None:
    """Offer each distinct wording answered with an FAQ entry to the learning loop."""
    seen: set[str] = set()
    for ask in asks:
        if ask.text in seen or len(seen) >= MAX_ALIAS_PROPOSALS:
            continue
        seen.add(ask.text)
        try:
            await learning.propose_alias(request.app[DATABASE], faq_id, ask.text, actor.name, ask.pk)
        except Exception:  # learning is a side benefit: it must never fail an answer
            logger.exception("console faq=%s event=%s alias proposal failed", faq_id, ask.pk)


@routes.post("/api/v1/console/cards/{card_id}/dismiss")
@roles("advisor")
async def dismiss(request: web.Request) -> web.Response:
    state = state_of(request)
    actor = actor_of(request)
    change, texts = await store.dismiss(request.app[DATABASE], int_param(request, "card_id"), actor, state.claim_timeout)
    for text in texts:
        try:
            await learning.record_dismissal(request.app[DATABASE], text, actor.name, bus=request.app[BUS])
        except Exception:  # as above: the dismissal stands even if learning fails
            logger.exception("console card=%s dismissal feedback failed", change.cards[0].id)
    return await respond(request, change)


@routes.post("/api/v1/console/cards/{card_id}/escalate")
@roles("advisor")
async def escalate(request: web.Request) -> web.Response:
    state = state_of(request)
    note = text_field(await json_object(request), "note", MAX_NOTE, required=False)
    change = await store.escalate(request.app[DATABASE], int_param(request, "card_id"), actor_of(request), note,
                                  state.claim_timeout)
    return await respond(request, change)


@routes.post("/api/v1/console/cards/{card_id}/feature")
@roles("advisor")
async def feature(request: web.Request) -> web.Response:
    """Put the question and its answer on the featured Q&A overlay."""
    db = request.app[DATABASE]
    card_id = int_param(request, "card_id")
    given = text_field(await json_object(request), "answer", MAX_ANSWER, required=False)
    card = await store.get_card(db, card_id)
    answer_text = given or card.answer_text or (card.suggestions[0]["answer"] if card.suggestions else "")
    if not answer_text:
        raise ValidationError("answer", "请先填写要上屏的答案")
    refused = await compliance_gate(request, "featured", f"{card.text}\n{answer_text}", {})
    if refused is not None:
        return refused
    actor = actor_of(request)
    change = await store.feature(db, card_id, actor, answer_text)
    first = (card.askers or [{}])[0]
    asker = first.get("user", "") if card.ask_count <= 1 else f"{first.get('user', '')} 等 {card.ask_count} 位观众"
    await request.app[BUS].publish(OVERLAY_CONTROL, overlay_control(
        card.session_id, "featured", actor.display, question=card.text, answer=answer_text, asker=asker,
        platform=first.get("platform", ""),
    ))
    return await respond(request, change, answer=answer_text)


@routes.post("/api/v1/console/cards/{card_id}/retry")
@roles("advisor")
async def retry(request: web.Request) -> web.Response:
    change = await store.retry_replies(request.app[DATABASE], int_param(request, "card_id"), actor_of(request))
    state_of(request).outbox_wake.set()
    return await respond(request, change)


@routes.get("/api/v1/console/cards/{card_id}/audit")
@roles("advisor", "producer")
async def audit(request: web.Request) -> web.Response:
    """Who claimed, answered, edited, dismissed this card and when; its asks and replies."""
    db = request.app[DATABASE]
    card_id = int_param(request, "card_id")
    card = await store.get_card(db, card_id)
    trail = await store.audit_trail(db, card_id)
    asks = await store.card_asks(db, card_id)
    outbox = await store.outbox_rows(db, card_id)
    return web.json_response({
        "card": state_of(request).payloads([card])[0],
        "audit": [{"action": a.action, "actor": a.actor, "actor_name": a.actor_name, "at": a.at.isoformat(),
                   "detail": a.detail} for a in trail],
        "asks": [{"event_id": a.event_id, "asked_at": a.asked_at.isoformat(),
                  "first_answer_at": a.first_answer_at.isoformat() if a.first_answer_at else None,
                  "first_response_seconds": (a.first_answer_at - a.asked_at).total_seconds() if a.first_answer_at else None,
                  "answered_by": a.answered_by, "status": a.status, "platform": a.platform} for a in asks],
        "replies": [{"id": r.id, "kind": r.kind, "status": r.status, "attempts": r.attempts,
                     "last_error": r.last_error, "sent_at": r.sent_at.isoformat() if r.sent_at else None} for r in outbox],
    })


@routes.get("/api/v1/sessions/{session_id}/featured")
@roles("producer", "advisor")
async def featured(request: web.Request) -> web.Response:
    card = await store.featured_card(request.app[DATABASE], int_param(request, "session_id"))
    return web.json_response({"card": state_of(request).payloads([card])[0] if card else None})


@routes.post("/api/v1/sessions/{session_id}/featured/clear")
@roles("producer", "advisor")
async def clear_featured(request: web.Request) -> web.Response:
    """Take the featured Q&A off screen (producer console or advisor)."""
    session_id = int_param(request, "session_id")
    actor = actor_of(request)
    change = await store.clear_featured(request.app[DATABASE], session_id, actor)
    if change is not None:
        await publish_change(request.app, change)
    await request.app[BUS].publish(OVERLAY_CONTROL, overlay_control(session_id, "featured_clear", actor.display))
    return web.json_response({"cleared": [c.id for c in change.cards] if change else []})
