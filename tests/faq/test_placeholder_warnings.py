"""An answer naming a placeholder that is not in the table saves, with a Chinese warning (API and page)."""

from __future__ import annotations

import html
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient

from livebot.cli import main
from livebot.faq.placeholders import MAX_WARNINGS, PLACEHOLDER_KEYS, placeholder_warnings, unknown_placeholders
from tests.support import bearer, login

ENTRY = {"id": "milk-source", "question": "奶源来自哪里？", "aliases": [], "answer": "来自{batch.farm}。", "tags": [],
         "needs_human": False}


def test_every_name_in_the_table_is_known() -> None:
    """Read from the table itself, so names other areas add there are accepted without a copied list."""
    answer = "".join(f"{{{scope}.{key}}}" for scope, keys in PLACEHOLDER_KEYS.items() for key in keys)
    assert unknown_placeholders(answer) == ()
    assert placeholder_warnings(answer) == []


def test_unknown_names_are_found_once_each_with_a_close_suggestion() -> None:
    answer = "{batch.nonexistent}{batch.fram}{batch.nonexistent}{session.titel}{farm.x}{batch.}"
    assert unknown_placeholders(answer) == ("batch.nonexistent", "batch.fram", "session.titel")
    warnings = placeholder_warnings(answer)
    assert [w["placeholder"] for w in warnings] == ["batch.nonexistent", "batch.fram", "session.titel"]
    assert "未知的占位符 {batch.nonexistent}" in warnings[0]["message"] and "【待补充：batch.nonexistent】" in warnings[0]["message"]
    assert "是否想写 {batch.farm}" in warnings[1]["message"]
    assert "是否想写 {session.title}" in warnings[2]["message"]


def test_many_unknown_names_are_summed_up() -> None:
    answer = "".join(f"{{batch.zz{i}}}" for i in range(MAX_WARNINGS + 25))
    warnings = placeholder_warnings(answer)
    assert len(warnings) == MAX_WARNINGS + 1
    assert warnings[-1]["message"] == "另有 25 个未知的占位符，请对照右侧列表修改"


async def test_api_saves_and_returns_the_warning(client: TestClient) -> None:
    advisor = await bearer(client, "advisor")
    created = await client.post("/api/v1/faq/entries", json={**ENTRY, "answer": "来自{batch.nonexistent}牧场 😀"}, headers=advisor)
    assert created.status == 201
    body = await created.json()
    assert [w["placeholder"] for w in body["warnings"]] == ["batch.nonexistent"]
    assert body["warnings"][0]["field"] == "answer" and "未知的占位符" in body["warnings"][0]["message"]

    fixed = await client.put("/api/v1/faq/entries/milk-source", json={**ENTRY, "version": body["version"]}, headers=advisor)
    assert fixed.status == 200 and (await fixed.json())["warnings"] == []
    again = await client.put("/api/v1/faq/entries/milk-source",
                             json={**ENTRY, "answer": "{batch.lot}{session.nope}", "version": body["version"] + 1}, headers=advisor)
    assert again.status == 200 and [w["placeholder"] for w in (await again.json())["warnings"]] == ["session.nope"]


async def test_unknown_scope_is_still_refused(client: TestClient) -> None:
    advisor = await bearer(client, "advisor")
    refused = await client.post("/api/v1/faq/entries", json={**ENTRY, "answer": "{farm.name}"}, headers=advisor)
    assert refused.status == 400 and "不支持的占位符" in (await refused.json())["error"]


async def test_page_shows_the_warning_after_saving_and_escapes_the_answer(client: TestClient) -> None:
    csrf = await login(client, "advisor")
    hostile = "<script>alert(1)</script>{batch.fram}"
    saved = await client.post("/faq/new", data={"csrf_token": csrf, "id": "milk-source", "question": "奶源来自哪里？",
                                                "answer": hostile}, allow_redirects=False)
    assert saved.status == 303  # a warning, not a refusal: the gap marker keeps a wrong value off air
    page = await (await client.get(saved.headers["Location"])).text()
    assert 'class="faq-warning"' in page and "已保存，请修改" in page
    assert html.escape("是否想写 {batch.farm}", quote=False) in page and 'data-placeholder="batch.fram"' in page
    assert "<script>alert(1)</script>" not in page

    fixed = await client.post("/faq/milk-source", data={"csrf_token": csrf, "question": "奶源来自哪里？", "answer": "来自{batch.farm}",
                                                        "version": "1"}, allow_redirects=False)
    assert fixed.status == 303
    assert 'class="faq-warning"' not in await (await client.get(fixed.headers["Location"])).text()


def test_import_stores_the_answer_and_prints_the_warning(tmp_path: Path, database_url: str,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "livebot.toml"
    config.write_text(f'[database]\nurl = "{database_url}"\n', encoding="utf-8")
    kb = tmp_path / "kb.toml"
    kb.write_text('[[faq]]\nid = "a"\nquestion = "奶源来自哪里？"\nanswer = "来自{batch.fram}，批号{batch.lot}。"\n', encoding="utf-8")
    assert main(["faq", "import", str(kb), "--config", str(config)]) == 0
    out = capsys.readouterr().out
    assert "1 created" in out
    assert "placeholder warning: a: 未知的占位符 {batch.fram}" in out and "是否想写 {batch.farm}" in out
    assert "{batch.lot}" not in out
