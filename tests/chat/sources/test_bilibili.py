"""The bilibili connector against a real fake open platform on 127.0.0.1."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest

from livebot.chat.sources import bilibili_protocol as proto
from livebot.chat.sources.bilibili import BilibiliError, BilibiliSource, Game
from livebot.chat.sources.registry import build_source
from livebot.config import SourceSettings
from livebot.errors import ConfigError
from livebot.retry import Backoff
from tests.fakes.bilibili import FakeBilibili
from tests.fakes.sink import RecordingSink
from tests.support import FIXTURES

ZLIB, BROTLI, PLAIN = proto.Version.ZLIB, proto.Version.BROTLI, proto.Version.JSON


@pytest.fixture
async def fake() -> AsyncIterator[FakeBilibili]:
    server = await FakeBilibili().start()
    yield server
    await server.close()


@pytest.fixture
def sink() -> RecordingSink:
    return RecordingSink()


def make_source(fake: FakeBilibili, sink: RecordingSink, **overrides: Any) -> BilibiliSource:
    settings = SourceSettings(id="bili-main", type="bilibili", options=fake.source_options(**overrides))
    source = build_source(settings, 0, sink)
    assert isinstance(source, BilibiliSource)
    source.retry_delay = lambda retry: 0.01
    return source


@contextlib.asynccontextmanager
async def running(source: BilibiliSource) -> AsyncIterator[asyncio.Task[None]]:
    task = asyncio.create_task(source.run())
    try:
        yield task
    finally:
        assert not task.done(), "the connector must never stop by itself"
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await source.close()


async def test_full_run_receives_every_kind_and_ends_the_game(fake: FakeBilibili, sink: RecordingSink) -> None:
    source = make_source(fake, sink)
    async with running(source):
        conn = await fake.wait_authenticated(1)
        fake.push([fake.dm("奶源是哪里的？", msg_id="dm-a", timestamp=1764000062), fake.gift(num=2, r_price=1000)], ZLIB)
        fake.push([fake.like(count=7), fake.enter()], BROTLI)
        fake.push([fake.dm("第二段怎么冲泡", msg_id="dm-b")], PLAIN)
        events = await sink.wait_for(5)
        await fake.wait_for(lambda: fake.heartbeats and conn.heartbeats >= 2)
        game_id = source.game.game_id if source.game else ""
    assert [e.kind for e in events] == ["comment", "gift", "like", "enter", "comment"]
    dm = events[0]
    assert (dm.id, dm.platform, dm.channel, dm.text, dm.user.id, dm.user.name) == (
        "dm-a", "bilibili", "7734", "奶源是哪里的？", "open-u1", "小雨妈妈")
    assert dm.ts == datetime.fromtimestamp(1764000062, UTC)
    assert dm.source == "bili-main" and dm.raw is not None and dm.raw["msg_id"] == "dm-a"
    assert (events[1].count, events[1].value, events[1].text) == (2, 200, "小心心")
    assert events[2].count == 7
    assert fake.rejected == []
    assert fake.starts == [{"code": fake.code, "app_id": fake.app_id}]
    assert fake.heartbeats[0] == {"game_id": game_id}
    assert fake.ends == [{"app_id": fake.app_id, "game_id": game_id}]


async def test_dropped_connection_reconnects_without_loss_or_duplicates(
    fake: FakeBilibili, sink: RecordingSink, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, "livebot.chat.sources.bilibili")
    source = make_source(fake, sink)
    async with running(source):
        await fake.wait_authenticated(1)
        fake.push([fake.dm(f"断线前{i}", msg_id=f"before-{i}") for i in range(2)], ZLIB)
        fake.push([fake.dm(f"断线前{i}", msg_id=f"before-{i}") for i in range(2, 4)], BROTLI)
        fake.push_drop()
        for start in range(0, 6, 2):
            fake.push([fake.dm(f"断线后{i}", msg_id=f"after-{i}") for i in range(start, start + 2)], ZLIB)
        events = await sink.wait_for(10)
        await fake.wait_drained()
    ids = [e.id for e in sink.submitted]
    assert ids == [f"before-{i}" for i in range(4)] + [f"after-{i}" for i in range(6)]
    assert sum(c.authenticated for c in fake.connections) == 2
    assert len(fake.starts) == 1, "a dropped socket reconnects to the same game"
    assert source.reconnects == 1
    assert len(events) == 10
    assert any("room=7734" in r.message and "reconnecting" in r.message for r in caplog.records)
    assert any("room=7734" in r.message and "websocket lost" in r.message for r in caplog.records)


async def test_server_resend_after_reconnect_is_not_emitted_twice(fake: FakeBilibili, sink: RecordingSink) -> None:
    source = make_source(fake, sink)
    async with running(source):
        await fake.wait_authenticated(1)
        fake.push([fake.dm("重复的问题", msg_id="same-1")])
        fake.push_drop()
        fake.push([fake.dm("重复的问题", msg_id="same-1"), fake.dm("新问题", msg_id="new-1")], BROTLI)
        await sink.wait_for(2)
        await fake.wait_drained()
    assert [e.id for e in sink.submitted] == ["same-1", "new-1"]


async def test_refused_auth_starts_a_new_game(fake: FakeBilibili, sink: RecordingSink,
                                              caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, "livebot.chat.sources.bilibili")
    fake.auth_reply_code = -101
    source = make_source(fake, sink)
    async with running(source):
        await fake.wait_for(lambda: len(fake.connections) >= 1 and fake.connections[0].closed and len(fake.starts) >= 2)
        fake.auth_reply_code = 0
        await fake.wait_authenticated(1)
        fake.push([fake.dm("终于连上了", msg_id="after-auth")])
        await sink.wait_for(1)
    assert not fake.connections[0].authenticated
    first_game = next(iter(fake.games))
    assert {"app_id": fake.app_id, "game_id": first_game} in fake.ends
    assert any("auth refused (code -101)" in r.message for r in caplog.records)
    assert [e.id for e in sink.submitted] == ["after-auth"]


async def test_interaction_end_starts_the_game_again(fake: FakeBilibili, sink: RecordingSink) -> None:
    source = make_source(fake, sink)
    async with running(source):
        await fake.wait_authenticated(1)
        fake.push([fake.dm("结束前", msg_id="one"), fake.interaction_end()], BROTLI)
        await fake.wait_authenticated(2)
        fake.push([fake.dm("重新开始后", msg_id="two")])
        await sink.wait_for(2)
    assert [e.id for e in sink.submitted] == ["one", "two"]
    assert len(fake.starts) == 2
    assert len(fake.games) == 2


async def test_heartbeat_session_ended_code_restarts(fake: FakeBilibili, sink: RecordingSink) -> None:
    fake.heartbeat_code = 7003
    source = make_source(fake, sink)
    async with running(source):
        await fake.wait_for(lambda: len(fake.starts) >= 2)
        fake.heartbeat_code = None
        fake.push([fake.dm("心跳恢复", msg_id="hb-ok")])
        await sink.wait_for(1)
    assert sink.submitted[0].id == "hb-ok"


async def test_malformed_packets_are_logged_and_survived(
    fake: FakeBilibili, sink: RecordingSink, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, "livebot.chat.sources.bilibili")
    source = make_source(fake, sink)
    bad_dm = fake.dm("x", msg_id="bad")
    bad_dm["data"]["uname"] = ["not", "a", "name"]
    async with running(source):
        await fake.wait_authenticated(1)
        fake.push_raw(b"\x00\x00\x00\x10\x00")
        fake.push_raw(proto.HEADER.pack(999, 16, 0, 5, 0) + b"{}")
        fake.push_raw(proto.HEADER.pack(16 + 8, 16, 2, 5, 0) + b"garbage!")
        fake.push_raw(proto.HEADER.pack(16 + 8, 16, 3, 5, 0) + b"garbage!")
        fake.push_raw(proto.encode_packet(5, b"not json at all", version=0))
        fake.push_raw(proto.encode_packet(5, b"[1, 2, 3]", version=0))
        fake.push([{"cmd": "LIVE_OPEN_PLATFORM_DM"}, {"cmd": "LIVE_OPEN_PLATFORM_DM", "data": {"msg": "no id"}},
                   bad_dm, {"cmd": "SOMETHING_NEW", "data": {}}, fake.dm("我还在", msg_id="good")], ZLIB)
        await sink.wait_for(1)
        await fake.wait_drained()
    assert [e.id for e in sink.submitted] == ["good"]
    assert source.reconnects == 0
    assert sum(1 for c in fake.connections if c.authenticated) == 1
    messages = "\n".join(r.message for r in caplog.records)
    assert messages.count("skipped malformed frame") == 4
    assert "skipped malformed LIVE_OPEN_PLATFORM_DM" in messages
    assert "room=7734" in messages


async def test_silent_server_times_out_and_reconnects(fake: FakeBilibili, sink: RecordingSink) -> None:
    fake.answer_heartbeats = False
    source = make_source(fake, sink)
    assert source.receive_timeout == pytest.approx(0.05 + 5), "receive timeout is heartbeat + 5 s"
    source.receive_timeout = 0.2
    async with running(source):
        await fake.wait_authenticated(2)
        fake.answer_heartbeats = True
        fake.push([fake.dm("超时后", msg_id="after-timeout")])
        await sink.wait_for(1)
    assert source.reconnects >= 1


async def test_app_start_errors_are_retried_with_backoff(
    fake: FakeBilibili, sink: RecordingSink, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, "livebot.chat.sources.bilibili")
    fake.start_code = 7002
    source = make_source(fake, sink)
    delays: list[int] = []
    source.retry_delay = lambda retry: delays.append(retry) or 0.0  # type: ignore[func-returns-value]
    async with running(source):
        await fake.wait_for(lambda: len(fake.starts) >= 3)
        fake.start_code = 0
        await fake.wait_authenticated(1)
        fake.push([fake.dm("好了", msg_id="ok")])
        await sink.wait_for(1)
    assert delays[:3] == [1, 2, 3], "each failed start counts one more retry"
    assert source.retries == 0, "a good message resets the retry count"
    assert any("app/start failed" in r.message and "7002" in r.message for r in caplog.records)


async def test_wrong_secret_is_refused_and_retried_forever(fake: FakeBilibili, sink: RecordingSink) -> None:
    source = make_source(fake, sink, access_key_secret="not-the-secret")
    async with running(source):
        await fake.wait_for(lambda: len(fake.rejected) >= 3)
    assert {code for _path, code in fake.rejected} == {4002}
    assert fake.connections == []


async def test_sink_failure_is_logged_and_the_stream_continues(
    fake: FakeBilibili, sink: RecordingSink, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, "livebot.chat.sources.bilibili")
    sink.fail_next = 1
    source = make_source(fake, sink)
    async with running(source):
        await fake.wait_authenticated(1)
        fake.push([fake.dm("存不下", msg_id="lost")])
        fake.push([fake.dm("存得下", msg_id="kept")])
        await sink.wait_for(1)
    assert [e.id for e in sink.submitted] == ["kept"]
    assert any("lost 1 events" in r.message and r.levelno == logging.ERROR for r in caplog.records)


async def test_overloaded_ingest_is_waited_out(fake: FakeBilibili, sink: RecordingSink) -> None:
    from livebot.chat.errors import Overloaded

    sink.raise_next = [Overloaded(0.01), Overloaded(0.01)]
    source = make_source(fake, sink)
    async with running(source):
        await fake.wait_authenticated(1)
        fake.push([fake.dm("排队中", msg_id="queued")])
        await sink.wait_for(1)
    assert [e.id for e in sink.submitted] == ["queued"]
    assert sink.raise_next == []


HOSTILE = [
    "<script>alert('x')</script>奶粉",
    "'; DROP TABLE chat_events; --",
    "控制\x00字符\x07\x1b[31m",
    "\u202e反向文字\u202c",
    "宝宝👶🏻🍼💯",
    "长" * 5000,
]


async def test_hostile_text_is_passed_on_verbatim(fake: FakeBilibili, sink: RecordingSink) -> None:
    source = make_source(fake, sink)
    async with running(source):
        await fake.wait_authenticated(1)
        fake.push([fake.dm(text, msg_id=f"h{i}", uname=text[:20]) for i, text in enumerate(HOSTILE)], BROTLI)
        await sink.wait_for(len(HOSTILE))
    assert [e.text for e in sink.submitted] == HOSTILE
    assert [e.user.name for e in sink.submitted] == [t[:20] for t in HOSTILE]


def fixture_commands() -> list[dict[str, Any]]:
    return json.loads((FIXTURES / "bilibili" / "commands.json").read_text(encoding="utf-8"))


def test_recorded_commands_map_to_chat_events(sink: RecordingSink) -> None:
    source = BilibiliSource(SourceSettings("bili-main", "bilibili", {
        "app_id": 1, "code": "c", "access_key_id": "i", "access_key_secret": "s"}), 0, sink)
    game = Game.from_start(json.loads((FIXTURES / "bilibili" / "app_start.json").read_text())["data"])
    packets = [proto.Packet(proto.Op.COMMAND, json.dumps(c).encode(), version=0) for c in fixture_commands()]
    events, ended = source.events_from(packets, game)
    assert not ended
    by_id = {e.id: e for e in events}
    assert [e.kind for e in events] == ["comment", "comment", "gift", "gift", "like", "enter", "comment", "gift"]
    assert by_id["7f0d9a1c-52f1-4c0e-8a55-0b5e5f1f2a33"].text == "[dog]", "cmd suffix :2 stripped"
    assert (by_id["b0a8d1c2-0c35-4a3e-9c7e-3fe1c6c0a9d1"].count, by_id["b0a8d1c2-0c35-4a3e-9c7e-3fe1c6c0a9d1"].value) == (3, 30)
    assert (by_id["free-gift-1"].count, by_id["free-gift-1"].value) == (10, 0)
    assert by_id["like-9f2"].count == 12
    enter = by_id["enter-d3a9-1764000067"]
    assert (enter.user.name, enter.channel) == ("新手妈妈", "7734")
    assert (by_id["sc-991"].text, by_id["sc-991"].value) == ("请问1段和2段怎么转奶？", 3000)
    assert (by_id["guard-1"].user.name, by_id["guard-1"].value) == ("舰长奶爸", 19800)
    assert all(e.ts.tzinfo is not None for e in events)
    # The same packets again: the connector does not emit them twice.
    assert source.events_from(packets, game) == ([], False)


def test_app_start_answer_parses_and_malformed_is_an_error() -> None:
    game = Game.from_start(json.loads((FIXTURES / "bilibili" / "app_start.json").read_text())["data"])
    assert game.room_id == "7734" and len(game.links) == 2 and game.auth_body.startswith('{"roomid":7734')
    for broken in ({}, {"websocket_info": {"auth_body": "x", "wss_link": []}}, {"websocket_info": "nope"}):
        with pytest.raises(BilibiliError):
            Game.from_start(broken)


@pytest.mark.parametrize(
    ("options", "key"),
    [
        ({"code": "c", "access_key_id": "i", "access_key_secret": "s"}, "sources[3].app_id"),
        ({"app_id": 1, "access_key_id": "i", "access_key_secret": "s"}, "sources[3].code"),
        ({"app_id": "1", "code": "c", "access_key_id": "i", "access_key_secret": "s"}, "sources[3].app_id"),
        ({"app_id": 1, "code": "", "access_key_id": "i", "access_key_secret": "s"}, "sources[3].code"),
        ({"app_id": 1, "code": "c", "access_key_id": "i", "access_key_secret": "s", "api_base": "ftp://x"},
         "sources[3].api_base"),
        ({"app_id": 1, "code": "c", "access_key_id": "i", "access_key_secret": "s", "ws_heartbeat_seconds": 0},
         "sources[3].ws_heartbeat_seconds"),
        ({"app_id": 1, "code": "c", "access_key_id": "i", "access_key_secret": "s", "room": 1}, "sources[3].room"),
    ],
)
def test_settings_errors_name_the_key(options: dict[str, Any], key: str, sink: RecordingSink) -> None:
    with pytest.raises(ConfigError) as info:
        BilibiliSource(SourceSettings("bili", "bilibili", options), 3, sink)
    assert info.value.key == key


def test_secrets_may_come_from_the_environment(monkeypatch: pytest.MonkeyPatch, sink: RecordingSink) -> None:
    monkeypatch.setenv("BILI_SECRET", "from-env")
    source = BilibiliSource(SourceSettings("bili", "bilibili", {
        "app_id": 1, "code": "c", "access_key_id": "i", "access_key_secret_env": "BILI_SECRET"}), 0, sink)
    assert source.options.access_key_secret == "from-env"


def test_backoff_grows_with_jitter_and_is_capped() -> None:
    delay = Backoff(1.0, 30.0)
    assert delay(0) == 0.0
    for retry, ceiling in [(1, 1.0), (2, 2.0), (3, 4.0), (5, 16.0), (6, 30.0), (50, 30.0)]:
        samples = {delay(retry) for _ in range(50)}
        assert all(ceiling / 2 <= s <= ceiling for s in samples)
        assert len(samples) > 1, "jittered"


async def test_danmaku_through_the_app_is_stored(aiohttp_client: Any, make_config: Any, fake: FakeBilibili) -> None:
    from sqlalchemy import select

    from livebot.app import create_app
    from livebot.appkeys import BUS, DATABASE
    from livebot.chat.models import StoredEvent
    from livebot.topics import CHAT_STORED

    config = make_config(sources=[{"id": "bili-main", "type": "bilibili", **fake.source_options()}])
    app = create_app(config)
    await aiohttp_client(app)
    published: list[dict[str, Any]] = []
    both_stored = asyncio.Event()

    async def on_stored(message: dict[str, Any]) -> None:
        published.append(message)
        if len(published) >= 2:
            both_stored.set()

    unsubscribe = app[BUS].subscribe(CHAT_STORED, on_stored, name="test-bilibili")
    await fake.wait_authenticated(1)
    fake.push([fake.dm("请问这罐的批次号在哪里看？", msg_id="e2e-1"), fake.like(count=3, msg_id="e2e-2")], BROTLI)
    async with asyncio.timeout(10):
        await both_stored.wait()
    unsubscribe()
    async with app[DATABASE].sessions() as session:
        rows = list((await session.execute(select(StoredEvent).where(StoredEvent.source == "bili-main")
                                           .order_by(StoredEvent.external_id))).scalars())
    assert sorted(m["id"] for m in published) == ["e2e-1", "e2e-2"]
    assert [(r.external_id, r.platform, r.channel, r.kind, r.text, r.count) for r in rows] == [
        ("e2e-1", "bilibili", "7734", "comment", "请问这罐的批次号在哪里看？", None),
        ("e2e-2", "bilibili", "7734", "like", "", 3),
    ]


def test_config_example_section_is_valid(monkeypatch: pytest.MonkeyPatch, sink: RecordingSink) -> None:
    from tests.chat.config_examples import example_block

    for name in ("LIVEBOT_BILI_CODE", "LIVEBOT_BILI_ACCESS_KEY_ID", "LIVEBOT_BILI_ACCESS_KEY_SECRET"):
        monkeypatch.setenv(name, f"value-of-{name}")
    [raw] = example_block("bilibili")["sources"]
    settings = SourceSettings(raw["id"], raw["type"], {k: v for k, v in raw.items() if k not in ("id", "type")})
    source = build_source(settings, 0, sink)
    assert isinstance(source, BilibiliSource)
    assert source.options.access_key_secret == "value-of-LIVEBOT_BILI_ACCESS_KEY_SECRET"
    assert source.receive_timeout == 35.0
