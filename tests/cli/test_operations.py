"""Operator commands end to end: users, tokens, backup and a restore that ``livebot serve`` starts on."""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import aiohttp
from sqlalchemy import func, select

from livebot.auth import audit, store
from livebot.chat.models import StoredEvent
from livebot.storage import migrate
from livebot.storage.engine import Database
from tests.cli.test_commands import run, write_config
from tests.support import PASSWORD, free_port, log_in, wait_healthy


async def seeded(database_url: str) -> Database:
    migrate.upgrade_sync(database_url)
    db = Database.open(database_url)
    await store.add_user(db, "li", PASSWORD, "advisor")
    return db


async def test_user_disable_enable_reset_password(tmp_path: Path, database_url: str) -> None:
    db = await seeded(database_url)
    config = write_config(tmp_path, database_url)
    try:
        assert run("user", "disable", "li", config=config).returncode == 0
        assert (await store.user_by_name(db, "li")).disabled
        assert run("user", "enable", "li", config=config).returncode == 0
        assert not (await store.user_by_name(db, "li")).disabled
        result = run("user", "reset-password", "li", stdin="another long password\n", config=config)
        assert result.returncode == 0, result.stderr
        assert (await store.authenticate(db, "li", "another long password")).username == "li"
        assert run("user", "reset-password", "li", stdin="short\n", config=config).returncode == 1
        missing = run("user", "disable", "nobody", config=config)
        assert missing.returncode == 1 and "nobody" in missing.stderr
        actions = [e.action for e in await audit.recent(db)]
        assert actions == ["user.reset-password", "user.enable", "user.disable"]
        listing = run("user", "list", config=config)
        assert "li\tadvisor\tactive" in listing.stdout
    finally:
        await db.close()


async def test_token_list_and_revoke(tmp_path: Path, database_url: str) -> None:
    db = await seeded(database_url)
    config = write_config(tmp_path, database_url)
    try:
        token = await store.create_token(db, "trace", "<script>mes</script>")
        listing = run("token", "list", config=config)
        assert listing.returncode == 0 and "trace" in listing.stdout and token not in listing.stdout
        token_id = listing.stdout.split("\t", 1)[0]
        assert run("token", "revoke", token_id, config=config).returncode == 0
        assert await store.token_role(db, token) is None
        assert "revoked" in run("token", "list", config=config).stdout
        assert run("token", "revoke", "999999", config=config).returncode == 1
        assert run("token", "revoke", "not-a-number", config=config).returncode == 2
    finally:
        await db.close()


async def test_backup_restores_to_a_database_serve_starts_on(tmp_path: Path) -> None:
    from tests.chat.ingest_helpers import body_of, event

    live = tmp_path / "live.db"
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    config = tmp_path / "live.toml"
    config.write_text(f'[database]\nurl = "sqlite:///{live}"\n[auth]\nsession_secret = "x"\n'
                      '[[sources]]\nid = "test-hook"\ntype = "webhook"\nsecret = "test-webhook-secret"\n', encoding="utf-8")
    proc = subprocess.Popen([sys.executable, "-m", "livebot", "serve", "--config", str(config), "--port", str(port)],  # noqa: ASYNC220
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    from livebot.chat import signing

    try:
        await wait_healthy(base, proc)
        async with aiohttp.ClientSession() as http:
            for _ in range(5):
                body = body_of([event() for _ in range(40)])
                async with http.post(f"{base}/api/v1/ingest/test-hook", data=body,
                                     headers=signing.signed_headers("test-webhook-secret", body)) as resp:
                    assert resp.status == 202
        out = tmp_path / "backup.db"
        result = run("db", "backup", "--out", str(out), config=config)  # while the service runs
        assert result.returncode == 0, result.stderr
        assert run("db", "backup", "--out", str(out), config=config).returncode == 1  # never overwrites
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=30)
    restored = tmp_path / "restored.db"
    out.rename(restored)
    with sqlite3.connect(restored) as conn:
        assert conn.execute("SELECT count(*) FROM chat_events").fetchone()[0] == 200
    config.write_text(config.read_text().replace(str(live), str(restored)), encoding="utf-8")
    run("user", "add", "boss", "--role", "admin", stdin=PASSWORD + "\n", config=config)
    proc = subprocess.Popen([sys.executable, "-m", "livebot", "serve", "--config", str(config), "--port", str(port)],  # noqa: ASYNC220
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        await wait_healthy(base, proc)
        http = await log_in(base, "boss", PASSWORD)
        async with http:
            async with http.get(f"{base}/api/v1/me") as resp:
                assert resp.status == 200
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=30)
    db = Database.open(f"sqlite:///{restored}")
    try:
        async with db.sessions() as session:
            assert await session.scalar(select(func.count()).select_from(StoredEvent)) == 200
    finally:
        await db.close()


def test_backup_on_postgresql_points_to_pg_dump(tmp_path: Path) -> None:
    config = write_config(tmp_path, "postgresql://postgres@127.0.0.1:5432/none")
    result = run("db", "backup", "--out", str(tmp_path / "x"), config=config)
    assert result.returncode == 1 and "pg_dump" in result.stderr


def test_backup_refuses_missing_database(tmp_path: Path) -> None:
    config = write_config(tmp_path, f"sqlite:///{tmp_path / 'absent.db'}")
    result = run("db", "backup", "--out", str(tmp_path / "x.db"), config=config)
    assert result.returncode == 1 and "no database file" in result.stderr
