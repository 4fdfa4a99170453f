"""Knowledge-base queries: entries with optimistic versions, their history, import and export.

Every change bumps the entry's ``version`` and writes a full snapshot to
``faq_entry_versions`` in the same transaction, so the history is complete by construction.
An edit names the version it started from; when someone else saved in between, the update
matches no row and :class:`StaleEditError` (409) says so instead of silently overwriting.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from livebot.errors import ConflictError, NotFoundError
from livebot.faq.kb import FaqEntry
from livebot.faq.models import FaqEntryRow, FaqEntryVersion
from livebot.storage.base import rowcount, utcnow
from livebot.storage.engine import Database
from livebot.text.normalize import to_simplified
from livebot.topics import FAQ_CHANGED, FaqChanged

if TYPE_CHECKING:
    from livebot.bus.base import Bus

logger = logging.getLogger(__name__)

SEARCH_LIMIT = 100


class EntryNotFoundError(NotFoundError):
    """No (live) entry has this id."""

    def __init__(self, entry_id: str) -> None:
        super().__init__(f"知识库中没有编号为 {entry_id} 的条目")
        self.entry_id = entry_id


class EntryExistsError(ConflictError):
    """An entry with this id already exists."""

    def __init__(self, entry_id: str) -> None:
        super().__init__(f"编号 {entry_id} 已被其他条目使用，请换一个编号")
        self.entry_id = entry_id


class StaleEditError(ConflictError):
    """Someone saved the entry after the editor loaded it."""

    def __init__(self, entry_id: str, expected: int, current: int, by: str) -> None:
        super().__init__(
            f"条目 {entry_id} 已被 {by or '其他人'} 修改（当前第 {current} 版，你编辑的是第 {expected} 版），"
            "请刷新后在最新内容上重新修改"
        )
        self.entry_id = entry_id
        self.expected = expected
        self.current = current


@dataclass(frozen=True, slots=True)
class StoredEntry:
    """An entry as the database holds it: content plus version bookkeeping."""

    entry: FaqEntry
    version: int
    created_at: datetime
    updated_at: datetime
    updated_by: str
    deleted: bool

    @property
    def id(self) -> str:
        return self.entry.id

    def to_json(self) -> dict[str, Any]:
        """The API shape: the KB file fields plus version, updated_at, updated_by, deleted."""
        return {
            **self.entry.to_dict(),
            "version": self.version,
            "updated_at": self.updated_at.isoformat(),
            "updated_by": self.updated_by,
            "deleted": self.deleted,
        }


@dataclass(frozen=True, slots=True)
class EntryVersion:
    """One line of an entry's history."""

    entry_id: str
    version: int
    action: str
    snapshot: dict[str, Any]
    changed_by: str
    changed_at: datetime
    note: str

    def to_json(self) -> dict[str, Any]:
        return {
            "entry_id": self.entry_id,
            "version": self.version,
            "action": self.action,
            "snapshot": self.snapshot,
            "changed_by": self.changed_by,
            "changed_at": self.changed_at.isoformat(),
            "note": self.note,
        }


@dataclass(frozen=True, slots=True)
class ImportResult:
    """What an import changed; ``changed_ids`` lists created and updated entries."""

    created: int
    updated: int
    unchanged: int
    changed_ids: tuple[str, ...]


def entry_of(row: FaqEntryRow) -> FaqEntry:
    return FaqEntry(
        id=row.id,
        question=row.question,
        aliases=tuple(row.aliases or ()),
        answer=row.answer,
        tags=tuple(row.tags or ()),
        needs_human=bool(row.needs_human),
    )


def stored_of(row: FaqEntryRow) -> StoredEntry:
    return StoredEntry(
        entry=entry_of(row),
        version=row.version,
        created_at=row.created_at,
        updated_at=row.updated_at,
        updated_by=row.updated_by,
        deleted=bool(row.deleted),
    )


def snapshot(entry: FaqEntry, deleted: bool = False) -> dict[str, Any]:
    return {**entry.to_dict(), "deleted": deleted}


def content_of(entry: FaqEntry) -> dict[str, Any]:
    """The columns an entry's content maps to."""
    return {
        "question": entry.question,
        "aliases": list(entry.aliases),
        "answer": entry.answer,
        "tags": list(entry.tags),
        "needs_human": entry.needs_human,
    }


def version_row(entry: FaqEntry, version: int, action: str, by: str, at: datetime, *, deleted: bool = False,
                note: str = "") -> FaqEntryVersion:
    return FaqEntryVersion(
        entry_id=entry.id, version=version, action=action, snapshot=snapshot(entry, deleted), changed_by=by,
        changed_at=at, note=note[:255],
    )


# ───────────── reading ─────────────


async def active_entries(db: Database) -> list[FaqEntry]:
    """Every live entry, ordered by id: what the Enricher is built from."""
    async with db.sessions() as session:
        rows = await session.scalars(select(FaqEntryRow).where(FaqEntryRow.deleted.is_(False)).order_by(FaqEntryRow.id))
        return [entry_of(row) for row in rows]


async def fingerprint(db: Database) -> tuple[int, int]:
    """(rows, sum of versions): changes whenever any entry is created, edited or deleted."""
    async with db.sessions() as session:
        row = (await session.execute(select(func.count(), func.coalesce(func.sum(FaqEntryRow.version), 0)))).one()
        return int(row[0]), int(row[1])


def matches(stored: StoredEntry, needle: str) -> bool:
    """True when ``needle`` (already lower-cased) occurs in any text field of the entry."""
    entry = stored.entry
    haystack = "\n".join((entry.id, entry.question, *entry.aliases, entry.answer, *entry.tags)).lower()
    return needle in haystack


async def list_entries(db: Database, query: str = "", *, tag: str = "", include_deleted: bool = False) -> list[StoredEntry]:
    """Entries whose id, question, aliases, answer or tags contain ``query`` (case-insensitive).

    Filtering happens in Python: a knowledge base is hundreds of entries, and the same code
    then searches JSON lists identically on SQLite and PostgreSQL.
    """
    stmt = select(FaqEntryRow).order_by(FaqEntryRow.id)
    if not include_deleted:
        stmt = stmt.where(FaqEntryRow.deleted.is_(False))
    async with db.sessions() as session:
        entries = [stored_of(row) for row in await session.scalars(stmt)]
    needle = query.strip()[:SEARCH_LIMIT].lower()
    if needle:
        variants = {needle, to_simplified(needle)}
        entries = [stored for stored in entries if any(matches(stored, v) for v in variants)]
    if tag:
        entries = [stored for stored in entries if tag in stored.entry.tags]
    return entries


def storable_id(entry_id: str) -> str:
    """``entry_id`` if a stored entry could have it; NUL (which PostgreSQL cannot even compare) is not found."""
    if "\x00" in entry_id:
        raise EntryNotFoundError(entry_id.replace("\x00", ""))
    return entry_id


async def get_entry(db: Database, entry_id: str, *, include_deleted: bool = False) -> StoredEntry:
    """The entry with ``entry_id``, or :class:`EntryNotFoundError`."""
    storable_id(entry_id)
    async with db.sessions() as session:
        row = await session.get(FaqEntryRow, entry_id)
    if row is None or (row.deleted and not include_deleted):
        raise EntryNotFoundError(entry_id)
    return stored_of(row)


async def history(db: Database, entry_id: str) -> list[EntryVersion]:
    """Every version of an entry, newest first (deleted entries keep their history)."""
    storable_id(entry_id)
    async with db.sessions() as session:
        if await session.get(FaqEntryRow, entry_id) is None:
            raise EntryNotFoundError(entry_id)
        rows = await session.scalars(
            select(FaqEntryVersion).where(FaqEntryVersion.entry_id == entry_id).order_by(FaqEntryVersion.version.desc())
        )
        return [
            EntryVersion(r.entry_id, r.version, r.action, dict(r.snapshot), r.changed_by, r.changed_at, r.note)
            for r in rows
        ]


async def all_tags(db: Database) -> list[str]:
    """Every tag in use, most used first (for the list page's filter)."""
    counts: dict[str, int] = {}
    async with db.sessions() as session:
        for tags in await session.scalars(select(FaqEntryRow.tags).where(FaqEntryRow.deleted.is_(False))):
            for tag in tags or ():
                counts[tag] = counts.get(tag, 0) + 1
    return sorted(counts, key=lambda tag: (-counts[tag], tag))


# ───────────── changing ─────────────


async def create_entry(db: Database, entry: FaqEntry, by: str) -> StoredEntry:
    """Add a new entry (or bring back a deleted one with the same id, as a new version)."""
    now = utcnow()
    async with db.sessions() as session, session.begin():
        row = await session.get(FaqEntryRow, entry.id, with_for_update=True)
        if row is not None and not row.deleted:
            raise EntryExistsError(entry.id)
        if row is None:
            row = FaqEntryRow(id=entry.id, version=1, created_at=now, updated_at=now, updated_by=by, deleted=False,
                              **content_of(entry))
            session.add(row)
            await session.flush()
            session.add(version_row(entry, 1, "create", by, now))
        else:
            row.version += 1
            row.deleted = False
            row.updated_at, row.updated_by = now, by
            for key, value in content_of(entry).items():
                setattr(row, key, value)
            session.add(version_row(entry, row.version, "restore", by, now))
        stored = stored_of(row)
    logger.info("faq entry=%s created by=%s version=%d", entry.id, by, stored.version)
    return stored


async def update_entry(db: Database, entry: FaqEntry, by: str, expected_version: int, *, action: str = "update",
                       note: str = "") -> StoredEntry:
    """Save ``entry`` over the version the editor loaded; a newer saved version wins with a 409."""
    now = utcnow()
    async with db.sessions() as session, session.begin():
        await _bump(session, entry.id, expected_version, by, now, content_of(entry))
        session.add(version_row(entry, expected_version + 1, action, by, now, note=note))
        row = await session.get(FaqEntryRow, entry.id, populate_existing=True)
        assert row is not None
        stored = stored_of(row)
    logger.info("faq entry=%s %s by=%s version=%d", entry.id, action, by, stored.version)
    return stored


async def delete_entry(db: Database, entry_id: str, by: str, expected_version: int | None = None) -> StoredEntry:
    """Soft-delete: the entry leaves suggestions and lists but keeps its history."""
    storable_id(entry_id)
    now = utcnow()
    async with db.sessions() as session, session.begin():
        row = await session.get(FaqEntryRow, entry_id)
        if row is None or row.deleted:
            raise EntryNotFoundError(entry_id)
        version = row.version if expected_version is None else expected_version
        entry = entry_of(row)
        await _bump(session, entry_id, version, by, now, {"deleted": True})
        session.add(version_row(entry, version + 1, "delete", by, now, deleted=True))
        row = await session.get(FaqEntryRow, entry_id, populate_existing=True)
        assert row is not None
        stored = stored_of(row)
    logger.info("faq entry=%s deleted by=%s", entry_id, by)
    return stored


async def _bump(session: AsyncSession, entry_id: str, expected: int, by: str, now: datetime,
                values: dict[str, Any]) -> None:
    """Compare-and-set on the version column; explain why when no row matched."""
    result = await session.execute(
        update(FaqEntryRow)
        .where(FaqEntryRow.id == entry_id, FaqEntryRow.version == expected, FaqEntryRow.deleted.is_(False))
        .values(version=FaqEntryRow.version + 1, updated_at=now, updated_by=by, **values)
        .execution_options(synchronize_session=False)
    )
    if rowcount(result) == 1:
        return
    row = await session.get(FaqEntryRow, entry_id, populate_existing=True)
    if row is None or row.deleted:
        raise EntryNotFoundError(entry_id)
    raise StaleEditError(entry_id, expected, row.version, row.updated_by)


async def add_alias(session: AsyncSession, entry_id: str, alias: str, by: str, note: str = "") -> StoredEntry:
    """Append ``alias`` to a live entry inside the caller's transaction (one new version)."""
    row = await session.get(FaqEntryRow, entry_id, with_for_update=True, populate_existing=True)
    if row is None or row.deleted:
        raise EntryNotFoundError(entry_id)
    entry = entry_of(row).with_alias(alias)
    if entry.aliases != tuple(row.aliases or ()):
        now = utcnow()
        await _bump(session, entry_id, row.version, by, now, {"aliases": list(entry.aliases)})
        session.add(version_row(entry, row.version + 1, "alias", by, now, note=note))
        row = await session.get(FaqEntryRow, entry_id, populate_existing=True)
        assert row is not None
    return stored_of(row)


async def import_entries(db: Database, entries: Sequence[FaqEntry], by: str) -> ImportResult:
    """Create or update every entry in one transaction; identical entries are left alone.

    The caller validates the whole file first (``livebot.faq.kb`` parsers), so this either
    stores all of it or, on a database error, nothing.
    """
    now = utcnow()
    created = updated = unchanged = 0
    changed: list[str] = []
    async with db.sessions() as session, session.begin():
        ids = [entry.id for entry in entries]
        existing: dict[str, FaqEntryRow] = {}
        for start in range(0, len(ids), 500):
            rows = await session.scalars(select(FaqEntryRow).where(FaqEntryRow.id.in_(ids[start : start + 500])))
            existing.update({row.id: row for row in rows})
        versions: list[FaqEntryVersion] = []
        for entry in entries:
            row = existing.get(entry.id)
            if row is None:
                session.add(FaqEntryRow(id=entry.id, version=1, created_at=now, updated_at=now, updated_by=by,
                                        deleted=False, **content_of(entry)))
                created += 1
                version = 1
            elif row.deleted or entry_of(row) != entry:
                row.version += 1
                row.deleted = False
                row.updated_at, row.updated_by = now, by
                for key, value in content_of(entry).items():
                    setattr(row, key, value)
                updated += 1
                version = row.version
            else:
                unchanged += 1
                continue
            changed.append(entry.id)
            versions.append(version_row(entry, version, "import", by, now))
        await session.flush()  # entries first: versions reference them
        session.add_all(versions)
    logger.info("faq import by=%s created=%d updated=%d unchanged=%d", by, created, updated, unchanged)
    return ImportResult(created, updated, unchanged, tuple(changed))


async def announce_change(bus: Bus, ids: Sequence[str], action: str, by: str) -> None:
    """Tell every instance (this one included) to rebuild its index: ``faq.changed``."""
    await bus.publish(FAQ_CHANGED, FaqChanged(ids=list(ids)[:1000], action=action, by=by))
