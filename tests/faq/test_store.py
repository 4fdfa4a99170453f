"""The knowledge base in the database: versions, optimistic concurrency, import, search."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlalchemy import func, select

from livebot.faq import store
from livebot.faq.editing import EntryFieldError, entry_from_input
from livebot.faq.kb import FaqEntry, load_kb, sample_kb_path
from livebot.faq.models import FaqEntryRow, FaqEntryVersion
from livebot.storage.engine import Database

ENTRY = FaqEntry(id="milk-source", question="奶源来自哪里？", aliases=("奶源是哪里的",), answer="来自齐齐哈尔自有牧场。",
                 tags=("奶源",))


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[Database]:
    database = Database.open(database_url)
    yield database
    await database.close()


async def count(db: Database, model: type) -> int:
    async with db.sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def test_create_update_delete_record_every_version(db: Database) -> None:
    created = await store.create_entry(db, ENTRY, "li")
    assert created.version == 1 and created.updated_by == "li"
    edited = await store.update_entry(db, ENTRY.with_alias("牛奶从哪来"), "zhang", expected_version=1)
    assert edited.version == 2
    deleted = await store.delete_entry(db, ENTRY.id, "wang")
    assert deleted.deleted and deleted.version == 3

    versions = await store.history(db, ENTRY.id)
    assert [(v.version, v.action, v.changed_by) for v in versions] == [
        (3, "delete", "wang"), (2, "update", "zhang"), (1, "create", "li")]
    assert versions[1].snapshot["aliases"] == ["奶源是哪里的", "牛奶从哪来"]
    assert versions[0].snapshot["deleted"] is True
    assert versions[0].changed_at >= versions[2].changed_at
    assert await store.active_entries(db) == []
    with pytest.raises(store.EntryNotFoundError):
        await store.get_entry(db, ENTRY.id)
    assert (await store.get_entry(db, ENTRY.id, include_deleted=True)).deleted


async def test_stale_edit_is_refused_and_names_who_saved(db: Database) -> None:
    await store.create_entry(db, ENTRY, "li")
    await store.update_entry(db, ENTRY.with_alias("奶源在哪"), "zhang", expected_version=1)
    with pytest.raises(store.StaleEditError) as caught:
        await store.update_entry(db, ENTRY.with_alias("别的问法"), "wang", expected_version=1)
    assert caught.value.current == 2
    assert "zhang" in str(caught.value) and "刷新" in str(caught.value)
    stored = await store.get_entry(db, ENTRY.id)
    assert stored.entry.aliases == ("奶源是哪里的", "奶源在哪")  # the stale edit changed nothing
    assert len(await store.history(db, ENTRY.id)) == 2


async def test_duplicate_create_conflicts_and_deleted_id_is_restored(db: Database) -> None:
    await store.create_entry(db, ENTRY, "li")
    with pytest.raises(store.EntryExistsError):
        await store.create_entry(db, ENTRY, "zhang")
    await store.delete_entry(db, ENTRY.id, "li")
    restored = await store.create_entry(db, ENTRY, "zhang")
    assert restored.version == 3 and not restored.deleted
    assert [v.action for v in await store.history(db, ENTRY.id)] == ["restore", "delete", "create"]


async def test_update_of_missing_or_deleted_entry_is_not_found(db: Database) -> None:
    with pytest.raises(store.EntryNotFoundError):
        await store.update_entry(db, ENTRY, "li", expected_version=1)
    await store.create_entry(db, ENTRY, "li")
    await store.delete_entry(db, ENTRY.id, "li")
    with pytest.raises(store.EntryNotFoundError):
        await store.update_entry(db, ENTRY, "li", expected_version=2)


async def test_import_creates_updates_and_skips_identical(db: Database) -> None:
    sample = load_kb(sample_kb_path())
    first = await store.import_entries(db, sample, "cli")
    assert (first.created, first.updated, first.unchanged) == (len(sample), 0, 0)
    again = await store.import_entries(db, sample, "cli")
    assert (again.created, again.updated, again.unchanged) == (0, 0, len(sample))
    changed = [FaqEntry(**{**sample[0].to_dict(), "aliases": (*sample[0].aliases, "新问法"), "tags": sample[0].tags}),
               *sample[1:]]
    third = await store.import_entries(db, changed, "li")
    assert (third.created, third.updated, third.unchanged) == (0, 1, len(sample) - 1)
    assert third.changed_ids == (sample[0].id,)
    versions = await store.history(db, sample[0].id)
    assert [(v.version, v.action, v.changed_by) for v in versions] == [(2, "import", "li"), (1, "import", "cli")]
    assert await count(db, FaqEntryVersion) == len(sample) + 1


async def test_import_is_one_transaction(db: Database) -> None:
    """A database error on the last entry leaves nothing of the file behind."""
    await store.create_entry(db, ENTRY, "li")
    # Duplicate ids slip past no database: the primary key fails on the flush of the whole file.
    bad = [FaqEntry(id="a-1", question="一", answer="答"), FaqEntry(id="a-2", question="二", answer="答"),
           FaqEntry(id="a-2", question="三", answer="答")]
    with pytest.raises(Exception):  # noqa: B017 - the driver's own error type differs per backend
        await store.import_entries(db, bad, "cli")
    assert await count(db, FaqEntryRow) == 1
    assert await count(db, FaqEntryVersion) == 1


async def test_search_covers_question_aliases_answer_tags_and_traditional(db: Database) -> None:
    await store.import_entries(db, load_kb(sample_kb_path()), "cli")
    by_alias = {s.id for s in await store.list_entries(db, "牛奶从哪来")}
    assert "milk-source-location" in by_alias
    assert {s.id for s in await store.list_entries(db, "牛奶從哪來")} == by_alias
    by_tag = await store.list_entries(db, "", tag="奶源")
    assert by_tag and all("奶源" in s.entry.tags for s in by_tag)
    assert await store.list_entries(db, "'; DROP TABLE faq_entries; --") == []
    assert await store.list_entries(db, "%_%_") == []  # no LIKE wildcards: matched literally
    assert await count(db, FaqEntryRow) == 80


async def test_fingerprint_changes_on_every_edit(db: Database) -> None:
    empty = await store.fingerprint(db)
    await store.create_entry(db, ENTRY, "li")
    created = await store.fingerprint(db)
    await store.update_entry(db, ENTRY.with_alias("奶源哪来的"), "li", 1)
    edited = await store.fingerprint(db)
    assert len({empty, created, edited}) == 3


@pytest.mark.parametrize(
    ("data", "field", "words"),
    [
        ({"question": "奶源？", "answer": "答"}, "id", "必填"),
        ({"id": "有 空格", "question": "奶源？", "answer": "答"}, "id", "字母"),
        ({"id": "new", "question": "奶源？", "answer": "答"}, "id", "保留字"),
        ({"id": "a", "answer": "答"}, "question", "必填"),
        ({"id": "a", "question": "问" * 201, "answer": "答"}, "question", "200"),
        ({"id": "a", "question": "奶源\u202e？", "answer": "答"}, "question", "控制字符"),
        ({"id": "a", "question": "奶源\x07？", "answer": "答"}, "question", "控制字符"),
        ({"id": "a", "question": "奶源？", "answer": "  "}, "answer", "必填"),
        ({"id": "a", "question": "奶源？", "answer": "答" * 4001}, "answer", "4000"),
        ({"id": "a", "question": "奶源？", "answer": "{farm.name}"}, "answer", "占位符"),
        ({"id": "a", "question": "奶源？", "answer": "答", "aliases": "奶源"}, "aliases", "列表"),
        ({"id": "a", "question": "奶源？", "answer": "答", "aliases": ["ok", 3]}, "aliases", "第 2 个"),
        ({"id": "a", "question": "奶源？", "answer": "答", "tags": [f"t{i}" for i in range(21)]}, "tags", "最多 20"),
        ({"id": "a", "question": "奶源？", "answer": "答", "needs_human": "yes"}, "needs_human", "true"),
    ],
)
def test_entry_input_errors_name_the_field_in_chinese(data: dict, field: str, words: str) -> None:
    with pytest.raises(EntryFieldError) as caught:
        entry_from_input(data)
    assert caught.value.field == field
    assert words in caught.value.problem


def test_entry_input_keeps_hostile_text_as_text() -> None:
    entry = entry_from_input({
        "id": "a.b:c_d-1", "question": "<script>alert(1)</script>奶源？", "answer": "第一行\n{batch.lot} 😀🍼",
        "aliases": ["  奶源  ", "奶源", "", "<b>x</b>"], "tags": ["奶源", "奶源"], "needs_human": True,
    })
    assert entry.question == "<script>alert(1)</script>奶源？"
    assert entry.aliases == ("奶源", "<b>x</b>")
    assert entry.tags == ("奶源",)
    assert entry.answer == "第一行\n{batch.lot} 😀🍼"
