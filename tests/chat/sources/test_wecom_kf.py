"""The wecom_kf source: callback verification, background sync_msg pulls, durable cursor, mapping."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from livebot.appkeys import DATABASE
from livebot.chat import source_state
from livebot.chat.errors import IngestUnavailable
from livebot.chat.sources.registry import build_source
from livebot.chat.sources.wecom_crypto import WecomCrypto, build_xml
from livebot.chat.sources.wecom_kf import WecomKfSource
from livebot.config import SourceSettings
from livebot.errors import ConfigError
from livebot.storage.engine import Database
from tests.fakes.sink import RecordingSink
from tests.fakes.wecom import FakeWecom

PATH = "/api/v1/sources/kf-main/wecom"
ECHOSTR = "fsi1xnbH4yQh0+PJxcOdhhK6TDXkjMyhEPA7xB2TGz6b+g7xyAbEkRxN/3cNXW9qdqjnoVzEtpbhnFyq6SVHyA=="
VECTOR = {"msg_signature": "012bc692d0a58dd4b10f8dfe5c4ac00ae211ebeb", "timestamp": "1476416373", "nonce": "47744683"}


class FailingSink(RecordingSink):
    """Storage is down for the next ``fail_next`` submits (IngestUnavailable, as the real ingest raises)."""

    async def submit(self, events: Any) -> Any:
        if self.fail_next:
            self.fail_next -= 1
            raise IngestUnavailable("database down (test)")
        return await super().submit(events)


@pytest.fixture
async def fake() -> AsyncIterator[FakeWecom]:
    server = await FakeWecom().start()
    server.customers["wmAJ2GCAAAme1XQRC-NI-q0_ZM9ukoAw"] = "小雨妈妈"
    yield server
    await server.close()


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[Database]:
    database = Database.open(database_url)
    yield database
    await database.close()


@pytest.fixture
def sink() -> FailingSink:
    return FailingSink()


def make_source(fake: FakeWecom, sink: RecordingSink, **overrides: Any) -> WecomKfSource:
    source = build_source(SourceSettings("kf-main", "wecom_kf", fake.source_options(**overrides)), 0, sink)
    assert isinstance(source, WecomKfSource)
    source.retry_delay = lambda attempt: 0.0
    return source


async def serve(aiohttp_client: Any, source: WecomKfSource, db: Database) -> TestClient:
    app = web.Application()
    app[DATABASE] = db
    source.attach(app)
    app.add_routes(source.routes())

    async def close_source(_app: web.Application) -> None:
        await source.close()

    app.on_cleanup.append(close_source)
    return await aiohttp_client(app)


@pytest.fixture
async def setup(db: Database, fake: FakeWecom, sink: FailingSink, aiohttp_client: Any) -> tuple[TestClient, WecomKfSource]:
    # db and fake first: fixtures close in reverse, so the app (and the source) closes before them.
    source = make_source(fake, sink)
    return await serve(aiohttp_client, source, db), source


async def post_callback(client: TestClient, fake: FakeWecom, **kwargs: Any) -> Any:
    params, body = fake.encrypted_callback(**kwargs)
    return await client.post(PATH, params=params, data=body, headers={"Content-Type": "text/xml"})


# -- URL verification ------------------------------------------------------------------


async def test_url_verification_answers_plaintext_alone_within_a_second(setup: tuple[TestClient, WecomKfSource]) -> None:
    client, source = setup
    source.clock = lambda: 1476416373.0
    started = time.monotonic()
    resp = await client.get(PATH, params={**VECTOR, "echostr": ECHOSTR})
    assert time.monotonic() - started < 1.0
    assert resp.status == 200
    assert await resp.read() == b"1288432023552776189"
    assert resp.content_type == "text/plain"


async def test_url_verification_keeps_a_raw_plus_in_echostr(setup: tuple[TestClient, WecomKfSource]) -> None:
    client, source = setup
    source.clock = lambda: 1476416373.0
    query = "&".join(f"{k}={v}" for k, v in {**VECTOR, "echostr": ECHOSTR}.items())
    assert "+" in query
    resp = await client.get(f"{PATH}?{query}")
    assert resp.status == 200
    assert await resp.text() == "1288432023552776189"


@pytest.mark.parametrize(
    ("change", "status"),
    [
        ({"msg_signature": "0" * 40}, 401),
        ({"nonce": "47744684"}, 401),
        ({"timestamp": "abc"}, 401),
        ({"echostr": ""}, 400),
        ({"msg_signature": ""}, 400),
    ],
)
async def test_url_verification_refuses_bad_requests(
    setup: tuple[TestClient, WecomKfSource], change: dict[str, str], status: int
) -> None:
    client, source = setup
    source.clock = lambda: 1476416373.0
    resp = await client.get(PATH, params={**VECTOR, "echostr": ECHOSTR, **change})
    assert resp.status == status
    assert "1288432023552776189" not in await resp.text()


async def test_url_verification_refuses_a_stale_timestamp(setup: tuple[TestClient, WecomKfSource]) -> None:
    client, _source = setup  # real clock: the 2016 vector is years old
    resp = await client.get(PATH, params={**VECTOR, "echostr": ECHOSTR})
    assert resp.status == 401
    assert "timestamp" in (await resp.json())["error"]


async def test_url_verification_with_valid_signature_over_garbage_is_400(setup: tuple[TestClient, WecomKfSource]) -> None:
    client, source = setup
    garbage = "QUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUE="
    ts = str(int(time.time()))
    params = {"msg_signature": source.crypto.signature(ts, "1", garbage), "timestamp": ts, "nonce": "1", "echostr": garbage}
    resp = await client.get(PATH, params=params)
    assert resp.status == 400
    assert (await resp.json())["field"] == "Encrypt"


# -- callbacks and pulls -----------------------------------------------------------------


async def test_callback_pulls_messages_in_the_background_and_maps_them(
    setup: tuple[TestClient, WecomKfSource], fake: FakeWecom, sink: RecordingSink, db: Database
) -> None:
    client, source = setup
    text = fake.add_message("奶源是哪里的？")
    image = fake.add_message(None, msgtype="image", image={"media_id": "2iSLeVyqzk4eX0IB5kTi9Ljfa2rt9dwfq5WKRQ4Nvvgw"})
    link = fake.add_message(None, msgtype="link", link={"title": "冲泡指南", "url": "https://example.com"})
    fake.add_message("好的，马上为您查询", origin=5, external_userid="wmAJ2GCAAAme1XQRC-NI-q0_ZM9ukoAw")
    enter = fake.add_enter_session()
    fake.add_message("三天前的问题", send_time=int(time.time()) - 3 * 86400)
    fake.sync_gate = asyncio.Event()
    started = time.monotonic()
    resp = await post_callback(client, fake)
    assert resp.status == 200
    assert await resp.read() == b""
    assert time.monotonic() - started < 1.0
    assert sink.submitted == [], "the pull waits for WeCom, the answer does not"
    fake.sync_gate.set()
    await source.idle()
    events = sink.submitted
    assert [e.id for e in events] == [text["msgid"], image["msgid"], link["msgid"], enter["msgid"]]
    first = events[0]
    assert (first.platform, first.channel, first.kind, first.text) == ("wecom", fake.open_kfid, "comment", "奶源是哪里的？")
    assert (first.user.id, first.user.name, first.source) == ("wmAJ2GCAAAme1XQRC-NI-q0_ZM9ukoAw", "小雨妈妈", "kf-main")
    assert first.ts.timestamp() == text["send_time"]
    assert (events[1].kind, events[1].text, events[1].raw["image"]["media_id"]) == (
        "comment", "[图片]", "2iSLeVyqzk4eX0IB5kTi9Ljfa2rt9dwfq5WKRQ4Nvvgw")
    assert events[2].text == "[链接] 冲泡指南"
    assert (events[3].kind, events[3].user.id) == ("enter", "wmEnter0001")
    sync = fake.sync_calls[0]
    assert sync["open_kfid"] == fake.open_kfid and sync["limit"] == 1000 and sync["cursor"] == ""
    assert sync["token"] in fake.sync_tokens
    assert await source_state.get(db, "kf-main", f"sync_cursor:{fake.open_kfid}") == "cu6"


async def test_next_callback_continues_from_the_stored_cursor(
    setup: tuple[TestClient, WecomKfSource], fake: FakeWecom, sink: RecordingSink
) -> None:
    client, source = setup
    fake.add_message("第一条")
    await post_callback(client, fake)
    await source.idle()
    fake.add_message("第二条")
    await post_callback(client, fake)
    await source.idle()
    assert [e.text for e in sink.submitted] == ["第一条", "第二条"]
    assert [c["cursor"] for c in fake.sync_calls] == ["", "cu1"]
    assert fake.gettoken_calls == 1, "the access token is cached"


async def test_cursor_survives_a_restart(
    aiohttp_client: Any, fake: FakeWecom, sink: RecordingSink, db: Database
) -> None:
    first = make_source(fake, sink)
    client = await serve(aiohttp_client, first, db)
    fake.add_message("重启前")
    await post_callback(client, fake)
    await first.idle()
    await first.close()
    fake.add_message("重启后")
    second_sink = RecordingSink()
    second = make_source(fake, second_sink, open_kfids=[fake.open_kfid])
    second.attach(client.app)
    await second.run()  # catch-up pull for configured accounts, then returns (no polling)
    await second.idle()
    await second.close()
    assert [e.text for e in second_sink.submitted] == ["重启后"]
    assert fake.sync_calls[-1]["cursor"] == "cu1"


async def test_repeated_and_concurrent_callbacks_emit_each_message_once(
    setup: tuple[TestClient, WecomKfSource], fake: FakeWecom, sink: RecordingSink
) -> None:
    client, source = setup
    for i in range(3):
        fake.add_message(f"问题{i}")
    params, body = fake.encrypted_callback()
    fake.sync_gate = asyncio.Event()
    answers = await asyncio.gather(*(client.post(PATH, params=params, data=body) for _ in range(4)))
    assert [a.status for a in answers] == [200] * 4
    fake.sync_gate.set()
    await source.idle()
    assert [e.text for e in sink.submitted] == ["问题0", "问题1", "问题2"]
    assert len(fake.sync_calls) <= 2, "callbacks during a pull coalesce into one more round"


async def test_pages_are_followed_until_has_more_is_zero(
    aiohttp_client: Any, fake: FakeWecom, sink: RecordingSink, db: Database, caplog: pytest.LogCaptureFixture
) -> None:
    source = make_source(fake, sink, sync_limit=2)
    client = await serve(aiohttp_client, source, db)
    for i in range(5):
        fake.add_message(f"分页{i}")
    await post_callback(client, fake)
    await source.idle()
    assert [e.text for e in sink.submitted] == [f"分页{i}" for i in range(5)]
    assert [c["cursor"] for c in fake.sync_calls] == ["", "cu2", "cu4"]


async def test_refused_access_token_is_fetched_again_once(
    setup: tuple[TestClient, WecomKfSource], fake: FakeWecom, sink: RecordingSink
) -> None:
    client, source = setup
    fake.add_message("一")
    await post_callback(client, fake)
    await source.idle()
    fake.access_tokens.clear()  # WeCom revoked every token early
    fake.add_message("二")
    await post_callback(client, fake)
    await source.idle()
    assert [e.text for e in sink.submitted] == ["一", "二"]
    assert fake.gettoken_calls == 2


async def test_expired_sync_token_is_dropped_and_the_pull_retried(
    setup: tuple[TestClient, WecomKfSource], fake: FakeWecom, sink: RecordingSink
) -> None:
    client, source = setup
    fake.add_message("令牌过期")
    params, body = fake.encrypted_callback()
    fake.sync_tokens.clear()
    await client.post(PATH, params=params, data=body)
    await source.idle()
    assert [e.text for e in sink.submitted] == ["令牌过期"]
    assert "token" in fake.sync_calls[0] and "token" not in fake.sync_calls[1]


async def test_busy_wecom_is_retried_without_advancing_the_cursor(
    setup: tuple[TestClient, WecomKfSource], fake: FakeWecom, sink: RecordingSink, db: Database
) -> None:
    client, source = setup
    fake.add_message("系统繁忙后")
    fake.fail_next("/cgi-bin/kf/sync_msg", -1, times=2)
    await post_callback(client, fake)
    await source.idle()
    assert [e.text for e in sink.submitted] == ["系统繁忙后"]
    assert await source_state.get(db, "kf-main", f"sync_cursor:{fake.open_kfid}") == "cu1"


async def test_storage_outage_keeps_the_cursor_and_retries(
    setup: tuple[TestClient, WecomKfSource], fake: FakeWecom, sink: FailingSink, db: Database
) -> None:
    client, source = setup
    fake.add_message("存储恢复后")
    sink.fail_next = 1
    await post_callback(client, fake)
    await source.idle()
    assert [e.text for e in sink.submitted] == ["存储恢复后"]
    assert [c["cursor"] for c in fake.sync_calls] == ["", ""], "the failed page is fetched again"


async def test_persistent_failure_is_logged_and_waits_for_the_next_callback(
    setup: tuple[TestClient, WecomKfSource], fake: FakeWecom, sink: RecordingSink, caplog: pytest.LogCaptureFixture
) -> None:
    client, source = setup
    fake.add_message("晚到的消息")
    fake.fail_next("/cgi-bin/kf/sync_msg", 0, times=5, status=502)
    await post_callback(client, fake)
    await source.idle()
    assert sink.submitted == []
    assert any("failed 5 times" in r.message and r.levelname == "ERROR" for r in caplog.records)
    await post_callback(client, fake)
    await source.idle()
    assert [e.text for e in sink.submitted] == ["晚到的消息"]


HOSTILE = ["<img src=x onerror=alert(1)>", "' OR 1=1; --", "换行\n\t\x00\x1f", "\u202eabc\u202c", "🍼👶🏻" * 10]


async def test_hostile_message_text_is_passed_on_verbatim(
    setup: tuple[TestClient, WecomKfSource], fake: FakeWecom, sink: RecordingSink
) -> None:
    client, source = setup
    for text in HOSTILE:
        fake.add_message(text)
    await post_callback(client, fake)
    await source.idle()
    assert [e.text for e in sink.submitted] == HOSTILE


async def test_nickname_failure_does_not_lose_messages(
    setup: tuple[TestClient, WecomKfSource], fake: FakeWecom, sink: RecordingSink
) -> None:
    client, source = setup
    fake.add_message("没有昵称也要收到")
    fake.fail_next("/cgi-bin/kf/customer/batchget", -1)
    await post_callback(client, fake)
    await source.idle()
    assert [(e.text, e.user.name) for e in sink.submitted] == [("没有昵称也要收到", "")]


# -- hostile callbacks -----------------------------------------------------------------


async def test_bad_signature_is_401_and_nothing_is_pulled(
    setup: tuple[TestClient, WecomKfSource], fake: FakeWecom
) -> None:
    client, source = setup
    params, body = fake.encrypted_callback()
    resp = await client.post(PATH, params={**params, "msg_signature": "f" * 40}, data=body)
    assert resp.status == 401
    await source.idle()
    assert fake.sync_calls == []


async def test_stale_callback_is_401(setup: tuple[TestClient, WecomKfSource], fake: FakeWecom) -> None:
    client, _source = setup
    params, body = fake.encrypted_callback(timestamp=int(time.time()) - 3600)
    resp = await client.post(PATH, params=params, data=body)
    assert resp.status == 401


async def test_callback_for_another_corp_is_400(setup: tuple[TestClient, WecomKfSource], fake: FakeWecom) -> None:
    client, _source = setup
    other = WecomCrypto(fake.token, fake.encoding_aes_key, "ww9999999999999999")
    encrypt = other.encrypt(build_xml({"MsgType": "event", "Event": "kf_msg_or_event", "OpenKfId": "wk1"}))
    ts, nonce = str(int(time.time())), "123"
    body = build_xml({"ToUserName": "ww9999999999999999", "Encrypt": encrypt})
    resp = await client.post(PATH, params={"msg_signature": other.signature(ts, nonce, encrypt), "timestamp": ts,
                                           "nonce": nonce}, data=body)
    assert resp.status == 400
    assert "receiver" in (await resp.json())["error"]


async def test_oversized_body_is_413(setup: tuple[TestClient, WecomKfSource], fake: FakeWecom) -> None:
    client, _source = setup
    params, _body = fake.encrypted_callback()
    resp = await client.post(PATH, params=params, data=b"<xml>" + b"A" * 70_000 + b"</xml>")
    assert resp.status == 413


async def test_oversized_chunked_body_is_413(setup: tuple[TestClient, WecomKfSource], fake: FakeWecom) -> None:
    client, _source = setup
    params, _body = fake.encrypted_callback()

    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(20):
            yield b"A" * 8192

    resp = await client.post(PATH, params=params, data=chunks())
    assert resp.status == 413


@pytest.mark.parametrize(
    "body",
    [
        b"<xml><Encrypt>unterminated",
        b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;">]><xml><Encrypt>&b;</Encrypt></xml>',
        b"<xml><ToUserName>x</ToUserName></xml>",
        b"not xml at all \x00\xff",
        b"<xml><Encrypt><![CDATA[<script>alert('x')</script>]]></Encrypt></xml>",
    ],
)
async def test_malformed_callback_is_400(setup: tuple[TestClient, WecomKfSource], fake: FakeWecom, body: bytes) -> None:
    client, source = setup
    ts = str(int(time.time()))
    resp = await client.post(PATH, params={"msg_signature": "0" * 40, "timestamp": ts, "nonce": "1"}, data=body)
    assert resp.status in (400, 401)
    if b"<script>" not in body:
        assert resp.status == 400
    await source.idle()
    assert fake.sync_calls == []


async def test_signed_garbage_inner_xml_is_400(setup: tuple[TestClient, WecomKfSource], fake: FakeWecom) -> None:
    client, _source = setup
    params, body = fake.encrypt_for_callback(b"<!DOCTYPE x><xml/>")
    resp = await client.post(PATH, params=params, data=body)
    assert resp.status == 400


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-8-sig"])
async def test_entity_declarations_are_refused_in_any_encoding(
    setup: tuple[TestClient, WecomKfSource], fake: FakeWecom, encoding: str
) -> None:
    """Signed and encrypted, so only the XML reader stands between it and the entity expansion."""
    client, source = setup
    inner = (f'<?xml version="1.0" encoding="{encoding.upper().replace("-SIG", "")}"?>'
             '<!DOCTYPE x [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;">]>'
             f"<xml><ToUserName>{fake.corp_id}</ToUserName><MsgType>event</MsgType><Event>kf_msg_or_event</Event>"
             "<Token>&b;</Token><OpenKfId>wkAJ2GCAAAZSfhHCt7IFSvLKtMPxyJTw</OpenKfId></xml>")
    params, body = fake.encrypt_for_callback(inner.encode(encoding))
    resp = await client.post(PATH, params=params, data=body)
    assert resp.status == 400
    assert ("DOCTYPE" if encoding != "utf-16-le" else "multi-byte encodings") in (await resp.json())["error"]
    await source.idle()
    assert fake.sync_calls == []


async def test_other_events_are_acknowledged_without_a_pull(
    setup: tuple[TestClient, WecomKfSource], fake: FakeWecom
) -> None:
    client, source = setup
    inner = build_xml({"ToUserName": fake.corp_id, "MsgType": "event", "Event": "change_external_chat",
                       "ChatId": "wrOgQhDgAAMYQiS5ol9G7gK9JVAAAA", "ChangeType": "update"})
    params, body = fake.encrypt_for_callback(inner)
    resp = await client.post(PATH, params=params, data=body)
    assert resp.status == 200
    await source.idle()
    assert fake.sync_calls == []


async def test_close_cancels_a_pull_in_progress(setup: tuple[TestClient, WecomKfSource], fake: FakeWecom) -> None:
    client, source = setup
    fake.add_message("永远等不到")
    fake.sync_gate = asyncio.Event()
    await post_callback(client, fake)
    await fake.wait_for(lambda: fake.sync_calls)
    assert source._tasks
    source.close_grace = 0.05
    await source.close()
    assert not source._tasks
    fake.sync_gate.set()


# -- settings ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "key"),
    [
        ({"encoding_aes_key": "short"}, "sources[4].encoding_aes_key"),
        ({"sync_limit": 0}, "sources[4].sync_limit"),
        ({"sync_limit": 1001}, "sources[4].sync_limit"),
        ({"api_base": "qyapi.weixin.qq.com"}, "sources[4].api_base"),
        ({"token": ""}, "sources[4].token"),
        ({"open_kfids": "wk1"}, "sources[4].open_kfids"),
        ({"max_clock_skew_seconds": -1}, "sources[4].max_clock_skew_seconds"),
    ],
)
def test_settings_errors_name_the_key(fake: FakeWecom, change: dict[str, Any], key: str) -> None:
    with pytest.raises(ConfigError) as info:
        WecomKfSource(SourceSettings("kf", "wecom_kf", fake.source_options(**change)), 4, RecordingSink())
    assert info.value.key == key


def test_missing_corp_id_names_the_key() -> None:
    with pytest.raises(ConfigError) as info:
        WecomKfSource(SourceSettings("kf", "wecom_kf", {"secret": "s", "token": "t",
                                                        "encoding_aes_key": "6qkdMrq68nTKduznJYO1A37W2oEgpkMUvkttRToqhUt"}),
                      0, RecordingSink())
    assert info.value.key == "sources[0].corp_id"


# -- through the whole app ---------------------------------------------------------------


async def test_callback_through_the_app_stores_events(aiohttp_client: Any, make_config: Any, fake: FakeWecom) -> None:
    from sqlalchemy import select

    from livebot.app import create_app
    from livebot.chat.keys import SOURCES
    from livebot.chat.models import StoredEvent

    config = make_config(sources=[{"id": "kf-main", "type": "wecom_kf", **fake.source_options()}])
    app = create_app(config)
    client = await aiohttp_client(app)
    fake.add_message("全链路：奶源是哪里的？")
    resp = await post_callback(client, fake)
    assert resp.status == 200
    source = app[SOURCES]["kf-main"]
    assert isinstance(source, WecomKfSource)
    await source.idle()
    async with app[DATABASE].sessions() as session:
        rows = (await session.execute(select(StoredEvent).where(StoredEvent.source == "kf-main"))).scalars().all()
    assert [(r.platform, r.channel, r.user_id, r.text) for r in rows] == [
        ("wecom", fake.open_kfid, "wmAJ2GCAAAme1XQRC-NI-q0_ZM9ukoAw", "全链路：奶源是哪里的？")]
    assert (await client.get("/api/v1/sources/nobody/wecom", params={"echostr": "x"})).status == 404
    doc = await (await client.get("/api/v1/openapi.json")).json()
    assert set(doc["paths"]["/api/v1/sources/{source_id}/wecom"]) == {"get", "post"}


def test_config_example_section_is_valid(monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.chat.config_examples import example_block

    monkeypatch.setenv("LIVEBOT_KF_SECRET", "kf-secret")
    monkeypatch.setenv("LIVEBOT_KF_TOKEN", "hJqcu3uJ9Tn2gXPmxx2w9kkCkCE2EPYo")
    monkeypatch.setenv("LIVEBOT_KF_AES_KEY", "6qkdMrq68nTKduznJYO1A37W2oEgpkMUvkttRToqhUt")
    [raw] = example_block("wecom_kf")["sources"]
    settings = SourceSettings(raw["id"], raw["type"], {k: v for k, v in raw.items() if k not in ("id", "type")})
    source = build_source(settings, 0, RecordingSink())
    assert isinstance(source, WecomKfSource)
    assert source.options.open_kfids == ("wkAJ2GCAAAZSfhHCt7IFSvLKtMPxyJTw",)
    assert source.options.api_base == "https://qyapi.weixin.qq.com"


async def test_polling_pulls_without_a_callback(
    aiohttp_client: Any, fake: FakeWecom, sink: RecordingSink, db: Database
) -> None:
    source = make_source(fake, sink, open_kfids=[fake.open_kfid], poll_seconds=0.05)
    await serve(aiohttp_client, source, db)
    runner = asyncio.create_task(source.run())
    try:
        await fake.wait_for(lambda: fake.sync_calls)
        fake.add_message("轮询拿到的")
        await sink.wait_for(1)
    finally:
        runner.cancel()
        await asyncio.gather(runner, return_exceptions=True)
        await source.close()  # before the database fixture closes: a poll may be mid-write
    assert [e.text for e in sink.submitted] == ["轮询拿到的"]


async def test_malformed_sync_msg_entries_are_skipped(
    setup: tuple[TestClient, WecomKfSource], fake: FakeWecom, sink: RecordingSink, caplog: pytest.LogCaptureFixture
) -> None:
    client, source = setup
    kfid, now = fake.open_kfid, int(time.time())
    fake.messages += [
        {"msgid": 12345, "open_kfid": kfid, "origin": 3, "msgtype": "text", "text": {"content": "id is a number"}},
        {"msgid": "bad-content", "open_kfid": kfid, "external_userid": "wm1", "origin": 3, "send_time": now,
         "msgtype": "text", "text": {"content": ["not", "text"]}},
        {"msgid": "no-user", "open_kfid": kfid, "origin": 3, "send_time": now, "msgtype": "text", "text": {"content": "x"}},
        {"msgid": "odd-time", "open_kfid": kfid, "external_userid": "wm1", "origin": 3, "send_time": "yesterday",
         "msgtype": "text", "text": {"content": "时间不对也收"}},
        {"msgid": "unknown-type", "open_kfid": kfid, "external_userid": "wm1", "origin": 3, "send_time": now,
         "msgtype": "hologram", "hologram": {"title": 7}},
    ]
    good = fake.add_message("正常消息")
    await post_callback(client, fake)
    await source.idle()
    assert [(e.id, e.text) for e in sink.submitted] == [
        ("odd-time", "时间不对也收"), ("unknown-type", "[消息]"), (good["msgid"], "正常消息")]
    assert sum("skipped malformed message" in r.message for r in caplog.records) == 2


async def test_recorded_sync_msg_page_maps_to_events(fake: FakeWecom) -> None:
    import json

    from tests.support import FIXTURES

    page = json.loads((FIXTURES / "wecom" / "sync_msg.json").read_text(encoding="utf-8"))
    source = make_source(fake, RecordingSink(), max_backlog_seconds=0, fetch_nicknames=False)
    events = await source.events_from(page["msg_list"])
    assert [(e.id, e.kind, e.text) for e in events] == [
        ("from_msgid_4622416642169452483", "comment", "宝宝一岁半了，3段奶粉一天喝几次？"),
        ("from_msgid_4622416642169452484", "comment", "[图片]"),
        ("from_msgid_4622416642169452485", "comment", "[语音]"),
        ("from_msgid_4622416642169452486", "comment", "[位置] 广州国际媒体港"),
        ("event_msgid_1", "enter", ""),
    ], "servicer replies (origin 5) and other events are not viewer chat"
    assert {e.channel for e in events} == {"wkAJ2GCAAASSm4_FhToWMFea0xAFfd3Q"}
    assert events[4].user.id == "wmAJ2GCAAA8dQ9wHq1uAbcdE"
    assert events[0].ts.timestamp() == 1764000062 and events[0].raw["text"]["menu_id"] == "101"
    await source.close()
