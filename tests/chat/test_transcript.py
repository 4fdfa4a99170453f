"""The generated demo transcript: valid events, realistic mix, deterministic, and the demo wiring."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

from livebot.chat import transcript, wire
from livebot.chat.replay import read_transcript
from livebot.demo.app import demo_config
from livebot.demo.seed import DEMO_CHANNELS


def test_every_event_is_valid_webhook_input() -> None:
    events = transcript.generate(minutes=5)
    parsed = [wire.parse_event(item, f"events[{i}]", "demo-relay") for i, item in enumerate(events)]
    assert len({e.id for e in parsed}) == len(parsed)
    assert [e.ts for e in parsed] == sorted(e.ts for e in parsed)
    assert 2.5 <= len(parsed) / 300 <= 6, "a gentle few events per second"


def test_mix_of_platforms_kinds_topics_and_repeats() -> None:
    events = transcript.generate(minutes=10)
    kinds = Counter(e["kind"] for e in events)
    assert {"comment", "like", "gift", "viewers", "enter"} <= set(kinds)
    assert {e["platform"] for e in events} == {"douyin", "kuaishou", "channels", "bilibili", "taobao", "wecom"}
    texts = Counter(e["text"] for e in events if e["kind"] == "comment")
    for topic in ("奶源", "工艺", "质检", "冲泡", "段", "价"):
        assert any(topic in text for text in texts), topic
    assert texts["666"] >= 5 and any("[玫瑰]" in t for t in texts) and texts["主播好美"] >= 1
    assert texts.most_common(1)[0][1] >= 10, "floods and repeated questions"
    assert any("\n" in t for t in texts), "multi-line group messages"


def test_channels_match_the_demo_session() -> None:
    demo = {(ch, pf) for _, ch, pf, _ in DEMO_CHANNELS}
    assert {(e["channel"], e["platform"]) for e in transcript.generate(minutes=3)} <= demo


def test_deterministic_for_a_seed(tmp_path: Path) -> None:
    assert transcript.generate(seed=5, minutes=1) == transcript.generate(seed=5, minutes=1)
    assert transcript.generate(seed=5, minutes=1) != transcript.generate(seed=6, minutes=1)
    path = tmp_path / "t.jsonl"
    transcript.write_jsonl(path, transcript.generate(minutes=1))
    assert read_transcript(path) == transcript.generate(minutes=1)


def test_demo_config_adds_the_looping_replay_into_the_relay_channels(tmp_path: Path) -> None:
    config = demo_config(None, None, None, str(tmp_path))
    replay = next(s for s in config.sources if s.type == "replay")
    assert replay.options["generated"] is True and replay.options["loop"] is True
    assert replay.options["as_source"] == "demo-relay"
    assert any(s.id == "demo-relay" and s.type == "webhook" for s in config.sources)


async def test_demo_seeder_backfills_history_routed_to_the_live_session(tmp_path: Path, aiohttp_client: Any) -> None:
    from aiohttp import web

    from livebot.app import create_app
    from livebot.chat.keys import SOURCES
    from livebot.demo import chat, seed
    from tests.chat.ingest_helpers import stored

    config = demo_config(None, None, None, str(tmp_path))
    app: web.Application = create_app(config)
    app[SOURCES].pop("demo-replay")
    client = await aiohttp_client(app)
    await seed.seed_core(app)
    lines = await chat.seed(app)
    rows = await stored(client)
    assert len(rows) > 500
    assert all(r.session_id is not None for r in rows)
    assert any("livebot replay" in line for line in lines)
    assert (tmp_path / "demo-chat.jsonl").exists()
