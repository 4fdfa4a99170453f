"""``livebot export events``: the stored events, faithfully, as JSON lines or CSV with a BOM."""

from __future__ import annotations

import asyncio
import csv
import io
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest
from aiohttp.test_utils import TestClient, TestServer

from livebot.app import create_app
from livebot.appkeys import DATABASE
from livebot.cli import main
from livebot.cli.export import write_events
from livebot.config import Config
from livebot.schedule.models import Channel, LiveSession
from tests.chat.ingest_helpers import HOSTILE, event, post_events

CONTROL = "奶源\u202e是哪里\x00的？\r\n第二行"


def config_file(tmp_path: Path, database_url: str) -> Path:
    path = tmp_path / "livebot.toml"
    path.write_text(f'[database]\nurl = "{database_url}"\n[auth]\nsession_secret = "x"\n', encoding="utf-8")
    return path


async def seed(config: Config) -> tuple[list[dict[str, Any]], int]:
    """Hostile text through the real webhook, plus one event routed to a session; returns what was sent."""
    app = create_app(config)
    async with TestClient(TestServer(app)) as client:
        now = datetime.now(UTC)
        async with app[DATABASE].sessions() as session:
            live = LiveSession(title="t", planned_start=now - timedelta(hours=1), planned_end=now + timedelta(hours=1),
                               status="live")
            session.add(live)
            await session.flush()
            session.add(Channel(session_id=live.id, source_id="test-hook", channel="routed"))
            await session.commit()
            session_id = live.id
        sent = [event(text=t, user={"id": f"u{i}", "name": t[:20]}) for i, t in enumerate(HOSTILE)]
        sent += [event(text="长" * 10_000), event(text=CONTROL), event(text="=1+1", user={"id": "-u", "name": "@x"}),
                 event(kind="like", text="", count=5), event(channel="routed", ts=now.isoformat())]
        status, answer = await post_events(client, sent)
        assert (status, answer["accepted"]) == (202, len(sent))
    return sent, session_id


@pytest.fixture
def seeded(config: Config) -> tuple[list[dict[str, Any]], int]:
    return asyncio.run(seed(config))


def test_jsonl_export_is_faithful(tmp_path: Path, database_url: str, seeded: tuple[list[dict[str, Any]], int]) -> None:
    sent, session_id = seeded
    out = tmp_path / "events.jsonl"
    assert main(["export", "events", "--config", str(config_file(tmp_path, database_url)), "--format", "jsonl", "--real-names",
                 "--output", str(out)]) == 0
    lines = [orjson.loads(line) for line in out.read_bytes().splitlines()]
    assert [item["id"] for item in lines] == [e["id"] for e in sent]
    texts = [item["text"] for item in lines]
    assert texts[: len(HOSTILE)] == list(HOSTILE)
    assert texts[len(HOSTILE)] == "长" * 2000
    assert texts[len(HOSTILE) + 1] == "奶源是哪里的？\n第二行"
    first = lines[0]
    assert set(first) >= {"id", "source", "platform", "channel", "kind", "ts", "user", "text", "flags", "hidden",
                          "merged_count", "session_id"}
    assert first["source"] == "test-hook" and first["ts"] == "2026-11-24T12:01:02+00:00"
    assert first["user"] == {"id": "u0", "name": HOSTILE[0][:20]}
    assert lines[-2]["count"] == 5
    assert lines[-1]["session_id"] == session_id


def test_filters_by_source_and_session(tmp_path: Path, database_url: str, seeded: tuple[list[dict[str, Any]], int]) -> None:
    sent, session_id = seeded
    config = str(config_file(tmp_path, database_url))
    out = tmp_path / "s.jsonl"
    main(["export", "events", "--config", config, "--session", str(session_id), "--output", str(out)])
    assert [orjson.loads(x)["id"] for x in out.read_bytes().splitlines()] == [sent[-1]["id"]]
    main(["export", "events", "--config", config, "--source", "nobody", "--output", str(out)])
    assert out.read_bytes() == b""


def test_csv_export_has_bom_and_round_trips(tmp_path: Path, database_url: str,
                                            seeded: tuple[list[dict[str, Any]], int]) -> None:
    sent, _ = seeded
    out = tmp_path / "events.csv"
    main(["export", "events", "--config", str(config_file(tmp_path, database_url)), "--format", "csv", "--real-names",
          "--output", str(out)])
    raw = out.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"), newline="")))
    assert [r["id"] for r in rows] == [e["id"] for e in sent]
    assert [r["text"] for r in rows[: len(HOSTILE)]] == list(HOSTILE)
    assert rows[len(HOSTILE) + 1]["text"] == "奶源是哪里的？\n第二行"
    formula = rows[len(HOSTILE) + 2]
    assert (formula["text"], formula["user_id"], formula["user_name"]) == ("'=1+1", "'-u", "'@x")
    assert rows[0]["hidden"] == "false" and rows[0]["flags"] == ""


async def test_export_streams_without_loading_everything(database_url: str, make_config: Callable[..., Config]) -> None:
    from livebot.chat import store

    app = create_app(make_config())
    async with TestClient(TestServer(app)) as client:
        for start in range(0, 3000, 1000):
            await post_events(client, [event(id=f"s{i}", text=f"第{i}条") for i in range(start, start + 1000)])
    fetched: list[int] = []
    original = store.FETCH_ROWS
    store.FETCH_ROWS = 500
    try:
        out = io.BytesIO()

        class Counting(io.BytesIO):
            def write(self, data: Any) -> int:
                fetched.append(len(data))
                return out.write(data)

        count = await write_events(database_url, Counting(), "jsonl", None, None, False)
    finally:
        store.FETCH_ROWS = original
    assert count == 3000
    assert len(fetched) == 3000, "rows are written one by one as they stream"
    assert out.getvalue().count(b"\n") == 3000
