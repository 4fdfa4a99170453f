"""Bad input on the chat ingest paths: clear errors naming the field, nothing half-stored.

Complements sources/test_webhook.py, sources/test_douyin.py, sources/test_wecom_kf.py and
test_replay.py: times that overflow when moved to UTC, JSON nested past the parser's depth
limit, lone UTF-16 surrogates, NUL characters in identifiers (PostgreSQL cannot store them),
and hostile transcripts replayed through ``livebot replay`` into a real server.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pytest
from aiohttp.test_utils import TestClient

from livebot.app import create_app
from livebot.chat.normalize import parse_ts
from livebot.chat.transcript import write_jsonl
from livebot.cli.replay import replay
from livebot.config import Config
from livebot.errors import ValidationError
from tests.chat.ingest_helpers import HOSTILE, body_of, event, post_events, post_signed, stored
from tests.chat.test_replay import cli_args

OVERFLOWING = ["9999-12-31T23:59:59-14:00", "0001-01-01T00:00:00+14:00"]


@pytest.mark.parametrize("ts", OVERFLOWING)
def test_times_that_overflow_in_utc_name_the_field(ts: str) -> None:
    with pytest.raises(ValidationError) as info:
        parse_ts(ts, "events[0].ts")
    assert info.value.field == "events[0].ts"
    assert "out of range" in info.value.problem


@pytest.mark.parametrize("ts", OVERFLOWING)
async def test_webhook_with_an_overflowing_time_is_400_and_stores_nothing(client: TestClient, ts: str) -> None:
    status, answer = await post_events(client, [event(), event(ts=ts)])
    assert status == 400, answer
    assert answer["field"] == "events[1].ts"
    assert await stored(client) == []
    assert (await post_events(client, [event()]))[0] == 202


@pytest.mark.parametrize(("body", "field"), [
    (b'{"events": ' + b"[" * 5000 + b"]" * 5000 + b"}", "body"),
    (b'{"events": [{"id": "a", "platform": "douyin", "kind": "comment", "ts": 1795608062000, "text": "\\ud800"}]}', "body"),
    ('{"events": [{"id": "a", "platform": "douyin", "kind": "comment", "ts": 1795608062000, "text": "\ud800"}]}'
     .encode("utf-8", "surrogatepass"), "body"),
    (b'{"events": [], "events": {"dup": 1}}', "events"),
])
async def test_unparsable_bodies_are_400_naming_the_field(client: TestClient, body: bytes, field: str) -> None:
    status, answer = await post_signed(client, body)
    assert status == 400, answer
    assert answer["field"] == field
    assert await stored(client) == []


@pytest.mark.parametrize("field", ["id", "channel"])
@pytest.mark.parametrize("value", ["dy-\x00-1", "\x00\x01\x02", "room\u202e7731"])
async def test_nul_and_controls_in_keys_are_400_naming_the_field(client: TestClient, field: str, value: str) -> None:
    status, answer = await post_events(client, [event(), event(**{field: value})])
    assert status == 400, answer
    assert answer["field"] == f"events[1].{field}"
    assert await stored(client) == []


@pytest.mark.parametrize("field", ["platform", "kind"])
@pytest.mark.parametrize("value", [[], {"a": 1}, ["douyin"], 1, None, True])
async def test_a_platform_or_kind_of_the_wrong_type_is_400_naming_it(client: TestClient, field: str, value: Any) -> None:
    status, answer = await post_events(client, [event(), event(**{field: value})])
    assert (status, answer["field"]) == (400, f"events[1].{field}"), answer
    assert await stored(client) == []


async def test_timestamps_repeated_in_a_body_are_each_checked_and_stored(client: TestClient) -> None:
    first, late = "2026-12-07T10:00:00+08:00", 1795608062000
    events = [event(id="t-1", ts=first), event(id="t-2", ts=first), event(id="t-3", ts=late), event(id="t-4", ts=late)]
    assert (await post_events(client, events))[0] == 202
    rows = sorted(await stored(client), key=lambda row: row.external_id)
    assert [row.ts.isoformat() for row in rows] == ["2026-12-07T02:00:00+00:00"] * 2 + ["2026-11-25T12:01:02+00:00"] * 2
    status, answer = await post_events(client, [event(id="t-5", ts=first), event(id="t-6", ts=first + "x")])
    assert (status, answer["field"]) == (400, "events[1].ts")


async def test_nul_in_a_user_id_is_400_and_in_a_name_is_cleaned(client: TestClient) -> None:
    status, answer = await post_events(client, [event(user={"id": "u\x00-1", "name": "小雨"})])
    assert (status, answer["field"]) == (400, "events[0].user.id")
    user = {"id": "u-1", "name": "小雨\x00妈妈\u202e\n<b>"}
    status, answer = await post_events(client, [event(id="dy-1", user=user)])
    assert (status, answer) == (202, {"accepted": 1, "duplicates": 0}), answer
    [row] = await stored(client)
    assert (row.user_id, row.user_name) == ("u-1", "小雨妈妈 <b>")
    assert row.raw["user"] == user
    status, answer = await post_events(client, [event(id="dy-1", user=user)])
    assert (status, answer) == (202, {"accepted": 0, "duplicates": 1})


async def test_hostile_transcript_is_replayed_verbatim(tmp_path: Path, aiohttp_client: Any, config: Config) -> None:
    path = tmp_path / "hostile.jsonl"
    lines = [event(id=f"h{i}", ts=1795608062000 + i * 10, text=text, user={"id": f"u{i}", "name": text[:20]})
             for i, text in enumerate(HOSTILE)]
    write_jsonl(path, lines)
    client = await aiohttp_client(create_app(config))
    url = str(client.make_url("")).rstrip("/")
    tally = await replay(cli_args(path, url))
    assert (tally.accepted, tally.duplicates) == (len(HOSTILE), 0)
    again = await replay(cli_args(path, url))
    assert (again.accepted, again.duplicates) == (0, len(HOSTILE))
    assert [r.text for r in await stored(client)] == list(HOSTILE)


async def test_transcript_with_an_overflowing_time_is_refused_before_sending(tmp_path: Path) -> None:
    path = tmp_path / "bad.jsonl"
    write_jsonl(path, [event(ts=1795608062000), event(ts=OVERFLOWING[0])])
    with pytest.raises(ValidationError) as info:
        await replay(cli_args(path, "http://127.0.0.1:9"))
    assert "ts" in info.value.field or "line 2" in info.value.field


async def test_binary_transcript_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "binary.jsonl"
    path.write_bytes(orjson.dumps(event()) + b"\n\x00\xff\xfe garbage\n")
    with pytest.raises(ValidationError) as info:
        await replay(cli_args(path, "http://127.0.0.1:9"))
    assert info.value.field == "line 2"


async def test_server_still_answers_after_a_burst_of_bad_requests(client: TestClient) -> None:
    for body in (b"", b"null", b"{}", b'{"events": null}', body_of([1, "x", None]), b"\xff" * 1000):
        status, _ = await post_signed(client, body)
        assert status == 400
    assert await post_events(client, [event()]) == (202, {"accepted": 1, "duplicates": 0})
