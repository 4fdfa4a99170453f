"""The command line contract: --version, --help, db upgrade, user add, token create."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from livebot import __version__
from livebot.auth import store
from livebot.storage import migrate
from livebot.storage.engine import Database


def run(*args: str, stdin: str = "", config: Path | None = None) -> subprocess.CompletedProcess[str]:
    argv = [sys.executable, "-m", "livebot", *args]
    if config is not None:
        argv += ["--config", str(config)]
    return subprocess.run(argv, input=stdin, capture_output=True, text=True, timeout=120)


def write_config(tmp_path: Path, database_url: str) -> Path:
    path = tmp_path / "livebot.toml"
    path.write_text(f'[database]\nurl = "{database_url}"\n', encoding="utf-8")
    return path


def test_version() -> None:
    result = run("--version")
    assert result.returncode == 0
    assert result.stdout.strip() == f"livebot {__version__}"


@pytest.mark.parametrize("command", [["serve"], ["db", "upgrade"], ["user", "add"], ["token", "create"]])
def test_help(command: list[str]) -> None:
    result = run(*command, "--help")
    assert result.returncode == 0
    assert "usage: livebot" in result.stdout


def test_db_upgrade_from_empty(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'new' / 'fresh.db'}"
    config = write_config(tmp_path, url)
    result = run("db", "upgrade", config=config)
    assert result.returncode == 0, result.stderr
    assert migrate.current_revisions(url) == migrate.head_revisions()


def test_bad_config_names_key(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text('[server]\nport = "eighty"\n', encoding="utf-8")
    result = run("db", "upgrade", config=path)
    assert result.returncode == 1
    assert "server.port: expected an integer" in result.stderr


async def test_token_create_prints_token_last(tmp_path: Path, database_url: str) -> None:
    config = write_config(tmp_path, database_url)
    result = run("token", "create", "--role", "trace", config=config)
    assert result.returncode == 0, result.stderr
    token = result.stdout.strip().splitlines()[-1]
    assert token.startswith("lbt_") and " " not in token
    db = Database.open(database_url)
    try:
        assert await store.token_role(db, token) == ("trace", "token-1")
    finally:
        await db.close()


async def test_user_add_reads_password_from_stdin(tmp_path: Path, database_url: str) -> None:
    config = write_config(tmp_path, database_url)
    result = run("user", "add", "xiaoli", "--role", "advisor", stdin="a long password\n", config=config)
    assert result.returncode == 0, result.stderr
    db = Database.open(database_url)
    try:
        user = await store.authenticate(db, "xiaoli", "a long password")
    finally:
        await db.close()
    assert user.role == "advisor"


def test_user_add_rejects_unknown_role(tmp_path: Path, database_url: str) -> None:
    result = run("user", "add", "x", "--role", "king", config=write_config(tmp_path, database_url))
    assert result.returncode == 2
    assert "invalid choice" in result.stderr


def test_user_add_short_password(tmp_path: Path, database_url: str) -> None:
    result = run("user", "add", "x", "--role", "advisor", stdin="short\n", config=write_config(tmp_path, database_url))
    assert result.returncode == 1
    assert "password: must be at least 8 characters" in result.stderr
