"""Which sender answers which question, built from config; and app[REPLIES] in the real app."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestClient

from livebot.app import create_app
from livebot.chat.replies import REPLIES, NoReplyRoute, ReplyRouter, ReplyTarget
from livebot.chat.replies.router import plan
from livebot.config import Config
from livebot.errors import ConfigError
from tests.fakes.wecom import FakeWecom


@pytest.fixture
async def fake() -> AsyncIterator[FakeWecom]:
    server = await FakeWecom().start()
    yield server
    await server.close()


def local_sources(fake: FakeWecom) -> list[dict[str, Any]]:
    """Sources safe to run in an app: every remote is local (no bilibili: it would call its platform)."""
    return [s for s in sources(fake) if s["type"] != "bilibili"]


def sources(fake: FakeWecom) -> list[dict[str, Any]]:
    return [
        {"id": "relay-main", "type": "webhook", "secret": "relay-secret", "reply_url": "http://127.0.0.1:9/replies"},
        {"id": "relay-quiet", "type": "webhook", "secret": "s2"},
        {"id": "kf-main", "type": "wecom_kf", **fake.source_options()},
        {"id": "bili-main", "type": "bilibili", "app_id": 1, "code": "c", "access_key_id": "i", "access_key_secret": "s"},
    ]


def target(source: str, channel: str = "", **extra: Any) -> ReplyTarget:
    return ReplyTarget(source=source, platform="wecom", channel=channel, **extra)


async def test_routes_pick_robot_then_source_sender(make_config: Callable[..., Config], fake: FakeWecom) -> None:
    config = make_config(sources=sources(fake), replies={"robots": [
        {"source": "relay-main", "channel": "group-a", "url": fake.robot_url("a")},
        {"source": "relay-quiet", "url": fake.robot_url("any")},
    ]})
    async with aiohttp.ClientSession() as session:
        router = ReplyRouter.build(plan(config), session)
        names = {
            key: (sender.name if (sender := router.sender_for(target(*key))) else None)
            for key in [("relay-main", "group-a"), ("relay-main", "group-b"), ("relay-quiet", "group-z"),
                        ("kf-main", "wk1"), ("bili-main", "7734"), ("nobody", "")]
        }
        assert names == {
            ("relay-main", "group-a"): "wecom_robot",
            ("relay-main", "group-b"): "webhook",
            ("relay-quiet", "group-z"): "wecom_robot",
            ("kf-main", "wk1"): "wecom_kf",
            ("bili-main", "7734"): None,
            ("nobody", ""): None,
        }
        with pytest.raises(NoReplyRoute) as info:
            await router.send(target("bili-main", "7734"), "谢谢关注")
        assert not info.value.retryable
        result = await router.send(target("relay-main", "group-a"), "您好")
        assert result.sender == "wecom_robot"
        assert fake.robot_messages[0]["key"] == "a"


@pytest.mark.parametrize(
    ("replies", "key"),
    [
        ({"robots": [{"source": "ghost", "url": "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=k"}]},
         "replies.robots[0].source"),
        ({"robots": [{"source": "relay-main", "url": "ftp://x"}]}, "replies.robots[0].url"),
        ({"robots": [{"source": "relay-main"}]}, "replies.robots[0].url"),
        ({"robots": [{"source": "relay-main", "url": "https://a"}, {"source": "relay-main", "url": "https://b"}]},
         "replies.robots[1]"),
        ({"timeout_seconds": 0}, "replies.timeout_seconds"),
        ({"unknown": 1}, "replies.unknown"),
    ],
)
def test_reply_config_errors_name_the_key(make_config: Callable[..., Config], fake: FakeWecom,
                                          replies: dict[str, Any], key: str) -> None:
    config = make_config(sources=sources(fake), replies=replies)
    with pytest.raises(ConfigError) as info:
        plan(config)
    assert info.value.key == key


def test_robot_url_may_come_from_the_environment(make_config: Callable[..., Config], fake: FakeWecom,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ROBOT_URL", "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=from-env")
    config = make_config(sources=sources(fake), replies={"robots": [{"source": "relay-main", "url_env": "ROBOT_URL"}]})
    [robot] = [r for r in plan(config) if r.kind == "wecom_robot"]
    assert robot.options.endswith("key=from-env")


async def test_app_exposes_the_router(aiohttp_client: Any, make_config: Callable[..., Config], fake: FakeWecom) -> None:
    config = make_config(sources=local_sources(fake), replies={"robots": [
        {"source": "relay-main", "channel": "group-a", "url": fake.robot_url("a")}]})
    client: TestClient = await aiohttp_client(create_app(config))
    router = client.app[REPLIES]
    kf = ReplyTarget(source="kf-main", platform="wecom", channel=fake.open_kfid, user_id="wm-1", reply_id="x1")
    result = await router.send(kf, "您好，已为您查询到批次信息。")
    assert result.sender == "wecom_kf" and fake.sent[0]["touser"] == "wm-1"
    await router.send(target("relay-main", "group-a"), "群里的回答")
    assert fake.robot_messages[0]["content"] == "群里的回答"


def test_bad_reply_config_fails_at_create_app(make_config: Callable[..., Config], fake: FakeWecom) -> None:
    config = make_config(sources=local_sources(fake), replies={"robots": [{"source": "ghost", "url": "https://a"}]})
    with pytest.raises(ConfigError, match="replies.robots"):
        create_app(config)


def test_config_example_section_is_valid(make_config: Callable[..., Config], fake: FakeWecom,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.chat.config_examples import example_block

    monkeypatch.setenv("LIVEBOT_ROBOT_GROUP_A", "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=k")
    replies = example_block("replies")["replies"]
    config = make_config(sources=local_sources(fake), replies=replies)
    [robot] = [r for r in plan(config) if r.kind == "wecom_robot"]
    assert (robot.source, robot.channel) == ("relay-main", "wrOgQhDgAAMYQiS5ol9G7gK9JVAAAA")
