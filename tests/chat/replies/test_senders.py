"""Reply senders against real local servers: WeCom robot, 微信客服 send_msg, signed webhook reply_url."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import orjson
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from livebot.chat import signing
from livebot.chat.errors import SignatureError
from livebot.chat.replies import ReplyRejected, ReplyTarget, ReplyUnavailable
from livebot.chat.replies.kf import WecomKfSender, wecom_msgid
from livebot.chat.replies.robot import WecomRobotSender
from livebot.chat.replies.webhook import WebhookReplySender
from livebot.chat.sources.wecom_api import WecomApi
from tests.fakes.wecom import FakeWecom

TARGET = ReplyTarget(source="relay-main", platform="wecom", channel="group-a", user_id="u-1", user_name="小雨妈妈",
                     event_id="q-1", reply_id="answer-42")
KF_TARGET = ReplyTarget(source="kf-main", platform="wecom", channel="wkAJ2GCAAAZSfhHCt7IFSvLKtMPxyJTw",
                        user_id="wmAJ2GCAAAme1XQRC-NI-q0_ZM9ukoAw", event_id="from_msgid_1", reply_id="ans:7/重试")
ANSWER = "您好，本批次奶源来自内蒙古锡林郭勒牧场，检验报告可扫罐底码查看。"
HOSTILE = ["<script>alert(1)</script>", "'; DROP TABLE users; --", "\u202e反向\u202c", "🍼👶🏻" * 5, "换行\n第二行"]


@pytest.fixture
async def fake() -> AsyncIterator[FakeWecom]:
    server = await FakeWecom().start()
    yield server
    await server.close()


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=2)) as client:
        yield client


async def closed_port_url() -> str:
    """A URL on 127.0.0.1 where nothing listens any more."""
    server = TestServer(web.Application(), host="127.0.0.1")
    await server.start_server()
    url = str(server.make_url("/cgi-bin/webhook/send?key=gone"))
    await server.close()
    return url


# -- group robot -----------------------------------------------------------------------


async def test_robot_posts_text_and_the_fake_records_it(fake: FakeWecom, session: aiohttp.ClientSession) -> None:
    sender = WecomRobotSender(session, fake.robot_url("group-a-key"))
    result = await sender.send(TARGET, f"  {ANSWER}\n")
    assert result.sender == "wecom_robot"
    assert fake.robot_messages == [{"key": "group-a-key", "msgtype": "text", "content": ANSWER,
                                    "body": {"msgtype": "text", "text": {"content": ANSWER}}}]


async def test_robot_sends_hostile_text_verbatim(fake: FakeWecom, session: aiohttp.ClientSession) -> None:
    sender = WecomRobotSender(session, fake.robot_url())
    for text in HOSTILE:
        await sender.send(TARGET, text)
    assert [m["content"] for m in fake.robot_messages] == HOSTILE


async def test_robot_with_unknown_key_is_rejected_without_leaking_it(fake: FakeWecom, session: aiohttp.ClientSession) -> None:
    sender = WecomRobotSender(session, f"{fake.api_base}/cgi-bin/webhook/send?key=secret-robot-key")
    with pytest.raises(ReplyRejected) as info:
        await sender.send(TARGET, ANSWER)
    assert info.value.code == 93000 and not info.value.retryable
    assert "secret-robot-key" not in str(info.value)


@pytest.mark.parametrize(("errcode", "status", "retryable"), [(45009, 200, True), (-1, 200, True), (40008, 200, False),
                                                              (0, 502, True), (0, 429, True), (0, 404, False)])
async def test_robot_failures_say_whether_to_retry(fake: FakeWecom, session: aiohttp.ClientSession, errcode: int,
                                                   status: int, retryable: bool) -> None:
    sender = WecomRobotSender(session, fake.robot_url())
    fake.fail_next("/cgi-bin/webhook/send", errcode, status=status)
    with pytest.raises(ReplyUnavailable if retryable else ReplyRejected) as info:
        await sender.send(TARGET, ANSWER)
    assert info.value.retryable is retryable
    assert fake.robot_messages == []
    await sender.send(TARGET, ANSWER)
    assert len(fake.robot_messages) == 1


async def test_unreachable_robot_is_retryable(session: aiohttp.ClientSession) -> None:
    sender = WecomRobotSender(session, await closed_port_url())
    with pytest.raises(ReplyUnavailable):
        await sender.send(TARGET, ANSWER)


@pytest.mark.parametrize("text", ["", "   \n\t", "长" * 683])
async def test_empty_or_too_long_text_is_rejected_before_sending(fake: FakeWecom, session: aiohttp.ClientSession,
                                                                 text: str) -> None:
    sender = WecomRobotSender(session, fake.robot_url())
    with pytest.raises(ReplyRejected):
        await sender.send(TARGET, text)
    assert fake.requests == []


async def test_text_of_exactly_2048_bytes_is_sent(fake: FakeWecom, session: aiohttp.ClientSession) -> None:
    text = "长" * 682 + "ab"
    assert len(text.encode()) == 2048
    await WecomRobotSender(session, fake.robot_url()).send(TARGET, text)
    assert fake.robot_messages[0]["content"] == text


# -- 微信客服 send_msg -----------------------------------------------------------------


def kf_sender(fake: FakeWecom, session: aiohttp.ClientSession) -> WecomKfSender:
    return WecomKfSender(WecomApi(session, fake.corp_id, fake.secret, fake.api_base))


async def test_kf_send_msg_answers_the_customer(fake: FakeWecom, session: aiohttp.ClientSession) -> None:
    result = await kf_sender(fake, session).send(KF_TARGET, ANSWER)
    [sent] = fake.sent
    assert sent["touser"] == KF_TARGET.user_id and sent["open_kfid"] == KF_TARGET.channel
    assert sent["msgtype"] == "text" and sent["text"] == {"content": ANSWER}
    assert sent["msgid"] == wecom_msgid("ans:7/重试") == result.message_id
    assert len(sent["msgid"]) == 32
    assert result.sender == "wecom_kf"


async def test_kf_retry_with_the_same_reply_id_is_not_sent_twice(fake: FakeWecom, session: aiohttp.ClientSession) -> None:
    sender = kf_sender(fake, session)
    await sender.send(KF_TARGET, ANSWER)
    await sender.send(KF_TARGET, ANSWER)
    assert len(fake.sent) == 1


async def test_kf_refreshes_a_revoked_access_token(fake: FakeWecom, session: aiohttp.ClientSession) -> None:
    sender = kf_sender(fake, session)
    await sender.send(KF_TARGET, "第一条")
    fake.access_tokens.clear()
    await sender.send(ReplyTarget(**{**KF_TARGET.__dict__, "reply_id": "second"}), "第二条")
    assert [s["text"]["content"] for s in fake.sent] == ["第一条", "第二条"]
    assert fake.gettoken_calls == 2


@pytest.mark.parametrize(("errcode", "retryable"), [(-1, True), (45009, True), (95018, False), (40096, False)])
async def test_kf_failures_say_whether_to_retry(fake: FakeWecom, session: aiohttp.ClientSession, errcode: int,
                                                retryable: bool) -> None:
    fake.fail_next("/cgi-bin/kf/send_msg", errcode)
    with pytest.raises(ReplyUnavailable if retryable else ReplyRejected) as info:
        await kf_sender(fake, session).send(KF_TARGET, ANSWER)
    assert info.value.code == errcode
    assert fake.sent == []


async def test_kf_with_wrong_secret_is_rejected(fake: FakeWecom, session: aiohttp.ClientSession) -> None:
    sender = WecomKfSender(WecomApi(session, fake.corp_id, "wrong", fake.api_base))
    with pytest.raises(ReplyRejected) as info:
        await sender.send(KF_TARGET, ANSWER)
    assert info.value.code == 40001


async def test_kf_needs_a_customer(fake: FakeWecom, session: aiohttp.ClientSession) -> None:
    with pytest.raises(ReplyRejected):
        await kf_sender(fake, session).send(ReplyTarget(source="kf-main", platform="wecom", channel="wk1"), ANSWER)
    assert fake.requests == []


def test_wecom_msgid_is_sanitised_and_bounded() -> None:
    assert wecom_msgid("abc-DEF_123") == "abc-DEF_123"
    assert wecom_msgid("重试") != wecom_msgid("再试"), "distinct keys never collide into one msgid"
    for key in ("a b/c:d", "x" * 33, "答案-1"):
        msgid = wecom_msgid(key)
        assert len(msgid) == 32 and msgid.isalnum() and msgid == wecom_msgid(key)
    assert wecom_msgid("") == ""


# -- webhook reply_url -----------------------------------------------------------------


class Relay:
    """A relay's reply endpoint that checks livebot's signature like the relay would."""

    def __init__(self, secret: str) -> None:
        self.secret = secret
        self.received: list[dict[str, Any]] = []
        self.status = 200
        self.hang = asyncio.Event()
        self.hanging = False

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        if self.hanging:
            await self.hang.wait()
        try:
            signing.verify(self.secret, request.headers.get(signing.TIMESTAMP_HEADER),
                           request.headers.get(signing.SIGNATURE_HEADER), body)
        except SignatureError:
            return web.json_response({"error": "bad signature"}, status=401)
        if self.status != 200:
            return web.json_response({"error": "nope"}, status=self.status)
        self.received.append(orjson.loads(body))
        return web.json_response({"id": f"relay-{len(self.received)}"})


@pytest.fixture
async def relay(aiohttp_server: Any) -> AsyncIterator[tuple[Relay, str]]:
    receiver = Relay("relay-secret")
    app = web.Application()
    app.router.add_post("/replies", receiver.handle)
    server = await aiohttp_server(app)
    yield receiver, str(server.make_url("/replies"))
    receiver.hang.set()


async def test_webhook_reply_is_signed_like_the_inbound_webhook(relay: tuple[Relay, str],
                                                                session: aiohttp.ClientSession) -> None:
    receiver, url = relay
    result = await WebhookReplySender(session, url, "relay-secret").send(TARGET, ANSWER)
    assert result.message_id == "relay-1" and result.sender == "webhook"
    [body] = receiver.received
    assert body["type"] == "reply" and body["text"] == ANSWER and body["reply_id"] == "answer-42"
    assert (body["source"], body["platform"], body["channel"], body["in_reply_to"]) == ("relay-main", "wecom", "group-a", "q-1")
    assert body["user"] == {"id": "u-1", "name": "小雨妈妈"}


async def test_webhook_reply_with_wrong_secret_is_refused_by_the_relay(relay: tuple[Relay, str],
                                                                       session: aiohttp.ClientSession) -> None:
    receiver, url = relay
    with pytest.raises(ReplyRejected) as info:
        await WebhookReplySender(session, url, "other-secret").send(TARGET, ANSWER)
    assert info.value.code == 401
    assert receiver.received == []


async def test_webhook_stale_clock_signature_is_refused(relay: tuple[Relay, str], session: aiohttp.ClientSession) -> None:
    _receiver, url = relay
    sender = WebhookReplySender(session, url, "relay-secret", clock=lambda: 1_000_000_000.0)
    with pytest.raises(ReplyRejected):
        await sender.send(TARGET, ANSWER)


@pytest.mark.parametrize(("status", "retryable"), [(500, True), (503, True), (429, True), (408, True),
                                                   (400, False), (404, False), (422, False)])
async def test_webhook_statuses_say_whether_to_retry(relay: tuple[Relay, str], session: aiohttp.ClientSession,
                                                     status: int, retryable: bool) -> None:
    receiver, url = relay
    receiver.status = status
    with pytest.raises(ReplyUnavailable if retryable else ReplyRejected) as info:
        await WebhookReplySender(session, url, "relay-secret").send(TARGET, ANSWER)
    assert info.value.code == status


async def test_webhook_timeout_is_retryable(relay: tuple[Relay, str]) -> None:
    receiver, url = relay
    receiver.hanging = True
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=0.2)) as short:
        with pytest.raises(ReplyUnavailable):
            await WebhookReplySender(short, url, "relay-secret").send(TARGET, ANSWER)


async def test_webhook_hostile_text_round_trips(relay: tuple[Relay, str], session: aiohttp.ClientSession) -> None:
    receiver, url = relay
    sender = WebhookReplySender(session, url, "relay-secret")
    for text in HOSTILE:
        await sender.send(TARGET, text)
    assert [b["text"] for b in receiver.received] == HOSTILE
