"""The compliance gate in front of an advisor's answer (send) and a featured Q&A (on screen).

``block`` never passes: 422 with the rule, the excerpt and a rewording. ``warn`` passes only
with a senior advisor's approval of this exact text on this card, or a senior's own override
with a reason; otherwise a pending approval is filed and 409 says so. Every step is logged.
"""

from __future__ import annotations

from dataclasses import dataclass

from aiohttp import web

from livebot.compliance import store
from livebot.compliance.engine import Result
from livebot.compliance.service import GUARD
from livebot.console.api_internal import card_audit
from livebot.web.errors import json_dumps


@dataclass(frozen=True, slots=True)
class Who:
    name: str
    display: str
    role: str


def refusal(status: int, message: str, result: Result, **extra: object) -> web.Response:
    return web.json_response({"error": message, "compliance": result.as_dict(), **extra}, status=status, dumps=json_dumps)


async def gate(
    app: web.Application, *, surface: str, text: str, card_id: int, session_id: int | None, who: Who, override_reason: str
) -> web.Response | None:
    """None when ``text`` may go out; otherwise the response refusing it."""
    guard = app[GUARD]
    result = guard.check(text)
    if result.verdict == "ok":
        return None
    context = {"session_id": session_id, "actor": who.name, "actor_name": who.display, "ref": f"card:{card_id}"}
    first = result.findings[0]
    rules = "、".join(sorted({f.rule for f in result.findings}))
    if result.blocked:
        await guard.record(surface, "blocked", result, text, **context)
        await card_audit(guard.db, card_id, session_id, "compliance_blocked", who.name, who.display, rules)
        return refusal(422, f"违反合规规则（{first.rule}）：{first.explanation} 建议改为：{first.rewording}", result)
    approval_row = await store.approved(guard.db, card_id, text)
    if approval_row is not None:
        await guard.record(surface, "passed", result, text, reason=f"资深顾问 {approval_row.decided_by} 已批准", **context)
        return None
    if override_reason and guard.is_senior(who.name, who.role):
        await guard.record(surface, "overridden", result, text, reason=override_reason, **context)
        await card_audit(guard.db, card_id, session_id, "compliance_overridden", who.name, who.display,
                               f"{rules}：{override_reason}")
        return None
    approval = await store.request_approval(guard.db, card_id=card_id, session_id=session_id, text=text, result=result,
                                            actor=who.name, actor_name=who.display)
    await guard.record(surface, "warned", result, text, **context)
    await card_audit(guard.db, card_id, session_id, "compliance_warned", who.name, who.display,
                           f"{rules}（待审核 #{approval.id}）")
    return refusal(409, f"需要资深顾问批准或修改后再发送（{first.rule}）：{first.explanation}", result,
                   needs_approval=True, approval={"id": approval.id, "status": approval.status},
                   senior=guard.is_senior(who.name, who.role))
