"""``livebot faq import`` / ``export``: whole-file validation, one transaction, lossless round trips."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

import pytest

from livebot.cli import main
from livebot.faq import store
from livebot.faq.kb import FaqEntry, dump_toml, load_kb, parse_csv, parse_json, parse_toml, sample_kb_path
from livebot.storage.engine import Database

TRICKY = FaqEntry(
    id="tricky:entry_1.v2",
    question="配方里有“DHA”吗？（含 \"引号\"、逗号, 竖线|和换行）",
    aliases=("有没有DHA|ARA", "[不是列表]", "😀🍼 4 字节表情", "<script>alert(1)</script>"),
    answer="第一行，含逗号, 和\"引号\"\n第二行：{batch.lot} 批次\t制表符 \\ 反斜杠",
    tags=("配方", "营养,成分"),
    needs_human=True,
)


def entries_in(url: str) -> list[FaqEntry]:
    async def read() -> list[FaqEntry]:
        db = Database.open(url)
        try:
            return await store.active_entries(db)
        finally:
            await db.close()

    return asyncio.run(read())


def history_in(url: str, entry_id: str) -> list[store.EntryVersion]:
    async def read() -> list[store.EntryVersion]:
        db = Database.open(url)
        try:
            return await store.history(db, entry_id)
        finally:
            await db.close()

    return asyncio.run(read())


def config_for(tmp_path: Path, url: str, name: str = "livebot.toml") -> Path:
    path = tmp_path / name
    path.write_text(f'[database]\nurl = "{url}"\n', encoding="utf-8")
    return path


def sample_plus_tricky() -> list[FaqEntry]:
    return [*load_kb(sample_kb_path()), TRICKY]


def write(tmp_path: Path, name: str, text: str | bytes) -> Path:
    path = tmp_path / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


GOOD = '[[faq]]\nid = "a"\nquestion = "奶源来自哪里？"\nanswer = "自有牧场。"\n\n'


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('[[faq]]\nid = "a"\nquestion = "奶源？\nanswer = "x"\n', "invalid TOML"),
        (GOOD + '[[faq]]\nid = "b"\nquestion = "奶牛？"\n', "faq[1].answer (id 'b'): missing required field"),
        (GOOD + '[[faq]]\nid = "a"\nquestion = "重复？"\nanswer = "x"\n', "faq[1].id (id 'a'): duplicate id"),
        (GOOD + '[[faq]]\nid = "c"\nquestion = "奶牛？"\nanswer = "x"\nneeds_human = "yes"\n',
         "faq[1].needs_human (id 'c'): expected true or false"),
        (GOOD + '[[faq]]\nid = "d"\nquestion = 3\nanswer = "x"\n', "faq[1].question (id 'd'): expected a string"),
        (GOOD + '[[faq]]\nid = "e"\nquestion = "奶牛？"\nanswer = "x"\naliases = ["ok", 5]\n',
         "faq[1].aliases[1] (id 'e'): expected a string"),
        (GOOD + '[[faq]]\nid = "f"\nquestion = "' + "问" * 201 + '"\nanswer = "x"\n', "faq[1].question (id 'f'): 不能超过 200"),
        (GOOD + '[[faq]]\nid = "g"\nquestion = "奶牛？"\nanswer = "{farm.x}"\n', "faq[1].answer (id 'g'): 不支持的占位符"),
        (GOOD + '[[faq]]\nid = "h"\nquestion = "奶牛？"\nanswer = "x"\ncolour = "red"\n', "faq[1].colour (id 'h'): unknown field"),
        ('title = "no entries"\n', "no [[faq]] entries"),
    ],
)
def test_bad_file_names_entry_and_field_and_imports_nothing(
    tmp_path: Path, database_url: str, capsys: pytest.CaptureFixture[str], text: str, message: str
) -> None:
    config = config_for(tmp_path, database_url)
    assert main(["faq", "import", str(write(tmp_path, "kb.toml", text)), "--config", str(config)]) == 1
    err = capsys.readouterr().err
    assert message in err, err
    assert err.startswith("livebot: error:")
    assert entries_in(database_url) == []


def test_bad_file_leaves_an_existing_kb_untouched(tmp_path: Path, database_url: str,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    config = config_for(tmp_path, database_url)
    first = write(tmp_path, "kb.toml", dump_toml(load_kb(sample_kb_path())))
    assert main(["faq", "import", str(first), "--config", str(config)]) == 0
    before = entries_in(database_url)
    changed = [FaqEntry(id=e.id, question=e.question + "（改）", answer=e.answer) for e in before[:5]]
    broken = dump_toml(changed) + '\n[[faq]]\nid = "broken"\nquestion = "坏条目"\n'
    assert main(["faq", "import", str(write(tmp_path, "broken.toml", broken)), "--config", str(config)]) == 1
    assert "faq[5].answer (id 'broken')" in capsys.readouterr().err
    assert entries_in(database_url) == before
    assert len(history_in(database_url, before[0].id)) == 1


@pytest.mark.parametrize("fmt", ["toml", "csv", "json"])
def test_round_trip_keeps_every_character(tmp_path: Path, database_url: str, capsys: pytest.CaptureFixture[str],
                                          fmt: str) -> None:
    config = config_for(tmp_path, database_url)
    source = write(tmp_path, "source.toml", dump_toml(sample_plus_tricky()))
    assert main(["faq", "import", str(source), "--config", str(config), "--by", "导入员"]) == 0
    assert "81 created" in capsys.readouterr().out

    exported = tmp_path / f"kb.{fmt}"
    assert main(["faq", "export", "--config", str(config), "--format", fmt, "--out", str(exported)]) == 0
    raw = exported.read_bytes()
    if fmt == "csv":
        assert raw.startswith(b"\xef\xbb\xbf")  # BOM: Excel opens Chinese correctly
    text = raw.decode("utf-8")
    assert "奶源来自哪里？" in text and "😀🍼" in text
    parsed = {"toml": parse_toml, "csv": parse_csv, "json": parse_json}[fmt](text.lstrip("\ufeff"))
    assert sorted(parsed, key=lambda e: e.id) == sorted(sample_plus_tricky(), key=lambda e: e.id)

    second_url = f"sqlite:///{tmp_path / 'second.db'}"
    second = config_for(tmp_path, second_url, "second.toml")
    assert main(["faq", "import", str(exported), "--config", str(second)]) == 0
    assert entries_in(second_url) == entries_in(database_url)
    again = tmp_path / f"again.{fmt}"
    assert main(["faq", "export", "--config", str(second), "--out", str(again)]) == 0
    assert again.read_bytes() == raw
    assert history_in(database_url, TRICKY.id)[0].changed_by == "导入员"


def test_reimport_counts_unchanged_and_records_versions_of_changes(
    tmp_path: Path, database_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    config = config_for(tmp_path, database_url)
    path = write(tmp_path, "kb.toml", dump_toml(load_kb(sample_kb_path())))
    assert main(["faq", "import", str(path), "--config", str(config)]) == 0
    assert main(["faq", "import", str(path), "--config", str(config)]) == 0
    assert "0 created, 0 updated, 80 unchanged" in capsys.readouterr().out
    entries = load_kb(sample_kb_path())
    entries[3] = FaqEntry(**{**entries[3].to_dict(), "aliases": (*entries[3].aliases, "新增问法"), "tags": entries[3].tags})
    assert main(["faq", "import", str(write(tmp_path, "v2.toml", dump_toml(entries))), "--config", str(config),
                 "--by", "li"]) == 0
    assert "0 created, 1 updated, 79 unchanged" in capsys.readouterr().out
    versions = history_in(database_url, entries[3].id)
    assert [(v.version, v.changed_by) for v in versions] == [(2, "li"), (1, "cli")]


def test_csv_from_a_spreadsheet_with_bom_and_crlf(tmp_path: Path, database_url: str) -> None:
    config = config_for(tmp_path, database_url)
    csv_text = ("\ufeffid,question,aliases,answer,tags,needs_human\r\n"
                "milk,奶源来自哪里？,奶源是哪里的|牛奶从哪来,\"来自自有牧场，\r\n欢迎来看\",奶源,否\r\n")
    path = write(tmp_path, "kb.csv", csv_text.encode("utf-8"))
    assert main(["faq", "import", str(path), "--config", str(config)]) == 0
    (entry,) = entries_in(database_url)
    assert entry.aliases == ("奶源是哪里的", "牛奶从哪来") and entry.needs_human is False
    assert "欢迎来看" in entry.answer


def test_unreadable_files_are_explained(tmp_path: Path, database_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    config = config_for(tmp_path, database_url)
    gbk = write(tmp_path, "kb.toml", GOOD.encode("gbk"))
    assert main(["faq", "import", str(gbk), "--config", str(config)]) == 1
    assert "not UTF-8" in capsys.readouterr().err
    assert main(["faq", "import", str(tmp_path / "missing.toml"), "--config", str(config)]) == 1
    assert "cannot read" in capsys.readouterr().err
    assert main(["faq", "import", str(write(tmp_path, "kb.xlsx", "x")), "--config", str(config)]) == 1
    assert "format" in capsys.readouterr().err
    bad_json = write(tmp_path, "kb.json", '{"faq": [{"id": "a", "question": "q", "answer": "a"},]}')
    assert main(["faq", "import", str(bad_json), "--config", str(config)]) == 1
    assert "invalid JSON" in capsys.readouterr().err
    assert entries_in(database_url) == []


def test_export_to_stdout_defaults_to_toml(tmp_path: Path, database_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    config = config_for(tmp_path, database_url)
    assert main(["faq", "import", str(write(tmp_path, "kb.toml", GOOD)), "--config", str(config)]) == 0
    capsys.readouterr()
    assert main(["faq", "export", "--config", str(config)]) == 0
    assert parse_toml(capsys.readouterr().out) == [FaqEntry(id="a", question="奶源来自哪里？", answer="自有牧场。")]


def test_livebot_faq_import_is_a_real_command(tmp_path: Path, database_url: str) -> None:
    config = config_for(tmp_path, database_url)
    path = write(tmp_path, "kb.toml", GOOD)
    result = subprocess.run([sys.executable, "-m", "livebot", "faq", "import", str(path), "--config", str(config)],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "1 created" in result.stdout
    bad = write(tmp_path, "bad.toml", GOOD + '[[faq]]\nid = "b"\n')
    result = subprocess.run([sys.executable, "-m", "livebot", "faq", "import", str(bad), "--config", str(config)],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 1
    assert "faq[1].question (id 'b'): missing required field" in result.stderr
