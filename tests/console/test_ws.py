"""The console websocket: snapshot, batched ranges, frame rate, resync, origin and access checks."""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
import orjson
import pytest
from aiohttp.test_utils import TestClient

from livebot.appkeys import DATABASE
from livebot.console.hub import ConsoleClient, Prepared, batch_frame, merge_ranges
from livebot.console.intake import Intake, incoming_of
from livebot.console.state import CONSOLE, publish_change
from livebot.console.store import Change
from livebot.topics import read_chat_enriched
from tests.console.support import MILK, STAGE, ask, enriched, make_session, store_event, wait_for_asks
from tests.support import login


async def receive(ws: aiohttp.ClientWebSocketResponse, timeout: float = 5.0) -> dict[str, Any]:
    message = await ws.receive(timeout=timeout)
    assert message.type == aiohttp.WSMsgType.TEXT, message
    return orjson.loads(message.data)


async def receive_until(ws: aiohttp.ClientWebSocketResponse, predicate: Any, timeout: float = 5.0) -> list[dict[str, Any]]:
    frames: list[dict[str, Any]] = []
    async with asyncio.timeout(timeout):
        while True:
            frames.append(await receive(ws))
            if predicate(frames[-1]):
                return frames


def cards_in(frame: dict[str, Any]) -> list[dict[str, Any]]:
    return [card for r in frame.get("ranges", ()) for card in r["cards"]]


async def test_snapshot_then_ranges(client: TestClient) -> None:
    app = client.app
    session_id, _ = await make_session(app[DATABASE])
    await ask(app, session_id, "奶源是哪里的？", [MILK])
    await wait_for_asks(app, session_id, 1)
    await login(client, "advisor")
    async with client.ws_connect(f"/ws/console/{session_id}") as ws:
        snapshot = await receive(ws)
        assert snapshot["type"] == "snapshot" and snapshot["seq"] == 1
        assert [c["text"] for c in snapshot["cards"]] == ["奶源是哪里的？"]
        assert [line["text"] for line in snapshot["chat"]] == ["奶源是哪里的？"]
        row = await ask(app, session_id, "几段适合？", [STAGE], platform="kuaishou")
        frames = await receive_until(ws, lambda f: any(c["text"] == "几段适合？" for c in cards_in(f)))
        batch = frames[-1]
        [rng] = batch["ranges"]
        assert rng["from"] == rng["to"] == 2
        assert rng["asks"][0]["id"] == row.external_id
        chat = [line for f in frames for line in f["chat"]]
        assert {"text": "几段适合？", "platform": "kuaishou", "q": True}.items() <= chat[-1].items()


async def test_two_consoles_see_a_claim_at_once(client: TestClient, advisors) -> None:
    app = client.app
    session_id, _ = await make_session(app[DATABASE])
    await ask(app, session_id, "奶源是哪里的？", [MILK])
    [card] = await wait_for_asks(app, session_id, 1)
    li = await advisors("li", "李营养师")
    zhang = await advisors("zhang", "张营养师")
    async with li.http.ws_connect(client.make_url(f"/ws/console/{session_id}")) as ws_li, \
            zhang.http.ws_connect(client.make_url(f"/ws/console/{session_id}")) as ws_zhang:
        await receive(ws_li)
        await receive(ws_zhang)
        loop = asyncio.get_running_loop()
        start = loop.time()
        assert (await li.post(f"/api/v1/console/cards/{card.id}/claim"))[0] == 200
        frames = await receive_until(ws_zhang, lambda f: any(c["status"] == "claimed" for c in cards_in(f)), timeout=1)
        assert loop.time() - start < 1.0
        [seen] = cards_in(frames[-1])
        assert seen["claimed_by_name"] == "李营养师"


async def test_bursts_are_batched_into_few_frames(client: TestClient) -> None:
    app = client.app
    session_id, _ = await make_session(app[DATABASE])
    await login(client, "advisor")
    async with client.ws_connect(f"/ws/console/{session_id}") as ws:
        await receive(ws)
        loop = asyncio.get_running_loop()
        start = loop.time()
        for i in range(60):
            await ask(app, session_id, f"第{i}个问题：什么时候发货？{i}")
            await asyncio.sleep(0.005)
        await wait_for_asks(app, session_id, 60)
        seen_asks, frames, last = 0, 0, 0
        async with asyncio.timeout(5):
            while seen_asks < 60:
                frame = await receive(ws)
                frames += 1
                for rng in frame["ranges"]:
                    assert rng["from"] == last + 1, "a gap in the sequence"
                    last = rng["to"]
                    seen_asks += len(rng["asks"])
        elapsed = loop.time() - start
    assert seen_asks == 60
    assert frames <= elapsed * 10 + 2, (frames, elapsed)


async def test_resync_sends_a_fresh_snapshot(client: TestClient) -> None:
    app = client.app
    session_id, _ = await make_session(app[DATABASE])
    await login(client, "advisor")
    async with client.ws_connect(f"/ws/console/{session_id}") as ws:
        assert (await receive(ws))["seq"] == 0
        await ask(app, session_id, "奶源是哪里的？", [MILK])
        await receive_until(ws, lambda f: bool(f["ranges"]))
        await ws.send_str("not json")
        await ws.send_str('["resync"]')
        await ws.send_str(orjson.dumps({"type": "touch", "card": "x"}).decode())
        await ws.send_str(orjson.dumps({"type": "resync"}).decode())
        frames = await receive_until(ws, lambda f: f["type"] == "snapshot")
        assert frames[-1]["seq"] == 1 and len(frames[-1]["cards"]) == 1


async def test_oversized_client_messages_close_the_socket(client: TestClient) -> None:
    session_id, _ = await make_session(client.app[DATABASE])
    await login(client, "advisor")
    async with client.ws_connect(f"/ws/console/{session_id}") as ws:
        await receive(ws)
        await ws.send_str("x" * 100_000)
        message = await ws.receive(timeout=5)
        assert message.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.CLOSING)


async def test_cross_site_pages_cannot_open_the_socket(client: TestClient) -> None:
    session_id, _ = await make_session(client.app[DATABASE])
    await login(client, "advisor")
    with pytest.raises(aiohttp.WSServerHandshakeError) as err:
        await client.ws_connect(f"/ws/console/{session_id}", headers={"Origin": "https://evil.example"})
    assert err.value.status == 403


async def test_the_socket_needs_a_login(client: TestClient) -> None:
    with pytest.raises(aiohttp.WSServerHandshakeError) as err:
        await client.ws_connect("/ws/console/1", headers={"Accept": "application/json"})
    assert err.value.status == 401
    await login(client, "marketing")
    with pytest.raises(aiohttp.WSServerHandshakeError) as err:
        await client.ws_connect("/ws/console/1")
    assert err.value.status == 403


async def test_console_pages(client: TestClient) -> None:
    session_id, _ = await make_session(client.app[DATABASE], title="<script>x</script>溯源直播")
    await login(client, "advisor")
    resp = await client.get("/console", allow_redirects=False)
    assert resp.status == 302 and resp.headers["Location"] == f"/console/{session_id}"
    html = await (await client.get(f"/console/{session_id}")).text()
    assert "问答工作台" in html and "&lt;script&gt;x&lt;/script&gt;溯源直播" in html and "<script>x" not in html
    assert 'data-config="{&#34;session_id&#34;' in html
    assert (await client.get("/console/999999")).status == 404
    assert (await client.get("/static/console/console.js")).status == 200


def test_merge_ranges_keeps_newest_versions() -> None:
    card = {"id": 1, "version": 3, "status": "claimed"}
    older = {"id": 1, "version": 2, "status": "open"}
    updates = [Prepared.of(m) for m in (
        {"seq": 3, "cards": [card], "asks": []},
        {"seq": 2, "cards": [older], "asks": [{"id": "a"}]},
        {"seq": 5, "cards": [{"id": 2, "version": 5}], "asks": []},
        {"seq": 3, "cards": [card], "asks": []},
    )]
    frame = orjson.loads(batch_frame(merge_ranges(updates, 1), [{"text": "<b>hi</b>"}], 4))
    assert frame == {"type": "batch", "chat": [{"text": "<b>hi</b>"}], "chat_skipped": 4, "ranges": [
        {"from": 2, "to": 3, "cards": [card], "asks": [{"id": "a"}]},
        {"from": 5, "to": 5, "cards": [{"id": 2, "version": 5}], "asks": []},
    ]}
    assert [(r.first, r.last) for r in merge_ranges(updates, 3)] == [(5, 5)]


class FakeSocket:
    """What ``ConsoleClient`` needs of a websocket: the frames it sent."""

    closed = False

    def __init__(self) -> None:
        self.frames: list[dict[str, Any]] = []

    async def send_frame(self, data: bytes, _kind: Any) -> None:
        self.frames.append(orjson.loads(data))


def update(seq: int, ask_id: str) -> Prepared:
    return Prepared.of({"seq": seq, "cards": [{"id": 1, "version": seq}], "asks": [{"id": ask_id}]})


async def test_a_console_sends_ranges_in_sequence_order() -> None:
    ws = FakeSocket()

    async def snapshot() -> dict[str, Any]:
        return {"type": "snapshot", "seq": 0, "cards": []}

    console = ConsoleClient(ws=ws, session_id=1, interval=0.01, chat_per_frame=5, snapshot=snapshot,  # type: ignore[arg-type]
                            reorder_window=60)
    await console.flush()
    console.push_update(update(3, "c"))
    console.push_update(update(2, "b"))
    await console.flush()
    assert len(ws.frames) == 1, "2 and 3 wait for 1"
    console.push_update(update(1, "a"))
    await console.flush()
    assert ws.frames[-1]["ranges"] == [{"from": 1, "to": 3, "cards": [{"id": 1, "version": 3}],
                                        "asks": [{"id": "a"}, {"id": "b"}, {"id": "c"}]}]
    console.push_update(update(2, "b"))  # a repeat (delivered twice) is not sent again
    await console.flush()
    assert len(ws.frames) == 2 and console.resyncs == 0


async def test_a_gap_that_does_not_fill_becomes_a_snapshot() -> None:
    ws = FakeSocket()
    committed = {"seq": 0}

    async def snapshot() -> dict[str, Any]:
        return {"type": "snapshot", "seq": committed["seq"], "cards": []}

    console = ConsoleClient(ws=ws, session_id=1, interval=0.01, chat_per_frame=5, snapshot=snapshot,  # type: ignore[arg-type]
                            reorder_window=0.05)
    await console.flush()
    console.push_update(update(2, "b"))  # 1 was committed but its publish was lost
    committed["seq"] = 2
    console.wake.clear()
    await console.flush()
    assert [f["type"] for f in ws.frames] == ["snapshot"]
    async with asyncio.timeout(5):
        await console.wake.wait()  # the held range wakes its console when the window is over
    await console.flush()
    assert [f["type"] for f in ws.frames] == ["snapshot", "snapshot"] and ws.frames[-1]["seq"] == 2
    assert console.resyncs == 1 and not console.updates
    console.push_update(update(3, "c"))
    await console.flush()
    assert ws.frames[-1]["ranges"][0]["from"] == 3


async def test_two_intakes_publishing_out_of_order_reach_the_console_in_order(client: TestClient) -> None:
    """Two intake consumers (as in two worker processes): the first to write publishes last."""
    app = client.app
    state = app[CONSOLE]
    session_id, _ = await make_session(app[DATABASE])
    written, release = asyncio.Event(), asyncio.Event()

    async def slow_publish(change: Change) -> None:
        written.set()
        await release.wait()
        await publish_change(app, change)

    slow = Intake(settings=state.settings, hub=state.hub, write=state.intake.write, publish=slow_publish)
    first = await store_event(app[DATABASE], session_id, "奶源是哪里的？")
    second = await store_event(app[DATABASE], session_id, "几段适合？")
    items = [incoming_of(read_chat_enriched(enriched(row, [s])), state.settings)  # type: ignore[arg-type]
             for row, s in ((first, MILK), (second, STAGE))]
    await login(client, "advisor")
    async with client.ws_connect(f"/ws/console/{session_id}") as ws:
        assert (await receive(ws))["seq"] == 0
        late = asyncio.get_running_loop().create_task(slow.flush([(session_id, items[0])]))  # type: ignore[list-item]
        await written.wait()
        await state.intake.flush([(session_id, items[1])])  # type: ignore[list-item]
        await asyncio.sleep(0.3)  # seq 2 is on the bus; the console holds it for seq 1
        release.set()
        await late
        asks: list[str] = []
        last = 0
        async with asyncio.timeout(5):
            while len(asks) < 2:
                frame = await receive(ws)
                assert frame["type"] == "batch"
                for rng in frame["ranges"]:
                    assert rng["from"] == last + 1, "a gap in the sequence"
                    last = rng["to"]
                    asks += [a["id"] for a in rng["asks"]]
    assert asks == [first.external_id, second.external_id]


async def test_side_stream_reads_only_the_lines_a_frame_shows_for_sessions_with_a_console() -> None:
    from types import SimpleNamespace

    from livebot.console.settings import ConsoleSettings

    def line(n: int, session_id: int | None = 7, **fields: Any) -> dict[str, Any]:
        return {"pk": n, "source": "s", "id": f"e{n}", "platform": "douyin", "channel": "c", "kind": "comment",
                "ts": "2026-12-07T20:00:00+00:00", "user": {"id": f"u{n}", "name": f"<i>观众{n}</i>"}, "text": f"第{n}条",
                "count": None, "viewers": None, "value": None, "session_id": session_id, "site_id": None,
                "segment_id": None, "hidden": False, "flags": [], "merged_count": 1, "merged_into": None,
                "enrichment": {"is_question": False}, **fields}

    shown: list[tuple[int, list[int], int]] = []
    hub = SimpleNamespace(clients={7: object(), 0: object()},
                          on_chat_lines=lambda sid, lines, skipped: shown.append((sid, [x["id"] for x in lines], skipped)))
    intake = Intake(ConsoleSettings(chat_per_frame=2), hub, None, None)  # type: ignore[arg-type]
    messages = [line(1), line(2, hidden=True), line(3), line(4, session_id=8), line(6), line(7, session_id=None),
                line(5, user="not a user"), line(8)]
    await intake.on_chat_lines(messages)
    # session 7: the newest two good lines (8, 6; 5 is malformed, left out), older visible comments counted (3, 1);
    # session 8 has no console here; session-less chat goes to the unassigned console (0)
    assert shown == [(7, [6, 8], 2), (0, [7], 0)]
