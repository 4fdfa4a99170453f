"""Small things a browser walk-through found (issue 19, item 11): separated report links, a 403 page to find
one's way back from, and people shown by their display names on the knowledge-base pages."""

from __future__ import annotations

import re
from typing import Any

from livebot.appkeys import DATABASE
from livebot.auth import store as auth_store
from livebot.faq import learning, store
from livebot.faq.kb import FaqEntry
from tests.engagement.support import make_show
from tests.support import PASSWORD, csrf_from


async def login_as(client: Any, username: str, role: str, display: str) -> str:
    await auth_store.add_user(client.app[DATABASE], username, PASSWORD, role, display)
    csrf = csrf_from(await (await client.get("/login")).text())
    resp = await client.post("/login", data={"username": username, "password": PASSWORD, "csrf_token": csrf, "next": "/"},
                             allow_redirects=False)
    assert resp.status == 302
    return csrf_from(await (await client.get("/login")).text())


def visible_text(html: str) -> str:
    return re.sub(r"<[^>]+>", "", html)


async def test_report_links_are_separated(client: Any) -> None:
    db = client.app[DATABASE]
    await make_show(db, status="live", title="直播中的场次")
    await make_show(db, status="ended", title="已结束的场次")
    await login_as(client, "chen", "marketing", "陈市场")
    text = visible_text(await (await client.get("/reports")).text())
    assert "实时作战室 · 实时报告" in text and "实时作战室实时报告" not in text
    assert "查看报告 · 下载 Excel" in text


async def test_forbidden_page_has_navigation_and_logout(client: Any) -> None:
    await login_as(client, "chen", "marketing", "陈市场")
    resp = await client.get("/console")
    assert resp.status == 403
    html = await resp.text()
    assert '<nav>' in html and 'href="/reports"' in html  # the places this role may go
    assert 'action="/logout"' in html and "退出登录" in html and "陈市场" in html
    assert 'href="/"' in html and "错误代码 403" in html


async def test_faq_pages_name_people_by_display_name(client: Any) -> None:
    db = client.app[DATABASE]
    await auth_store.add_user(db, "wang01", PASSWORD, "advisor", "王营养师")
    await store.create_entry(db, FaqEntry(id="milk-source", question="奶源来自哪里？", aliases=(), answer="来自牧场。", tags=(),
                                          needs_human=False), "wang01")
    proposal = await learning.propose_alias(db, "milk-source", "奶是哪来的呀", "wang01")
    assert proposal is not None
    await login_as(client, "li01", "advisor", "李营养师")
    for path in ("/faq", "/faq/milk-source", "/faq/milk-source/history"):
        text = visible_text(await (await client.get(path)).text())
        assert "王营养师" in text, path
        assert "wang01" not in text, path
    text = visible_text(await (await client.get("/faq/review")).text())
    assert "王营养师" in text and "wang01" not in text
    # a review that lost a race (already reviewed) still names people by display name
    await learning.reject(db, proposal.id, "wang01")
    csrf = csrf_from(await (await client.get("/faq/review")).text())
    await learning.propose_alias(db, "milk-source", "牛奶产地在哪", "wang01")
    raced = await client.post(f"/faq/review/{proposal.id}/approve", data={"csrf_token": csrf})
    assert raced.status == 409
    text = visible_text(await raced.text())
    assert "王营养师" in text and "wang01" not in text
