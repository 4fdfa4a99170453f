"""知识库 pages for advisors: list and search, edit, add, history, and the review queue.

Plain HTML forms (CSRF field, server-side validation with Chinese messages next to each field)
so the pages work without JavaScript; ``/static/faq/faq.js`` only adds conveniences.
"""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

import aiohttp_jinja2
from aiohttp import web
from multidict import MultiDictProxy

from livebot.appkeys import BUS, CONFIG, DATABASE
from livebot.auth.access import roles
from livebot.auth.api_internal import display_names
from livebot.compliance.service import GUARD
from livebot.errors import FieldErrors, ValidationError
from livebot.faq import learning, store
from livebot.faq.api import who
from livebot.faq.editing import EntryFieldError, entry_from_input, kb_answer_gate, split_lines, split_tags
from livebot.faq.kb import FaqEntry
from livebot.faq.placeholders import BATCH_KEYS, SESSION_KEYS, placeholder_warnings, placeholders
from livebot.faq.settings import FaqSettings

routes = web.RouteTableDef()

ACTION_LABELS = {"create": "新建", "update": "修改", "delete": "删除", "restore": "恢复", "import": "导入", "alias": "采纳问法"}
FIELD_LABELS = {"question": "标准问题", "aliases": "其他问法", "answer": "答案", "tags": "标签", "needs_human": "需转人工",
                "deleted": "已删除"}


def render(name: str, request: web.Request, context: dict[str, Any], status: int = 200) -> web.Response:
    response = aiohttp_jinja2.render_template(name, request, context, status=status)
    response.headers["Cache-Control"] = "no-store"
    return response


def field_errors(err: ValidationError) -> dict[str, str]:
    """Every field's problem (a form shows them all at once)."""
    return dict(err.errors) if isinstance(err, FieldErrors) else {err.field: err.problem}


def form_record(form: MultiDictProxy[Any]) -> dict[str, Any]:
    """The entry fields of a posted form, in the JSON API's shape."""
    return {
        "id": str(form.get("id", "")),
        "question": str(form.get("question", "")),
        "aliases": split_lines(str(form.get("aliases", ""))),
        "answer": str(form.get("answer", "")),
        "tags": split_tags(str(form.get("tags", ""))),
        "needs_human": form.get("needs_human") in ("on", "1", "true"),
    }


def form_values(entry: FaqEntry | dict[str, Any]) -> dict[str, Any]:
    """What the edit form shows: aliases one per line, tags separated by commas."""
    data = entry.to_dict() if isinstance(entry, FaqEntry) else entry
    return {
        "id": data.get("id", ""),
        "question": data.get("question", ""),
        "aliases": "\n".join(data.get("aliases", [])),
        "answer": data.get("answer", ""),
        "tags": "，".join(data.get("tags", [])),
        "needs_human": bool(data.get("needs_human")),
    }


async def edit_context(request: web.Request, **extra: Any) -> dict[str, Any]:
    return {
        "batch_keys": BATCH_KEYS,
        "session_keys": SESSION_KEYS,
        "pending_count": await learning.count_pending(request.app[DATABASE]),
        "names": await display_names(request.app[DATABASE]),
        "errors": {},
        "notice": "",
        "conflict": None,
        "compliance": (),
        **extra,
        "warnings": placeholder_warnings(str(extra["values"]["answer"])) if "values" in extra else [],
    }


# ───────────── list ─────────────


@routes.get("/faq")
@roles("advisor")
async def entry_list(request: web.Request) -> web.Response:
    db = request.app[DATABASE]
    query = request.query.get("q", "")[:100]
    tag = request.query.get("tag", "")[:32]
    entries = await store.list_entries(db, query, tag=tag)
    return render("faq/list.html", request, {
        "entries": entries,
        "query": query,
        "tag": tag,
        "tags": await store.all_tags(db),
        "total": len(await store.active_entries(db)) if (query or tag) else len(entries),
        "pending_count": await learning.count_pending(db),
        "notice": notice_text(request.query.get("done", "")),
        "placeholders": placeholders,
        "names": await display_names(db),
    })


def notice_text(code: str) -> str:
    return {"deleted": "条目已删除（历史版本仍可查看）", "created": "条目已新建", "saved": "已保存"}.get(code, "")


# ───────────── add ─────────────


@routes.get("/faq/new")
@roles("advisor")
async def new_entry_page(request: web.Request) -> web.Response:
    values = form_values({"id": "", "question": "", "aliases": [], "answer": "", "tags": [], "needs_human": False})
    return render("faq/edit.html", request, await edit_context(request, creating=True, values=values, stored=None))


@routes.post("/faq/new")
@roles("advisor")
async def create_entry(request: web.Request) -> web.Response:
    record = form_record(await request.post())
    try:
        entry = entry_from_input(record)
        kb_answer_gate(request.app, entry.answer)
        stored = await store.create_entry(request.app[DATABASE], entry, who(request))
    except ValidationError as err:
        context = await edit_context(request, creating=True, values=form_values(record), stored=None,
                                     errors=field_errors(err))
        return render("faq/edit.html", request, context, status=400)
    except store.EntryExistsError as err:
        context = await edit_context(request, creating=True, values=form_values(record), stored=None,
                                     errors={"id": str(err)})
        return render("faq/edit.html", request, context, status=409)
    await store.announce_change(request.app[BUS], [entry.id], "create", who(request))
    raise web.HTTPSeeOther(f"/faq/{stored.id}?done=created")


# ───────────── review queue ─────────────


@routes.get("/faq/review")
@roles("advisor")
async def review_page(request: web.Request) -> web.Response:
    db = request.app[DATABASE]
    pending = await learning.list_proposals(db, "pending")
    recent = [p for p in await learning.list_proposals(db, "all", limit=200) if p.status != "pending"]
    recent.sort(key=lambda p: p.reviewed_at or p.created_at, reverse=True)
    notice = {"approved": "已采纳为新问法，问答引擎已更新", "rejected": "已拒绝，今后不会再推荐这条问法"}
    names = await display_names(db)  # people by the names colleagues know them by, not their login
    return render("faq/review.html", request, {
        "pending": pending, "recent": recent[:20], "pending_count": len(pending), "names": names,
        "notice": notice.get(request.query.get("done", ""), ""), "conflict": "",
    })


@routes.post("/faq/review/{proposal_id}/{verdict}")
@roles("advisor")
async def review_proposal(request: web.Request) -> web.Response:
    verdict = request.match_info["verdict"]
    raw = request.match_info["proposal_id"]
    if verdict not in ("approve", "reject") or not raw.isdigit() or len(raw) > 18:
        raise web.HTTPNotFound(text="没有这个操作")
    db = request.app[DATABASE]
    try:
        if verdict == "approve":
            _, stored = await learning.approve(db, int(raw), who(request))
            await store.announce_change(request.app[BUS], [stored.id], "alias", who(request))
        else:
            await learning.reject(db, int(raw), who(request))
    except (learning.ProposalReviewedError, store.EntryNotFoundError) as err:
        pending = await learning.list_proposals(db, "pending")
        names = await display_names(db)
        conflict = err.message_for(names, err.proposal) if isinstance(err, learning.ProposalReviewedError) else str(err)
        return render("faq/review.html", request, {"pending": pending, "recent": [], "pending_count": len(pending),
                                                    "names": names, "notice": "", "conflict": conflict}, status=409)
    raise web.HTTPSeeOther(f"/faq/review?done={'approved' if verdict == 'approve' else 'rejected'}")


# ───────────── edit ─────────────


def missing_page(request: web.Request, err: store.EntryNotFoundError) -> web.Response:
    return render("faq/missing.html", request, {"message": str(err), "pending_count": 0}, status=404)


@routes.get("/faq/{entry_id}")
@roles("advisor")
async def edit_page(request: web.Request) -> web.Response:
    try:
        stored = await store.get_entry(request.app[DATABASE], request.match_info["entry_id"])
    except store.EntryNotFoundError as err:
        return missing_page(request, err)
    guard = request.app.get(GUARD)
    findings = guard.check(stored.entry.answer).findings if guard is not None else ()
    context = await edit_context(request, creating=False, values=form_values(stored.entry), stored=stored,
                                 notice=notice_text(request.query.get("done", "")), compliance=findings)
    return render("faq/edit.html", request, context)


@routes.post("/faq/{entry_id}")
@roles("advisor")
async def save_entry(request: web.Request) -> web.Response:
    db = request.app[DATABASE]
    entry_id = request.match_info["entry_id"]
    try:
        current = await store.get_entry(db, entry_id)
    except store.EntryNotFoundError as err:
        return missing_page(request, err)
    form = await request.post()
    record = form_record(form)
    record["id"] = entry_id
    raw_version = str(form.get("version", ""))
    try:
        if not raw_version.isdigit() or len(raw_version) > 9:
            raise EntryFieldError("version", "缺少版本号，请刷新页面后重试")
        entry = entry_from_input(record, entry_id=entry_id)
        kb_answer_gate(request.app, entry.answer)
        stored = await store.update_entry(db, entry, who(request), int(raw_version))
    except ValidationError as err:
        context = await edit_context(request, creating=False, values=form_values(record), stored=current,
                                     errors=field_errors(err), version=raw_version)
        return render("faq/edit.html", request, context, status=400)
    except store.StaleEditError as err:
        # Keep what the advisor typed, show what is stored now, and let them save on top of it.
        context = await edit_context(request, creating=False, values=form_values(record), stored=current,
                                     conflict=str(err))
        return render("faq/edit.html", request, context, status=409)
    await store.announce_change(request.app[BUS], [entry_id], "update", who(request))
    raise web.HTTPSeeOther(f"/faq/{stored.id}?done=saved")


@routes.post("/faq/{entry_id}/delete")
@roles("advisor")
async def delete_entry(request: web.Request) -> web.Response:
    db = request.app[DATABASE]
    entry_id = request.match_info["entry_id"]
    try:
        current = await store.get_entry(db, entry_id)
    except store.EntryNotFoundError as err:
        return missing_page(request, err)
    raw_version = str((await request.post()).get("version", ""))
    try:
        await store.delete_entry(db, entry_id, who(request), int(raw_version) if raw_version.isdigit() else None)
    except store.StaleEditError as err:
        context = await edit_context(request, creating=False, values=form_values(current.entry), stored=current,
                                     conflict=str(err))
        return render("faq/edit.html", request, context, status=409)
    await store.announce_change(request.app[BUS], [entry_id], "delete", who(request))
    raise web.HTTPSeeOther("/faq?done=deleted")


# ───────────── history ─────────────


def changes(newer: dict[str, Any], older: dict[str, Any] | None) -> list[dict[str, Any]]:
    """What differs between two snapshots, field by field, in words an advisor reads."""
    if older is None:
        return []
    result: list[dict[str, Any]] = []
    for field in ("question", "answer"):
        if newer.get(field) != older.get(field):
            result.append({"field": FIELD_LABELS[field], "old": older.get(field, ""), "new": newer.get(field, "")})
    for field in ("aliases", "tags"):
        before, after = list(older.get(field) or []), list(newer.get(field) or [])
        added = [item for item in after if item not in before]
        removed = [item for item in before if item not in after]
        if added or removed:
            result.append({"field": FIELD_LABELS[field], "added": added, "removed": removed})
    for field in ("needs_human", "deleted"):
        if bool(newer.get(field)) != bool(older.get(field)):
            result.append({"field": FIELD_LABELS[field], "old": "是" if older.get(field) else "否",
                           "new": "是" if newer.get(field) else "否"})
    return result


@routes.get("/faq/{entry_id}/history")
@roles("advisor")
async def history_page(request: web.Request) -> web.Response:
    db = request.app[DATABASE]
    entry_id = request.match_info["entry_id"]
    try:
        versions = await store.history(db, entry_id)
        stored = await store.get_entry(db, entry_id, include_deleted=True)
    except store.EntryNotFoundError as err:
        return missing_page(request, err)
    rows = []
    for position, version in enumerate(versions):
        older = versions[position + 1].snapshot if position + 1 < len(versions) else None
        rows.append({"version": version, "action": ACTION_LABELS.get(version.action, version.action),
                     "changes": changes(version.snapshot, older)})
    zone = ZoneInfo(request.app[CONFIG].section("faq", FaqSettings).timezone)
    return render("faq/history.html", request, {"stored": stored, "rows": rows, "zone": zone, "names": await display_names(db),
                                                 "pending_count": await learning.count_pending(db)})
