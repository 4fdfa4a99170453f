"""KB editing for advisors: pages (CSRF, escaping, Chinese field errors, 409 on stale edits) and the JSON API."""

from __future__ import annotations

import io
import re
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from playwright.async_api import Browser

from livebot.appkeys import DATABASE
from livebot.config import Config
from livebot.faq import learning, store
from livebot.faq.kb import FaqEntry
from tests.browser import login_page, save_screenshot
from tests.support import bearer, login

ENTRY = {"id": "milk-source", "question": "奶源来自哪里？", "aliases": ["奶源是哪里的"], "answer": "来自{batch.farm}。",
         "tags": ["奶源"], "needs_human": False}
HOSTILE = "<script>alert('x')</script>"


async def seed(client: TestClient, **changes: object) -> None:
    data = {**ENTRY, **changes}
    await store.create_entry(client.app[DATABASE], FaqEntry(**{**data, "aliases": tuple(data["aliases"]),  # type: ignore[arg-type]
                                                               "tags": tuple(data["tags"])}), "seed")  # type: ignore[arg-type]


def form(csrf: str, **fields: str) -> dict[str, str]:
    base = {"csrf_token": csrf, "id": ENTRY["id"], "question": ENTRY["question"], "aliases": "奶源是哪里的\n牛奶从哪来",
            "answer": ENTRY["answer"], "tags": "奶源，牧场"}
    return {**base, **fields}


# ───────────── access ─────────────


@pytest.mark.parametrize("path", ["/faq", "/faq/new", "/faq/review", "/faq/milk-source", "/faq/milk-source/history"])
async def test_pages_need_an_advisor(client: TestClient, path: str) -> None:
    await seed(client)
    anonymous = await client.get(path, allow_redirects=False)
    assert anonymous.status == 302 and anonymous.headers["Location"].startswith("/login")
    await login(client, "marketing")
    assert (await client.get(path)).status == 403


async def test_advisor_and_admin_see_the_list(client: TestClient) -> None:
    await seed(client)
    await login(client, "advisor")
    page = await client.get("/faq")
    assert page.status == 200
    html = await page.text()
    assert "知识库" in html and "奶源来自哪里？" in html and 'lang="zh-CN"' in html
    await login(client, "admin")
    assert (await client.get("/faq")).status == 200


async def test_api_needs_an_advisor_token_or_session(client: TestClient) -> None:
    assert (await client.get("/api/v1/faq/entries")).status == 401
    marketing = await bearer(client, "marketing")
    assert (await client.get("/api/v1/faq/entries", headers=marketing)).status == 403
    trace = await bearer(client, "trace")
    assert (await client.post("/api/v1/faq/entries", json=ENTRY, headers=trace)).status == 403
    advisor = await bearer(client, "advisor")
    assert (await client.get("/api/v1/faq/entries", headers=advisor)).status == 200


# ───────────── pages ─────────────


async def test_creating_needs_the_csrf_token(client: TestClient) -> None:
    csrf = await login(client, "advisor")
    refused = await client.post("/faq/new", data=form("wrong-token"), allow_redirects=False)
    assert refused.status == 403
    assert await store.list_entries(client.app[DATABASE]) == []
    created = await client.post("/faq/new", data=form(csrf), allow_redirects=False)
    assert created.status == 303 and created.headers["Location"] == "/faq/milk-source?done=created"
    stored = await store.get_entry(client.app[DATABASE], "milk-source")
    assert stored.entry.aliases == ("奶源是哪里的", "牛奶从哪来") and stored.entry.tags == ("奶源", "牧场")
    assert stored.updated_by.startswith("advisor-")


async def test_field_errors_are_shown_in_chinese_next_to_the_field(client: TestClient) -> None:
    csrf = await login(client, "advisor")
    resp = await client.post("/faq/new", data=form(csrf, question="  "))
    assert resp.status == 400
    html = await resp.text()
    assert re.search(r'data-field="question">必填<', html)
    assert "请修改标红的字段" in html
    assert 'value="milk-source"' in html  # what was typed is kept

    resp = await client.post("/faq/new", data=form(csrf, answer="来自{farm.name}"))
    assert resp.status == 400
    assert 'data-field="answer">不支持的占位符 {farm.name}' in await resp.text()

    await seed(client)
    resp = await client.post("/faq/new", data=form(csrf))
    assert resp.status == 409
    assert "已被其他条目使用" in await resp.text()


async def test_hostile_input_is_escaped_everywhere(client: TestClient) -> None:
    csrf = await login(client, "advisor")
    resp = await client.post("/faq/new", data=form(csrf, id="hostile-1", question=HOSTILE + "奶源？",
                                                    aliases=HOSTILE, answer=HOSTILE, tags="<b>标签</b>"),
                             allow_redirects=False)
    assert resp.status == 303
    for path in ("/faq", "/faq/hostile-1", "/faq/hostile-1/history", "/faq?q=%3Cscript%3E"):
        html = await (await client.get(path)).text()
        assert "<script>alert" not in html, path
        assert "&lt;script&gt;" in html, path
    missing = await client.get("/faq/%3Cscript%3E")
    assert missing.status == 404
    assert "<script>" not in await missing.text()


async def test_stale_edit_gets_409_and_keeps_the_typed_text(client: TestClient) -> None:
    await seed(client)
    csrf = await login(client, "advisor")
    page = await (await client.get("/faq/milk-source")).text()
    assert 'name="version" value="1"' in page
    assert "{batch.lot}" in page and "{session.title}" in page  # placeholder help

    first = await client.post("/faq/milk-source", data={**form(csrf), "version": "1", "answer": "第一位顾问的答案"},
                              allow_redirects=False)
    assert first.status == 303
    second = await client.post("/faq/milk-source", data={**form(csrf), "version": "1", "answer": "第二位顾问的答案"})
    assert second.status == 409
    html = await second.text()
    assert "已被" in html and "刷新" in html
    assert "第二位顾问的答案" in html and "第一位顾问的答案" in html
    assert 'name="version" value="2"' in html  # saving again now goes on top of version 2
    stored = await store.get_entry(client.app[DATABASE], "milk-source")
    assert stored.entry.answer == "第一位顾问的答案" and stored.version == 2


async def test_history_page_shows_who_changed_what(client: TestClient) -> None:
    await seed(client)
    csrf = await login(client, "advisor", username="li-advisor")
    await client.post("/faq/milk-source", data={**form(csrf), "version": "1", "aliases": "奶源是哪里的\n奶源在哪儿",
                                                "answer": "新答案"}, allow_redirects=False)
    html = await (await client.get("/faq/milk-source/history")).text()
    assert "第 2 版" in html and "修改" in html and "li-advisor" in html
    assert "+ 奶源在哪儿" in html
    assert "<del>来自{batch.farm}。</del>" in html and "<ins>新答案</ins>" in html
    assert "第 1 版" in html and "seed" in html


async def test_delete_from_the_page_is_soft(client: TestClient) -> None:
    await seed(client)
    csrf = await login(client, "advisor")
    resp = await client.post("/faq/milk-source/delete", data={"csrf_token": csrf, "version": "1"}, allow_redirects=False)
    assert resp.status == 303 and resp.headers["Location"] == "/faq?done=deleted"
    assert (await client.get("/faq/milk-source")).status == 404
    history = await (await client.get("/faq/milk-source/history")).text()
    assert "已删除" in history


async def test_search_and_tag_filter(client: TestClient) -> None:
    await seed(client)
    await seed(client, id="cow-feed", question="奶牛吃什么？", aliases=[], answer="苜蓿。", tags=["饲料"])
    await login(client, "advisor")
    html = await (await client.get("/faq?q=苜蓿")).text()
    assert "奶牛吃什么？" in html and "奶源来自哪里？" not in html
    html = await (await client.get("/faq?tag=奶源")).text()
    assert "奶源来自哪里？" in html and "奶牛吃什么？" not in html


async def test_review_queue_approve_and_reject_from_the_page(client: TestClient) -> None:
    await seed(client)
    db = client.app[DATABASE]
    good = await learning.propose_alias(db, "milk-source", "你家奶哪产的", "zhang")
    bad = await learning.propose_alias(db, "milk-source", HOSTILE + "主播好看", "zhang")
    assert good is not None and bad is not None
    csrf = await login(client, "advisor")
    html = await (await client.get("/faq/review")).text()
    assert "你家奶哪产的" in html and "&lt;script&gt;" in html and "<script>alert" not in html

    assert (await client.post(f"/faq/review/{good.id}/approve", data={}, allow_redirects=False)).status == 403
    approved = await client.post(f"/faq/review/{good.id}/approve", data={"csrf_token": csrf}, allow_redirects=False)
    assert approved.status == 303
    rejected = await client.post(f"/faq/review/{bad.id}/reject", data={"csrf_token": csrf}, allow_redirects=False)
    assert rejected.status == 303
    assert "你家奶哪产的" in (await store.get_entry(db, "milk-source")).entry.aliases
    again = await client.post(f"/faq/review/{good.id}/approve", data={"csrf_token": csrf})
    assert again.status == 409 and "无需重复操作" in await again.text()
    assert (await client.post("/faq/review/999999/explode", data={"csrf_token": csrf})).status == 404


# ───────────── JSON API ─────────────


async def test_api_create_read_update_delete_history(client: TestClient) -> None:
    headers = await bearer(client, "advisor")
    created = await client.post("/api/v1/faq/entries", json=ENTRY, headers=headers)
    assert created.status == 201
    body = await created.json()
    assert body["version"] == 1 and body["question"] == "奶源来自哪里？" and body["deleted"] is False

    duplicate = await client.post("/api/v1/faq/entries", json=ENTRY, headers=headers)
    assert duplicate.status == 409

    updated = await client.put("/api/v1/faq/entries/milk-source", headers=headers,
                               json={**ENTRY, "answer": "更新后的答案", "version": 1})
    assert updated.status == 200 and (await updated.json())["version"] == 2
    stale = await client.put("/api/v1/faq/entries/milk-source", headers=headers,
                             json={**ENTRY, "answer": "过期的编辑", "version": 1})
    assert stale.status == 409
    assert "刷新" in (await stale.json())["error"]

    listed = await (await client.get("/api/v1/faq/entries?q=更新后", headers=headers)).json()
    assert [e["id"] for e in listed["entries"]] == ["milk-source"] and listed["count"] == 1

    history = await (await client.get("/api/v1/faq/entries/milk-source/history", headers=headers)).json()
    assert [(v["version"], v["action"]) for v in history["versions"]] == [(2, "update"), (1, "create")]

    assert (await client.delete("/api/v1/faq/entries/milk-source?version=1", headers=headers)).status == 409
    deleted = await client.delete("/api/v1/faq/entries/milk-source?version=2", headers=headers)
    assert deleted.status == 200 and (await deleted.json())["deleted"] is True
    assert (await client.get("/api/v1/faq/entries/milk-source", headers=headers)).status == 404
    all_entries = await (await client.get("/api/v1/faq/entries?include_deleted=1", headers=headers)).json()
    assert all_entries["entries"][0]["deleted"] is True


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({**ENTRY, "question": 3}, "question"),
        ({**ENTRY, "aliases": "one string"}, "aliases"),
        ({**ENTRY, "answer": "x" * 5000}, "answer"),
        ({**ENTRY, "id": "bad id"}, "id"),
        ({**ENTRY, "tags": ["\x00"]}, "tags"),
        ({**ENTRY, "needs_human": "false"}, "needs_human"),
    ],
)
async def test_api_field_errors_name_the_field(client: TestClient, body: dict, field: str) -> None:
    headers = await bearer(client, "advisor")
    resp = await client.post("/api/v1/faq/entries", json=body, headers=headers)
    assert resp.status == 400
    assert (await resp.json())["field"] == field


async def test_api_rejects_malformed_and_oversized_bodies(client: TestClient) -> None:
    await seed(client)
    headers = await bearer(client, "advisor")
    bad_json = await client.post("/api/v1/faq/entries", data=b"{not json", headers={**headers, "Content-Type": "application/json"})
    assert bad_json.status == 400 and (await bad_json.json())["field"] == "body"
    not_object = await client.post("/api/v1/faq/entries", json=["x"], headers=headers)
    assert not_object.status == 400
    no_version = await client.put("/api/v1/faq/entries/milk-source", json=ENTRY, headers=headers)
    assert no_version.status == 400 and (await no_version.json())["field"] == "version"
    renamed = await client.put("/api/v1/faq/entries/milk-source", json={**ENTRY, "id": "other", "version": 1},
                               headers=headers)
    assert renamed.status == 400 and (await renamed.json())["field"] == "id"
    missing = await client.put("/api/v1/faq/entries/nope", json={**ENTRY, "id": "nope", "version": 1}, headers=headers)
    assert missing.status == 404
    huge = await client.post("/api/v1/faq/entries", data=io.BytesIO(b'{"a": "' + b"x" * 2_000_000 + b'"}'),
                             headers={**headers, "Content-Type": "application/json"})
    assert huge.status == 413


async def test_api_session_writes_need_csrf(client: TestClient) -> None:
    csrf = await login(client, "advisor")
    assert (await client.post("/api/v1/faq/entries", json=ENTRY)).status == 403
    ok = await client.post("/api/v1/faq/entries", json=ENTRY, headers={"X-CSRF-Token": csrf})
    assert ok.status == 201


async def test_api_proposals_review(client: TestClient) -> None:
    await seed(client)
    db = client.app[DATABASE]
    proposal = await learning.propose_alias(db, "milk-source", "你家奶哪产的", "zhang")
    other = await learning.propose_alias(db, "milk-source", "牧场在哪个省", "zhang")
    assert proposal is not None and other is not None
    headers = await bearer(client, "advisor")
    assert (await client.get("/api/v1/faq/proposals?status=maybe", headers=headers)).status == 400
    assert (await client.post("/api/v1/faq/proposals/999/approve", headers=headers)).status == 404
    assert (await client.post("/api/v1/faq/proposals/abc/approve", headers=headers)).status == 404

    approved = await client.post(f"/api/v1/faq/proposals/{proposal.id}/approve", headers=headers)
    assert approved.status == 200
    assert "你家奶哪产的" in (await approved.json())["entry"]["aliases"]
    assert (await client.post(f"/api/v1/faq/proposals/{proposal.id}/reject", headers=headers)).status == 409
    rejected = await client.post(f"/api/v1/faq/proposals/{other.id}/reject", headers=headers)
    assert (await rejected.json())["proposal"]["status"] == "rejected"
    everything = await (await client.get("/api/v1/faq/proposals?status=all", headers=headers)).json()
    assert {p["status"] for p in everything["proposals"]} == {"approved", "rejected"}
    assert (await (await client.get("/api/v1/faq/proposals", headers=headers)).json())["count"] == 0


async def test_openapi_documents_the_faq_api(client: TestClient) -> None:
    doc = await (await client.get("/api/v1/openapi.json")).json()
    paths = doc["paths"]
    assert set(paths["/api/v1/faq/entries"]) == {"get", "post"}
    assert set(paths["/api/v1/faq/entries/{entry_id}"]) == {"get", "put", "delete"}
    assert "409" in paths["/api/v1/faq/entries/{entry_id}"]["put"]["responses"]
    assert {"/api/v1/faq/entries/{entry_id}/history", "/api/v1/faq/proposals",
            "/api/v1/faq/proposals/{proposal_id}/approve", "/api/v1/faq/proposals/{proposal_id}/reject"} <= set(paths)
    assert "FaqEntry" in doc["components"]["schemas"]


# ───────────── in a real browser ─────────────


@pytest.mark.browser
async def test_editing_in_chromium_inserts_placeholders_and_reviews(
    browser: Browser, live_server: Any, config: Config  # noqa: F811
) -> None:
    from livebot.auth import store as auth_store
    from livebot.demo.faq import demo_entries
    from tests.support import PASSWORD

    server = await live_server(config)
    db = server.app[DATABASE]
    await store.import_entries(db, demo_entries(), "demo")
    await learning.propose_alias(db, "milk-cooling", "刚挤的奶多长时间能凉下来", "zhang")
    await learning.propose_alias(db, "batch-testing", "你们的奶粉是每罐都检验吗", "zhang")
    await auth_store.add_user(db, "li", PASSWORD, "advisor", "李营养师")
    context = await browser.new_context(viewport={"width": 1280, "height": 860}, device_scale_factor=1, locale="zh-CN")
    page = await context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda err: errors.append(str(err)))
    page.on("response", lambda r: errors.append(f"{r.status} {r.url}") if r.status >= 400 and "favicon" not in r.url else None)
    await login_page(page, server.url, "li", PASSWORD, "/faq")

    await page.goto(f"{server.url}/faq")
    await page.fill("input[name=q]", "冷却")
    async with page.expect_navigation():
        await page.click(".faq-search button[type=submit]")
    assert await page.locator("tr[data-entry-id=milk-cooling]").count() == 1
    async with page.expect_navigation():
        await page.click("tr[data-entry-id=milk-cooling] td a >> nth=0")

    answer = page.locator("#faq-answer")
    await answer.fill("降温到 ")
    await answer.press("End")
    await page.click("button[data-insert='{batch.cooling_temp_c}']")
    assert await answer.input_value() == "降温到 {batch.cooling_temp_c}"
    await answer.fill("刚挤出的牛奶几分钟内降到4℃以下。本场批次实测：{batch.cooling_minutes} 分钟降到 {batch.cooling_temp_c}℃。")
    await save_screenshot(page, "faq-edit")
    async with page.expect_navigation():
        await page.click(".faq-form button[type=submit]")
    assert "已保存" in await page.locator(".faq-notice").inner_text()
    assert (await store.get_entry(db, "milk-cooling")).version == 2

    await page.goto(f"{server.url}/faq/review")
    assert await page.locator("tr[data-proposal-id]").count() == 2
    await save_screenshot(page, "faq-review")
    async with page.expect_navigation():
        await page.click("tr[data-proposal-id] >> nth=0 >> button:has-text('采纳')")
    assert "已采纳" in await page.locator(".faq-notice").inner_text()
    assert await page.locator("tr[data-proposal-id]").count() == 1
    assert errors == []
