"""The overlay demo seeder and the ``[overlays]`` config section."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from livebot.app import create_app
from livebot.appkeys import DATABASE
from livebot.config import Config
from livebot.demo import overlays as demo
from livebot.errors import ConfigError
from livebot.overlays.keys import OVERLAY_SERVICE, OVERLAY_SETTINGS
from livebot.overlays.service import SessionOverlay
from tests.overlays.support import make_session
from tests.support import eventually


async def test_demo_seed_prints_working_obs_urls(client: TestClient) -> None:
    session_id, site_ids = await make_session(client.app[DATABASE])
    lines = await demo.seed(client.app)
    text = "\n".join(lines)
    program = re.search(rf"http://\S+/overlay/{session_id}/program\?token=(ovl_\S+)", text)
    assert program is not None and "批次溯源卡" in text and f"/overlays/{session_id}" in text
    token = program.group(1)
    assert (await client.get(f"/overlay/{session_id}/program?token={token}")).status == 200
    service = client.app[OVERLAY_SERVICE]

    def driven() -> SessionOverlay | None:
        overlay = service.sessions.get(session_id)
        return overlay if overlay and overlay.control["countdown"] and overlay.control["site_id"] else None

    overlay = await eventually(driven)
    assert overlay is not None
    assert overlay.control["countdown"]["title"] == "工厂车间直连" and overlay.control["site_id"] == site_ids[0]
    assert len(service.tasks) == 1  # the scene driver, cancelled when the app stops


async def test_demo_seed_without_a_live_session(client: TestClient) -> None:
    assert await demo.seed(client.app) == ["  叠加层 / overlays: 没有直播中的场次"]


def test_overlay_settings_are_read_and_checked(make_config: Callable[..., Config]) -> None:
    app = create_app(make_config(overlays={"heartbeat_seconds": 5, "ticker_size": 3}))
    assert app[OVERLAY_SETTINGS].heartbeat_seconds == 5.0 and app[OVERLAY_SETTINGS].ticker_size == 3
    bad: list[tuple[dict[str, Any], str]] = [
        ({"heartbeat_seconds": 0}, "overlays.heartbeat_seconds"),
        ({"max_frames_per_second": 100}, "overlays.max_frames_per_second"),
        ({"ticker_size": "8"}, "overlays.ticker_size"),
        ({"nope": 1}, "overlays.nope"),
    ]
    for section, key in bad:
        with pytest.raises(ConfigError) as err:
            create_app(make_config(overlays=section))
        assert err.value.key == key
