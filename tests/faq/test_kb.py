"""Knowledge-base parsing, validation errors that name entry and field, and import/export."""

from __future__ import annotations

from pathlib import Path

import pytest

from livebot.errors import LivebotError
from livebot.faq.errors import KnowledgeBaseError, UnknownEntryError
from livebot.faq.kb import (
    FaqEntry,
    dump_csv,
    dump_json,
    dump_toml,
    load_kb,
    parse_csv,
    parse_json,
    parse_toml,
    replace_entry,
    sample_kb_path,
)

GOOD = """
[[faq]]
id = "price"
question = "多少钱一罐？"
aliases = ["价格多少"]
answer = "368元"
tags = ["价格"]

[[faq]]
id = "batch-farm"
question = "这批奶来自哪个牧场？"
answer = "本批次来自{batch.farm}。"
needs_human = true
"""


def test_sample_kb_loads_into_frozen_entries(sample_entries: list[FaqEntry]) -> None:
    assert len(sample_entries) == 80
    entry = sample_entries[0]
    assert entry.id == "milk-source-location"
    assert entry.aliases and isinstance(entry.aliases, tuple)
    with pytest.raises(AttributeError):
        entry.id = "x"  # type: ignore[misc]


def test_defaults_for_optional_fields() -> None:
    entries = parse_toml(GOOD)
    assert entries[1].aliases == () and entries[1].tags == ()
    assert entries[1].needs_human is True and entries[0].needs_human is False


def test_invalid_toml_is_a_knowledge_base_error() -> None:
    with pytest.raises(KnowledgeBaseError, match="invalid TOML") as caught:
        parse_toml('[[faq]]\nid = "x\n')
    assert isinstance(caught.value, LivebotError)


@pytest.mark.parametrize(
    ("text", "index", "entry_id", "field"),
    [
        (GOOD + '\n[[faq]]\nid = "no-answer"\nquestion = "问？"\n', 2, "no-answer", "answer"),
        (GOOD + '\n[[faq]]\nid = "bad-aliases"\nquestion = "问？"\nanswer = "答"\naliases = "一个"\n', 2, "bad-aliases", "aliases"),
        (GOOD + '\n[[faq]]\nid = "bad-alias"\nquestion = "问？"\nanswer = "答"\naliases = ["好", 3]\n', 2, "bad-alias", "aliases[1]"),
        (GOOD + '\n[[faq]]\nid = "flag"\nquestion = "问？"\nanswer = "答"\nneeds_human = "yes"\n', 2, "flag", "needs_human"),
        (GOOD + '\n[[faq]]\nid = "price"\nquestion = "问？"\nanswer = "答"\n', 2, "price", "id"),
        (GOOD + '\n[[faq]]\nid = "extra"\nquestion = "问？"\nanswer = "答"\nanwser = "typo"\n', 2, "extra", "anwser"),
        (GOOD + '\n[[faq]]\nid = "empty"\nquestion = "  "\nanswer = "答"\n', 2, "empty", "question"),
        ('[[faq]]\nquestion = "问？"\nanswer = "答"\n', 0, None, "id"),
        ('[[faq]]\nid = 7\nquestion = "问？"\nanswer = "答"\n', 0, None, "id"),
    ],
)
def test_errors_name_the_entry_and_field(text: str, index: int, entry_id: str | None, field: str) -> None:
    with pytest.raises(KnowledgeBaseError) as caught:
        parse_toml(text)
    error = caught.value
    assert (error.index, error.entry_id, error.field) == (index, entry_id, field)
    assert f"faq[{index}].{field}" in str(error)
    if entry_id:
        assert entry_id in str(error)


def test_duplicate_id_names_the_first_use() -> None:
    with pytest.raises(KnowledgeBaseError, match=r"duplicate id, already used by faq\[0\]"):
        parse_toml(GOOD + '\n[[faq]]\nid = "price"\nquestion = "问？"\nanswer = "答"\n')


def test_a_bad_file_imports_nothing(tmp_path: Path) -> None:
    path = tmp_path / "kb.toml"
    path.write_text(GOOD + '\n[[faq]]\nid = "broken"\nquestion = "问？"\n', encoding="utf-8")
    result: list[FaqEntry] | None = None
    with pytest.raises(KnowledgeBaseError):
        result = load_kb(path)
    assert result is None


def test_file_without_entries_is_rejected() -> None:
    with pytest.raises(KnowledgeBaseError, match=r"no \[\[faq\]\] entries"):
        parse_toml('title = "x"\n')


@pytest.mark.parametrize(("dump", "parse"), [(dump_toml, parse_toml), (dump_json, parse_json), (dump_csv, parse_csv)])
def test_round_trip(sample_entries: list[FaqEntry], dump, parse) -> None:  # type: ignore[no-untyped-def]
    assert parse(dump(sample_entries)) == sample_entries


def test_awkward_strings_round_trip() -> None:
    entry = FaqEntry(
        id="odd",
        question='带"引号"和\\反斜杠？',
        aliases=("a|b", "换行\n之后", "[像数组]"),
        answer="多行\n答案\t制表",
        tags=("标签",),
    )
    for dump, parse in ((dump_toml, parse_toml), (dump_json, parse_json), (dump_csv, parse_csv)):
        assert parse(dump([entry])) == [entry]


def test_csv_accepts_pipe_lists_and_yes_no() -> None:
    text = "id,question,aliases,answer,tags,needs_human\nprice,多少钱？,价格多少|几块钱,368元,价格,是\n"
    [entry] = parse_csv(text)
    assert entry.aliases == ("价格多少", "几块钱") and entry.needs_human is True


def test_csv_errors_name_row_and_column() -> None:
    with pytest.raises(KnowledgeBaseError, match="missing CSV column") as caught:
        parse_csv("id,question\nx,y\n")
    assert caught.value.field == "answer"
    with pytest.raises(KnowledgeBaseError) as caught:
        parse_csv("id,question,answer,needs_human\nx,问,答,maybe\n")
    assert (caught.value.index, caught.value.field) == (0, "needs_human")


def test_json_accepts_list_or_object() -> None:
    entries = parse_json('[{"id": "a", "question": "问", "answer": "答"}]')
    assert parse_json(dump_json(entries)) == entries
    with pytest.raises(KnowledgeBaseError, match="invalid JSON"):
        parse_json("{")


def test_load_kb_by_suffix(tmp_path: Path, sample_entries: list[FaqEntry]) -> None:
    for suffix, dump in ((".json", dump_json), (".csv", dump_csv), (".toml", dump_toml)):
        path = tmp_path / f"kb{suffix}"
        path.write_text(dump(sample_entries), encoding="utf-8")
        assert load_kb(path) == sample_entries
    with pytest.raises(KnowledgeBaseError, match="unsupported"):
        load_kb(tmp_path / "kb.xlsx")
    with pytest.raises(KnowledgeBaseError, match="cannot read"):
        load_kb(tmp_path / "missing.toml")
    assert sample_kb_path().is_file()


def test_with_alias_and_replace_entry(sample_entries: list[FaqEntry]) -> None:
    entry = sample_entries[0]
    updated = entry.with_alias("  奶是哪儿的  ")
    assert updated.aliases[-1] == "奶是哪儿的" and entry.with_alias(entry.question) is entry
    replaced = replace_entry(sample_entries, updated)
    assert replaced[0] == updated and replaced[1:] == sample_entries[1:]
    with pytest.raises(UnknownEntryError):
        replace_entry(sample_entries, FaqEntry(id="nope", question="q", answer="a"))
    with pytest.raises(KnowledgeBaseError):
        entry.with_alias("   ")
