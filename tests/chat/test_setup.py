"""The source registry, per-source settings, route dispatch by id, and the API description."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from livebot.app import create_app
from livebot.auth.access import ACCESS_ATTR, CSRF_EXEMPT_ATTR
from livebot.chat.sources.registry import SOURCE_TYPES, build_sources, source_class
from livebot.config import Config, SourceSettings, config_from_mapping
from livebot.errors import ConfigError
from tests.fakes.sink import RecordingSink


def test_unknown_type_names_the_key_and_the_choices() -> None:
    with pytest.raises(ConfigError) as info:
        build_sources((SourceSettings("a", "webhook", {"secret": "x"}), SourceSettings("b", "weibo")), RecordingSink())
    assert str(info.value) == (
        "sources[1].type: unknown source type 'weibo' (one of bilibili, douyin, replay, webhook, wecom_kf)"
    )


def test_unknown_type_fails_at_app_creation() -> None:
    config = config_from_mapping({"sources": [{"id": "x", "type": "kuaishou"}]})
    with pytest.raises(ConfigError, match=r"sources\[0\].type: unknown source type 'kuaishou'"):
        create_app(config)


def test_types_are_imported_lazily_and_named_consistently() -> None:
    for name in ("webhook", "douyin", "replay"):
        assert source_class(name, 0).type_name == name
    assert set(SOURCE_TYPES) >= {"webhook", "douyin", "replay", "bilibili", "wecom_kf"}


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({}, "sources[0].secret: missing"),
        ({"secret": ""}, "sources[0].secret: must not be empty"),
        ({"secret": 5}, "sources[0].secret: expected a string"),
        ({"secret": "x", "reply_url": "ftp://x"}, "sources[0].reply_url: must be an http"),
        ({"secret": "x", "colour": "red"}, "sources[0].colour: unknown key"),
        ({"secret_env": "LIVEBOT_TEST_NOT_SET_ANYWHERE"}, "sources[0].secret_env: environment variable"),
    ],
)
def test_webhook_settings_errors_name_the_key(options: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError) as info:
        build_sources((SourceSettings("hook", "webhook", options),), RecordingSink())
    assert str(info.value).startswith(message), str(info.value)


def test_webhook_secret_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LIVEBOT_TEST_HOOK_SECRET", "from-env")
    sources = build_sources((SourceSettings("hook", "webhook", {"secret_env": "LIVEBOT_TEST_HOOK_SECRET",
                                                               "reply_url": "https://relay.example/answers"}),),
                            RecordingSink())
    assert sources["hook"].options.secret == "from-env"
    assert sources["hook"].options.reply_url == "https://relay.example/answers"


@pytest.fixture
def every_type_config(make_config: Callable[..., Config], tmp_path: Path) -> Config:
    path = tmp_path / "t.jsonl"
    path.write_text("", encoding="utf-8")
    return make_config(sources=[
        {"id": "hook-a", "type": "webhook", "secret": "a"},
        {"id": "hook-b", "type": "webhook", "secret": "b"},
        {"id": "dy", "type": "douyin", "secret": "d"},
        {"id": "rp", "type": "replay", "file": str(path)},
    ])


def test_routes_are_registered_once_per_type_and_declare_access(every_type_config: Config) -> None:
    app = create_app(every_type_config)
    paths = [(r.method, r.resource.canonical) for r in app.router.routes() if r.resource is not None
             and r.resource.canonical.startswith(("/api/v1/ingest", "/api/v1/sources/{source_id}/douyin"))]
    assert sorted(paths) == [("POST", "/api/v1/ingest/{source_id}"), ("POST", "/api/v1/sources/{source_id}/douyin")]
    for route in app.router.routes():
        if route.resource is not None and route.resource.canonical in dict(paths).values():
            assert getattr(route.handler, ACCESS_ATTR) == "public"
            assert getattr(route.handler, CSRF_EXEMPT_ATTR) is True


async def test_api_document_matches_the_routes_with_every_type(aiohttp_client: Any, every_type_config: Config) -> None:
    client = await aiohttp_client(create_app(every_type_config))
    doc = await (await client.get("/api/v1/openapi.json")).json()
    routed = {(r.resource.canonical, r.method.lower()) for r in client.app.router.routes()
              if r.resource is not None and r.resource.canonical.startswith("/api/") and r.method not in ("HEAD", "OPTIONS")}
    documented = {(path, method) for path, ops in doc["paths"].items() for method in ops}
    assert routed == documented


async def test_each_webhook_source_checks_its_own_secret(aiohttp_client: Any, every_type_config: Config) -> None:
    from tests.chat.ingest_helpers import body_of, event, post_signed

    client = await aiohttp_client(create_app(every_type_config))
    body = body_of([event()])
    assert (await post_signed(client, body, source="hook-a", secret="a"))[0] == 202
    assert (await post_signed(client, body, source="hook-b", secret="a"))[0] == 401
    assert (await post_signed(client, body, source="hook-b", secret="b")) == (202, {"accepted": 1, "duplicates": 0})
    assert (await post_signed(client, body, source="dy", secret="d"))[0] == 404


def test_dispatcher_is_a_plain_handler(every_type_config: Config) -> None:
    app = create_app(every_type_config)
    handlers = [r.handler for r in app.router.routes() if r.resource is not None
                and r.resource.canonical == "/api/v1/ingest/{source_id}"]
    assert len(handlers) == 1
    assert not isinstance(handlers[0], web.View)


@pytest.mark.parametrize("name", ["chat", "moderation", "douyin", "replay"])
def test_config_example_blocks_are_valid(name: str, tmp_path: Path) -> None:
    from livebot.chat.settings import ChatSettings, ModerationSettings
    from tests.chat.config_examples import example_block

    block = example_block(name)
    if name in ("chat", "moderation"):
        config = config_from_mapping(block)
        config.section("chat", ChatSettings)
        config.section("moderation", ModerationSettings)
        assert block[name]
        return
    [raw] = block["sources"]
    options = {k: v for k, v in raw.items() if k not in ("id", "type") and not k.endswith("_env")}
    if name == "douyin":
        options["secret"] = "x"
    else:
        path = tmp_path / "t.jsonl"
        path.write_text("", encoding="utf-8")
        options["file"] = str(path)
    build_sources((SourceSettings(raw["id"], raw["type"], options),), RecordingSink())
