"""Viewers' personal data: retention purge (scheduled and by command), erasure of one viewer, the export log."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import func, select, update

from livebot.app import create_app
from livebot.appkeys import DATABASE
from livebot.auth import audit
from livebot.chat.models import StoredEvent
from livebot.cli import main
from livebot.engagement.settings import EngagementSettings
from livebot.privacy.purge import pseudonym, purge_expired
from livebot.storage.base import utcnow
from tests.chat.ingest_helpers import HOSTILE, event, post_events
from tests.support import login


async def cli(argv: list[str]) -> int:
    """The command line in a thread, as from a shell (it runs its own event loop)."""
    return await asyncio.to_thread(main, argv)


def config_file(tmp_path: Path, database_url: str, extra: str = "") -> Path:
    path = tmp_path / "livebot.toml"
    path.write_text(f'[database]\nurl = "{database_url}"\n{extra}', encoding="utf-8")
    return path


async def seed(client: TestClient) -> None:
    """Two viewers, one with hostile names; the first batch is made 100 days old."""
    old = [event(user={"id": "u-old", "name": "小雨妈妈"}, text="奶源是哪里的？", raw={"openid": "o-1"}) for _ in range(3)]
    new = [event(user={"id": "u-new", "name": HOSTILE[0]}, text=HOSTILE[4]) for _ in range(2)]
    assert (await post_events(client, old + new))[0] == 202
    async with client.app[DATABASE].sessions() as session:
        await session.execute(update(StoredEvent).where(StoredEvent.user_id == "u-old")
                              .values(received_at=utcnow() - timedelta(days=100)))
        await session.commit()


async def rows(client: TestClient) -> list[StoredEvent]:
    async with client.app[DATABASE].sessions() as session:
        return list(await session.scalars(select(StoredEvent).order_by(StoredEvent.id)))


async def test_purge_forgets_old_viewers_and_keeps_counts(client: TestClient) -> None:
    await seed(client)
    purged = await purge_expired(client.app[DATABASE], 30)
    assert purged.events == 3
    stored = await rows(client)
    assert len(stored) == 5
    old = [r for r in stored if r.text == "奶源是哪里的？"]
    assert all(r.user_id == "" and r.user_name == "" and r.raw is None for r in old)
    assert all(r.user_id == "u-new" and r.user_name == HOSTILE[0] for r in stored if r not in old)
    assert (await purge_expired(client.app[DATABASE], 30)).events == 0  # idempotent
    assert (await purge_expired(client.app[DATABASE], 0)).events == 0  # 0 keeps everything


async def test_scheduled_purge_runs_when_the_service_starts(client: TestClient, aiohttp_client: Any, make_config: Any) -> None:
    await seed(client)
    second = await aiohttp_client(create_app(make_config(privacy={"retention_days": 30})))
    async with second.app[DATABASE].sessions() as session:
        left = await session.scalar(select(func.count()).where(StoredEvent.user_id == "u-old"))
        total = await session.scalar(select(func.count()).select_from(StoredEvent))
    assert left == 0 and total == 5


@pytest.mark.parametrize(("section", "key"), [({"retention_days": -1}, "privacy.retention_days"),
                                              ({"purge_interval_hours": 0}, "privacy.purge_interval_hours"),
                                              ({"retention_days": "30"}, "privacy.retention_days")])
def test_privacy_settings_errors_name_the_key(make_config: Any, section: dict[str, Any], key: str) -> None:
    from livebot.errors import ConfigError
    from livebot.privacy.settings import PrivacySettings

    with pytest.raises(ConfigError, match=key):
        make_config(privacy=section).section("privacy", PrivacySettings)


async def test_erase_one_viewer_everywhere_audited(client: TestClient, tmp_path: Path, database_url: str) -> None:
    await seed(client)
    assert await cli(["privacy", "erase", "--platform", "douyin", "--user", "u-old", "--config", str(config_file(tmp_path, database_url))]) == 0
    stored = await rows(client)
    erased = [r for r in stored if r.user_id == pseudonym("douyin", "u-old")]
    assert len(erased) == 3 and all(r.user_name == "" and r.text == "" and r.raw is None for r in erased)
    assert sum(1 for r in stored if r.user_id == "u-new") == 2
    entry = (await audit.recent(client.app[DATABASE], ("privacy.erase",)))[0]
    assert entry.detail["events"] == 3 and "u-old" not in entry.target and entry.actor.startswith("cli")


@pytest.mark.parametrize("user", ["", "x" * 129, "u\x00old"])
def test_erase_refuses_bad_ids(tmp_path: Path, database_url: str, user: str) -> None:
    assert main(["privacy", "erase", "--platform", "douyin", "--user", user, "--config", str(config_file(tmp_path, database_url))]) == 1


def test_erase_refuses_hostile_platform(tmp_path: Path, database_url: str) -> None:
    config = str(config_file(tmp_path, database_url))
    assert main(["privacy", "erase", "--platform", "<script>alert(1)</script>", "--user", "u", "--config", config]) == 1
    assert main(["privacy", "erase", "--platform", "抖\u202e音", "--user", "u", "--config", config]) == 1


async def test_purge_command_applies_retention(client: TestClient, tmp_path: Path, database_url: str) -> None:
    await seed(client)
    config = str(config_file(tmp_path, database_url, "[privacy]\nretention_days = 30\n"))
    assert await cli(["privacy", "purge", "--config", config]) == 0
    assert all(r.user_id != "u-old" for r in await rows(client))


async def test_export_pseudonymises_by_default_and_is_logged(client: TestClient, tmp_path: Path, database_url: str) -> None:
    await seed(client)
    config = str(config_file(tmp_path, database_url))
    out = tmp_path / "events.jsonl"
    assert await cli(["export", "events", "--config", config, "--output", str(out)]) == 0
    users = [json.loads(line)["user"] for line in out.read_text(encoding="utf-8").splitlines()]
    assert not any(u["id"] in ("u-old", "u-new") or u["name"] in ("小雨妈妈", HOSTILE[0]) for u in users)
    assert len({u["id"] for u in users}) == 2  # still two people
    real = tmp_path / "real.jsonl"
    assert await cli(["export", "events", "--config", config, "--output", str(real), "--real-names"]) == 0
    assert "小雨妈妈" in real.read_text(encoding="utf-8")
    log = await audit.recent(client.app[DATABASE], ("export",))
    assert [e.detail["names"] for e in log] == ["real", "pseudonymised"]
    assert log[0].detail["events"] == 5 and log[0].detail["to"] == str(real)


def test_reports_anonymise_viewers_by_default() -> None:
    assert EngagementSettings().anonymize_users is True


async def test_export_log_is_shown_to_admins_only(client: TestClient) -> None:
    await audit.record(client.app[DATABASE], "user:mk", "export", "engagement session 7", names="real", format="xlsx")
    await login(client, "admin")
    html = await (await client.get("/admin/accounts")).text()
    assert "engagement session 7" in html and "user:mk" in html


async def test_report_export_is_logged_with_who_and_what(client: TestClient) -> None:
    from tests.engagement.test_api import show_with_chat

    session_id = await show_with_chat(client)
    await login(client, "marketing", username="mk")
    resp = await client.get(f"/api/v1/engagement/sessions/{session_id}/export?format=csv&table=summary")
    assert resp.status == 200
    entry = (await audit.recent(client.app[DATABASE], ("export",)))[0]
    assert entry.actor == "user:mk" and entry.target == f"engagement session {session_id}"
    assert entry.detail == {"format": "csv", "table": "summary", "names": "anonymised"}
