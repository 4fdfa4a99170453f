"""Replays: pacing with a stepped clock, the replay source into the sink, and ``livebot replay`` over HTTP."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from livebot.app import create_app
from livebot.chat import signing
from livebot.chat.models import StoredEvent
from livebot.chat.replay import Pacing, paced, read_transcript
from livebot.chat.sources.registry import build_source
from livebot.chat.transcript import write_jsonl
from livebot.cli.replay import ReplayRefused, replay, split
from livebot.config import Config, SourceSettings
from livebot.errors import ConfigError, ValidationError
from tests.chat.ingest_helpers import SECRET, event, stored
from tests.fakes.sink import RecordingSink
from tests.support import eventually


def transcript(*offsets_ms: int) -> list[dict[str, Any]]:
    return [event(id=f"t{i}", ts=1795608062000 + off) for i, off in enumerate(offsets_ms)]


class SteppedClock:
    """A monotonic clock that only moves when the replay sleeps."""

    def __init__(self) -> None:
        self.now = 100.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(round(seconds, 3))
        self.now += seconds


async def collect(events: list[dict[str, Any]], pacing: Pacing, clock: SteppedClock, limit: int = 100) -> list[list[dict]]:
    wall = datetime(2026, 11, 25, 8, 0, tzinfo=UTC)
    batches = []
    async for batch in paced(events, pacing, sleep=clock.sleep, clock=clock, now=lambda: wall):
        batches.append(batch)
        if len(batches) >= limit:
            break
    return batches


async def test_original_gaps_divided_by_speed_and_batched() -> None:
    clock = SteppedClock()
    batches = await collect(transcript(0, 50, 2000, 2040, 6000), Pacing(speed=2.0), clock)
    assert [[e["id"] for e in b] for b in batches] == [["t0", "t1"], ["t2", "t3"], ["t4"]]
    assert clock.sleeps == [1.0, 2.0]
    assert [e["ts"] for e in batches[1]] == ["2026-11-25T08:00:01+00:00", "2026-11-25T08:00:01.020000+00:00"]
    assert [e["id"] for e in batches[0]] == ["t0", "t1"]


async def test_loop_gives_fresh_ids_and_times() -> None:
    clock = SteppedClock()
    batches = await collect(transcript(0, 1000), Pacing(speed=1.0, loop=True, run="r1"), clock, limit=5)
    ids = [e["id"] for b in batches for e in b]
    assert ids == ["t0", "t1", "t0~r1.1", "t1~r1.1", "t0~r1.2"]


async def test_keep_original_times_without_retime() -> None:
    batches = await collect(transcript(0, 10), Pacing(speed=0, retime=False, fresh_ids=True, run="z"), SteppedClock())
    assert batches[0][0]["ts"] == 1795608062000
    assert batches[0][0]["id"] == "t0~z.0"


def test_read_transcript_names_bad_lines(tmp_path: Path) -> None:
    path = tmp_path / "t.jsonl"
    path.write_text('{"id": "a"}\n\n[1]\n', encoding="utf-8")
    with pytest.raises(ValidationError, match="line 3"):
        read_transcript(path)
    path.write_text('{"id": "a"}\n{oops\n', encoding="utf-8")
    with pytest.raises(ValidationError, match="line 2"):
        read_transcript(path)


async def test_replay_source_plays_a_file_into_the_sink(tmp_path: Path) -> None:
    path = tmp_path / "show.jsonl"
    write_jsonl(path, [*transcript(0, 10, 20), {"id": "bad", "platform": "myspace"}])
    sink = RecordingSink()
    source = build_source(SourceSettings(id="rp", type="replay", options={"file": str(path), "speed": 0,
                                                                          "as_source": "relay"}), 0, sink)
    await source.run()
    assert [(e.source, e.id) for e in sink.events] == [("relay", "t0"), ("relay", "t1"), ("relay", "t2")]


async def test_replay_source_waits_out_a_full_queue(tmp_path: Path) -> None:
    from livebot.chat.errors import IngestUnavailable, Overloaded

    path = tmp_path / "show.jsonl"
    write_jsonl(path, transcript(0))
    sink = RecordingSink()
    sink.raise_next = [Overloaded(0)]
    source = build_source(SourceSettings(id="rp", type="replay", options={"file": str(path), "speed": 0}), 0, sink)
    await source.run()
    assert [e.id for e in sink.events] == ["t0"]
    assert IngestUnavailable  # the other retried error, covered by the same loop


async def test_replay_source_loops_the_generated_transcript_in_the_app(aiohttp_client: Any,
                                                                       make_config: Callable[..., Config]) -> None:
    config = make_config(sources=[
        {"id": "test-hook", "type": "webhook", "secret": SECRET},
        {"id": "demo-replay", "type": "replay", "generated": True, "minutes": 0.05, "speed": 0, "loop": True,
         "as_source": "test-hook"},
    ])
    client = await aiohttp_client(create_app(config))
    async def thirty_stored() -> list[StoredEvent]:
        rows = await stored(client)
        return rows if len(rows) >= 30 else []

    rows = await eventually(thirty_stored, timeout=20)
    ids = [r.external_id for r in rows]
    assert len(ids) == len(set(ids))
    assert any("~" in i for i in ids), "later passes carry fresh ids"
    assert {r.source for r in rows} == {"test-hook"}


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({}, "sources[0].file: set either file"),
        ({"file": "x.jsonl", "generated": True}, "sources[0].file: set either file"),
        ({"file": "/nonexistent/x.jsonl"}, "sources[0].file: no such file"),
        ({"generated": True, "speed": -1}, "sources[0].speed"),
        ({"generated": True, "minutes": 0}, "sources[0].minutes"),
        ({"generated": True, "loops": True}, "sources[0].loops: unknown key"),
    ],
)
def test_replay_settings_errors_name_the_key(options: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError) as info:
        build_source(SourceSettings(id="r", type="replay", options=options), 0, RecordingSink())
    assert str(info.value).startswith(message), str(info.value)


def cli_args(path: Path, url: str, **extra: Any) -> argparse.Namespace:
    values = dict(file=str(path), url=url, source="test-hook", secret=SECRET, speed=0.0, batch=2, loop=False,
                  retime=False, fresh_ids=False)
    values.update(extra)
    return argparse.Namespace(**values)


async def test_cli_replay_drives_a_real_server(tmp_path: Path, aiohttp_client: Any, config: Config) -> None:
    path = tmp_path / "show.jsonl"
    write_jsonl(path, transcript(0, 5, 10, 15, 20))
    client = await aiohttp_client(create_app(config))
    url = str(client.make_url("")).rstrip("/")
    tally = await replay(cli_args(path, url))
    assert (tally.accepted, tally.duplicates, tally.requests) == (5, 0, 3)
    again = await replay(cli_args(path, url))
    assert (again.accepted, again.duplicates) == (0, 5)
    assert [r.external_id for r in await stored(client)] == ["t0", "t1", "t2", "t3", "t4"]


async def test_cli_replay_honours_retry_after(tmp_path: Path) -> None:
    answers = [503, 429, 202]
    seen: list[bytes] = []

    async def ingest(request: web.Request) -> web.Response:
        body = await request.read()
        signing.verify(SECRET, request.headers[signing.TIMESTAMP_HEADER], request.headers[signing.SIGNATURE_HEADER], body)
        seen.append(body)
        status = answers.pop(0)
        if status != 202:
            return web.json_response({"error": "busy"}, status=status, headers={"Retry-After": "0"})
        return web.json_response({"accepted": 1, "duplicates": 0}, status=202)

    app = web.Application()
    app.router.add_post("/api/v1/ingest/{source_id}", ingest)
    async with TestServer(app) as server:
        path = tmp_path / "one.jsonl"
        write_jsonl(path, transcript(0))
        tally = await replay(cli_args(path, str(server.make_url("")).rstrip("/")))
    assert (tally.accepted, tally.retries, tally.requests) == (1, 2, 1)
    assert len(set(seen)) == 1, "the same batch is sent again"


async def test_cli_replay_stops_on_a_refusal(tmp_path: Path, aiohttp_client: Any, config: Config) -> None:
    client = await aiohttp_client(create_app(config))
    path = tmp_path / "one.jsonl"
    write_jsonl(path, transcript(0))
    with pytest.raises(ReplayRefused, match="401"):
        await replay(cli_args(path, str(client.make_url("")).rstrip("/"), secret="wrong"))


async def test_cli_replay_checks_every_line_first(tmp_path: Path) -> None:
    path = tmp_path / "bad.jsonl"
    write_jsonl(path, [*transcript(0), event(platform="myspace")])
    with pytest.raises(ValidationError) as info:
        await replay(cli_args(path, "http://127.0.0.1:9"))
    assert info.value.field == "line 2"
    assert "platform" in info.value.problem


def test_split_keeps_bodies_under_the_limits() -> None:
    big = [event(text="奶" * 100_000) for _ in range(12)]
    bodies = split(big, 1000)
    assert all(len(b) <= 1_048_576 for b in bodies)
    assert sum(len(orjson.loads(b)["events"]) for b in bodies) == 12
