"""Per-source state survives reopening the database and replaces values in place."""

from __future__ import annotations

from livebot.chat import source_state
from livebot.storage.engine import Database


async def test_get_put_roundtrip_and_replace(database_url: str) -> None:
    db = Database.open(database_url)
    try:
        assert await source_state.get(db, "kf-main", "cursor") is None
        await source_state.put(db, "kf-main", "cursor", "4gw7MepFLfgF2VC5npN")
        await source_state.put(db, "kf-main", "cursor", "next-游标-😀")
        await source_state.put(db, "other", "cursor", "x")
    finally:
        await db.close()
    db = Database.open(database_url)
    try:
        assert await source_state.get(db, "kf-main", "cursor") == "next-游标-😀"
        assert await source_state.get(db, "other", "cursor") == "x"
        assert await source_state.get(db, "kf-main", "missing") is None
    finally:
        await db.close()
