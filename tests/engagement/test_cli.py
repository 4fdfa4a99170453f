"""``livebot report`` and ``livebot engagement rebuild`` against a real database."""

from __future__ import annotations

import asyncio
import csv
import io
import json
from pathlib import Path

import pytest
from openpyxl import load_workbook

from livebot.cli import main
from livebot.engagement import store
from livebot.storage.engine import Database
from tests.engagement.support import make_show, store_transcript


def write_config(tmp_path: Path, database_url: str) -> Path:
    path = tmp_path / "livebot.toml"
    path.write_text(f'[database]\nurl = "{database_url}"\n[engagement]\nanonymize_users = true\n', encoding="utf-8")
    return path


def seed(database_url: str) -> int:
    async def run() -> int:
        db = Database.open(database_url)
        try:
            show = await make_show(db)
            await store_transcript(db, show.session_id)
            return show.session_id
        finally:
            await db.close()

    return asyncio.run(run())


def rows_of(database_url: str, session_id: int) -> list[dict[str, object]]:
    async def run() -> list[dict[str, object]]:
        db = Database.open(database_url)
        try:
            return await store.minute_rows(db, session_id)
        finally:
            await db.close()

    return asyncio.run(run())


def test_rebuild_command(tmp_path: Path, database_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    config = write_config(tmp_path, database_url)
    session_id = seed(database_url)
    assert main(["engagement", "rebuild", "--session", str(session_id), "--config", str(config)]) == 0
    out = capsys.readouterr().out
    assert f"session {session_id}: 19 events -> 5 rows over 4 minutes" in out
    assert sum(int(r["comments"]) for r in rows_of(database_url, session_id)) == 11  # type: ignore[call-overload]
    assert main(["engagement", "rebuild", "--session", "424242", "--config", str(config)]) == 1
    assert "424242" in capsys.readouterr().err
    assert main(["engagement", "rebuild", "--session", "0", "--config", str(config)]) == 1


@pytest.mark.parametrize("fmt", ["html", "csv", "json", "xlsx"])
def test_report_command_writes_each_format(tmp_path: Path, database_url: str, fmt: str) -> None:
    config = write_config(tmp_path, database_url)
    session_id = seed(database_url)
    out = tmp_path / f"report.{fmt}"
    # no minute rows yet (events imported directly): the command rebuilds them first
    assert main(["report", str(session_id), "--format", fmt, "--out", str(out), "--config", str(config)]) == 0
    data = out.read_bytes()
    if fmt == "json":
        report = json.loads(data)
        assert report["summary"]["comments"] == 11 and report["topics"]["anonymized"] is True
        assert all("观众" in c["name"] for c in report["topics"]["top_commenters"])
    elif fmt == "csv":
        rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
        assert data.startswith(b"\xef\xbb\xbf") and rows[0][:3] == ["时间", "分钟（UTC）", "平台"] and rows[-1][0] == "合计"
    elif fmt == "xlsx":
        book = load_workbook(io.BytesIO(data))
        assert "概览" in book.sheetnames and "每分钟合计" in book.sheetnames
    else:
        text = data.decode()
        assert text.startswith("<!doctype html>") and "<svg" in text and "峰值在线" in text and "<script" not in text


def test_report_command_summary_csv_to_stdout(tmp_path: Path, database_url: str, capsysbinary: pytest.CaptureFixture[bytes]) -> None:
    config = write_config(tmp_path, database_url)
    session_id = seed(database_url)
    assert main(["report", str(session_id), "--format", "csv", "--table", "summary", "--out", "-", "--rebuild",
                 "--config", str(config)]) == 0
    text = capsysbinary.readouterr().out.decode("utf-8-sig")
    assert "互动人数,8\r\n" in text and "首次响应中位数（秒）,30.0\r\n" in text


def test_report_command_unknown_session(tmp_path: Path, database_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    config = write_config(tmp_path, database_url)
    assert main(["report", "4242", "--format", "json", "--out", str(tmp_path / "x.json"), "--config", str(config)]) == 1
    assert "4242" in capsys.readouterr().err and not (tmp_path / "x.json").exists()


def test_corrections_export_command(tmp_path: Path, database_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    from livebot.engagement import corrections
    from tests.engagement.support import ev, insert_events

    config = write_config(tmp_path, database_url)

    async def run() -> int:
        db = Database.open(database_url)
        try:
            show = await make_show(db)
            ids = await insert_events(db, show.session_id, [ev(60, user="a", text="客服不回消息\\n<b>", label="neutral", score=0.0)])
            await corrections.correct(db, show.session_id, ids[0], "negative", "cli-test")
            return show.session_id
        finally:
            await db.close()

    session_id = asyncio.run(run())
    capsys.readouterr()
    assert main(["engagement", "corrections", "--session", str(session_id), "--config", str(config)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [json.loads(line) for line in lines] == [{"text": "客服不回消息\\n<b>", "label": "negative"}]
    out = tmp_path / "fixes.jsonl"
    assert main(["engagement", "corrections", "--session", str(session_id), "--out", str(out), "--config", str(config)]) == 0
    assert out.read_text(encoding="utf-8").splitlines() == lines
    assert main(["engagement", "corrections", "--session", "424242", "--config", str(config)]) == 1
    assert main(["engagement", "corrections", "--session", "0", "--config", str(config)]) == 1
