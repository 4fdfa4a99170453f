"""The platforms' own figures: imported from their CSV/xlsx exports, shown beside livebot's counts, with the quarter's total."""

from __future__ import annotations

import asyncio
import io
from pathlib import Path
from typing import Any

import pytest
from openpyxl import Workbook

from livebot.appkeys import DATABASE
from livebot.cli import main
from livebot.engagement import store
from livebot.engagement.platform_totals import number, read_table, totals_of
from livebot.engagement.rebuild import rebuild
from livebot.errors import ValidationError
from livebot.storage.engine import Database
from tests.engagement.support import make_show, store_transcript
from tests.engagement.test_cli import write_config
from tests.support import bearer

DOUYIN_CSV = "日期,观看人次,最高在线人数,点赞数,分享次数,新增粉丝,评论数\n2026-12-07,\"12,345\",1.2万,3w,88,120,-\n,,,,,,\n"


def xlsx(rows: list[list[Any]]) -> bytes:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


@pytest.mark.parametrize(("cell", "value"), [("12,345", 12345), ("1.2万", 12000), ("3w", 30000), ("2亿", 200_000_000),
                                             ("-", None), ("", None), (" 7 ", 7)])
def test_numbers_as_platforms_write_them(cell: str, value: int | None) -> None:
    assert number(cell, "x") == value


@pytest.mark.parametrize("cell", ["=HYPERLINK(\"http://evil.example\")", "<script>", "-5", "1e9999", "12%", "😀", "9" * 20])
def test_bad_cells_name_row_and_column(cell: str) -> None:
    rows = read_table(f"观看人次,点赞数\n10,1\n{cell},2\n".encode())
    with pytest.raises(ValidationError) as err:
        totals_of(rows, "douyin", {})
    assert err.value.field == "第 3 行「观看人次」列"


def test_csv_rows_add_up_and_peaks_take_the_maximum() -> None:
    rows = read_table("时段,观看人次,最高在线\n20:00,100,50\n21:00,250,80\n".encode("gb18030"))
    found = totals_of(rows, "kuaishou", {})
    assert found.values == {"views": 350, "peak_viewers": 80} and found.rows == 2


def test_configured_column_names_win_and_unknown_headers_are_refused() -> None:
    rows = read_table("累计场观,热度\n5000,9\n".encode())
    with pytest.raises(ValidationError, match="找不到任何已知的列"):
        totals_of(rows, "channels", {})
    assert totals_of(rows, "channels", {"channels": {"views": "累计场观"}}).values == {"views": 5000}


@pytest.mark.parametrize(("raw", "problem"), [
    (b"", "文件是空的"), ("观看人次\n".encode(), "没有数据行"), (b"PK\x03\x04not a zip", "不是有效的 xlsx"),
    (b"\xa0\xa1" * 10 + b"\xff", "无法识别的文本编码"), ("观看人次\n1\x00\n".encode(), "空字符"), (b"a" * (5 * 1024 * 1024 + 1), "超过 5 MB"),
])
def test_broken_files_get_a_clear_error(raw: bytes, problem: str) -> None:
    with pytest.raises(ValidationError, match=problem):
        totals_of(read_table(raw), "douyin", {})


async def test_upload_shows_beside_own_counts_with_the_quarter_total(client: Any) -> None:
    db = client.app[DATABASE]
    first, second = await make_show(db), await make_show(db)
    await store_transcript(db, first.session_id)
    await rebuild(db, first.session_id)
    headers = await bearer(client, "marketing")
    url = f"/api/v1/engagement/sessions/{first.session_id}/platform-totals?platform=douyin&filename=douyin.csv"
    resp = await client.post(url, data=DOUYIN_CSV.encode(), headers=headers)
    assert resp.status == 200, await resp.text()
    assert (await resp.json())["figures"] == {"views": 12345, "peak_viewers": 12000, "likes": 30000, "shares": 88, "follows": 120}
    book = xlsx([["观看人次", "最高在线", "点赞数"], [1000, 300, 50]])
    resp = await client.post(f"/api/v1/engagement/sessions/{second.session_id}/platform-totals?platform=kuaishou",
                             data=book, headers=headers)
    assert resp.status == 200, await resp.text()

    report = await (await client.get(f"/api/v1/engagement/sessions/{first.session_id}/report?fresh=true", headers=headers)).json()
    [douyin] = report["platform_totals"]["platforms"]
    assert douyin["views"] == 12345 and douyin["name"] == "抖音" and douyin["own_comments"] is not None
    assert report["platform_totals"]["season"] == {"label": "2026 年第 4 季度", "sessions": 2, "views": 13345,
                                                   "likes": 30050, "shares": 88, "follows": 120}
    assert report["summary"]["platform_views"] == 12345
    page = await (await client.get(f"/reports/sessions/{first.session_id}?fresh=1", headers=headers)).text()
    assert "平台官方数据" in page and "2026 年第 4 季度累计（2 场）" in page and "12,345" in page


async def test_a_bad_row_stores_nothing_and_keeps_the_previous_import(client: Any) -> None:
    db = client.app[DATABASE]
    show = await make_show(db)
    headers = await bearer(client, "marketing")
    url = f"/api/v1/engagement/sessions/{show.session_id}/platform-totals?platform=douyin"
    assert (await client.post(url, data=DOUYIN_CSV.encode(), headers=headers)).status == 200
    resp = await client.post(url, data="观看人次,点赞数\n10,1\n20,abc\n".encode(), headers=headers)
    assert resp.status == 400 and "第 3 行「点赞数」列" in (await resp.json())["error"]
    [kept] = await store.platform_totals(db, [show.session_id])
    assert kept.figures["views"] == 12345
    again = await client.post(url, data="观看人次\n7\n".encode(), headers=headers)  # a re-import replaces, never adds
    assert again.status == 200
    [replaced] = await store.platform_totals(db, [show.session_id])
    assert replaced.figures == {"views": 7}
    assert (await client.post(url.replace("douyin", "myspace"), data=b"x", headers=headers)).status == 400
    assert (await client.post(url.replace(str(show.session_id), "999999"), data="观看人次\n1\n".encode(), headers=headers)).status == 404
    advisor = await bearer(client, "advisor")
    assert (await client.post(url, data="观看人次\n1\n".encode(), headers=advisor)).status == 403


def test_cli_imports_a_file(tmp_path: Path, database_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    async def seed() -> int:
        db = Database.open(database_url)
        try:
            return (await make_show(db)).session_id
        finally:
            await db.close()

    session_id = asyncio.run(seed())
    config = write_config(tmp_path, database_url)
    export = tmp_path / "抖音导出.xlsx"
    export.write_bytes(xlsx([["观看人次", "新增关注"], ["2.5万", 30]]))
    assert main(["engagement", "import-platform", str(export), "--session", str(session_id), "--platform", "douyin",
                 "--config", str(config)]) == 0
    assert "观看人次 25000" in capsys.readouterr().out
    bad = tmp_path / "bad.csv"
    bad.write_text("观看人次\n一万\n", encoding="utf-8")
    assert main(["engagement", "import-platform", str(bad), "--session", str(session_id), "--platform", "douyin",
                 "--config", str(config)]) != 0
    assert "第 2 行「观看人次」列" in capsys.readouterr().err
