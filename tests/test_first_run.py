"""A newcomer's first run: the demo on a bare install, one clear line for a missing extra, a restart on the same data."""

from __future__ import annotations

import asyncio
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import aiohttp
import pytest

from tests.support import free_port, log_in, wait_healthy
from tests.test_serve import DEMO_LOGINS

BLOCKED = ("redis", "asyncpg", "psycopg")
BARE = f"""
import sys
import time
for name in {BLOCKED!r}:
    sys.modules[name] = None  # as on a bare `pip install -e .`: importing it raises ImportError
from livebot.cli import main
sys.exit(main(sys.argv[1:]))
"""
"""Runs ``livebot ARGS`` as if the optional backends were not installed."""


def bare(*args: str) -> list[str]:
    return [sys.executable, "-c", BARE, *args]


def start(args: list[str], log: Path) -> subprocess.Popen[bytes]:
    """The server, writing to ``log`` (a file: a pipe nobody reads would fill up and stall it)."""
    with log.open("wb") as out:
        return subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT)


def stop(proc: subprocess.Popen[bytes], log: Path) -> str:
    """SIGTERM the server and return everything it wrote; it must exit cleanly."""
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=60)
    output = log.read_text(encoding="utf-8", errors="replace")
    assert proc.returncode == 0, output[-3000:]
    return output


async def test_demo_answers_healthz_without_redis_asyncpg_psycopg(tmp_path: Path) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    log = tmp_path / "demo.log"
    proc = start(bare("serve", "--demo", "--port", str(port), "--data-dir", str(tmp_path)), log)
    try:
        await wait_healthy(base, proc)
        async with aiohttp.ClientSession() as http, http.get(f"{base}/healthz") as resp:
            assert (await resp.json())["checks"] == {"storage": "ok", "bus": "ok"}
        username, password, landing = DEMO_LOGINS["advisor"]
        async with await log_in(base, username, password) as http, http.get(f"{base}{landing}") as resp:
            assert resp.status == 200
            assert "溯源直播助手" in await resp.text()
        output = stop(proc, log)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert "Traceback" not in output and "ModuleNotFoundError" not in output


@pytest.mark.parametrize(("section", "url", "extra"), [
    ("bus", "redis://127.0.0.1:6379/0", "redis"),
    ("database", "postgresql+asyncpg://postgres@127.0.0.1:5432/test", "postgres"),
    ("database", "postgres://postgres@127.0.0.1:5432/test", "postgres"),
])
def test_backend_without_its_extra_fails_at_start_with_one_line(tmp_path: Path, section: str, url: str, extra: str) -> None:
    config = tmp_path / "livebot.toml"
    config.write_text(f'[{section}]\nurl = "{url}"\n', encoding="utf-8")
    result = subprocess.run(bare("serve", "--config", str(config), "--port", str(free_port())),
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"livebot: error: {section}.url: ")
    assert f"pip install 'livebot[{extra}]'" in lines[0]


def test_other_commands_name_the_extra_too(tmp_path: Path) -> None:
    config = tmp_path / "livebot.toml"
    config.write_text('[database]\nurl = "postgresql://postgres@127.0.0.1:5432/test"\n', encoding="utf-8")
    result = subprocess.run(bare("db", "upgrade", "--config", str(config)), capture_output=True, text=True, timeout=120)
    assert result.returncode == 1
    assert result.stderr.strip() == ("livebot: error: database.url: PostgreSQL needs asyncpg and psycopg, which is not installed: "
                                     "pip install 'livebot[postgres]'")


def counts(db: Path) -> dict[str, int]:
    tables = ("users", "sites", "sessions", "segments", "channels", "chat_events", "question_cards", "faq_entries",
              "faq_entry_versions", "faq_proposals")
    with sqlite3.connect(db) as conn:
        return {table: conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0] for table in tables}


async def wait_for_cards(db: Path, limit: float = 90) -> None:
    """The replayed chat reaches the console as question cards within seconds of the start."""
    deadline = time.monotonic() + limit
    while counts(db)["question_cards"] == 0:
        assert time.monotonic() < deadline, "no question card within 90 s"
        await asyncio.sleep(0.5)


async def test_demo_restart_on_same_data_dir_keeps_chat_cards_and_logins(tmp_path: Path) -> None:
    db = tmp_path / "livebot-demo.db"
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    args = [sys.executable, "-m", "livebot", "serve", "--demo", "--port", str(port), "--data-dir", str(tmp_path)]
    proc = start(args, tmp_path / "first.log")
    try:
        await wait_healthy(base, proc)
        username, password, landing = DEMO_LOGINS["advisor"]
        advisor = await log_in(base, username, password)
        async with advisor.get(f"{base}{landing}", allow_redirects=False) as resp:
            assert resp.status in (200, 302)
        await wait_for_cards(db)
        first_output = stop(proc, tmp_path / "first.log")
        before = counts(db)
        assert before["question_cards"] > 0 and before["chat_events"] > 0

        proc = start(args, tmp_path / "second.log")
        await wait_healthy(base, proc)
        async with advisor.get(f"{base}/console/0", allow_redirects=False) as resp:
            assert resp.status == 200, "the first run's login cookie is still valid"
        await advisor.close()
        for role, (username, password, landing) in DEMO_LOGINS.items():
            async with await log_in(base, username, password) as http, http.get(f"{base}{landing}") as resp:
                assert resp.status == 200, role
        second_output = stop(proc, tmp_path / "second.log")
    finally:
        if proc.poll() is None:
            proc.kill()
    after = counts(db)
    for table in ("users", "sites", "sessions", "segments", "channels", "faq_entries", "faq_entry_versions", "faq_proposals"):
        assert after[table] == before[table], table
    assert after["chat_events"] >= before["chat_events"]
    assert after["question_cards"] >= before["question_cards"]
    for output in (first_output, second_output):
        assert "Traceback" not in output and "already exists" not in output
        assert "advisor / livebot-advisor" in output


READING_COMMANDS = (
    ["report", "1", "--format", "json", "--out", "-"],
    ["export", "events", "--format", "jsonl"],
    ["faq", "export", "--format", "toml"],
    ["engagement", "rebuild", "--session", "1"],
)


@pytest.mark.parametrize("command", READING_COMMANDS, ids=lambda c: " ".join(c[:2]))
def test_reading_commands_refuse_a_database_that_is_not_there(command: list[str], tmp_path: Path,
                                                              monkeypatch: pytest.MonkeyPatch,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    from livebot.cli import main

    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("LIVEBOT_CONFIG", raising=False)
    assert main(command) == 1
    error = capsys.readouterr().err.strip()
    assert error.startswith("livebot: error: --config: no database at 'livebot.db' to read from; pass --config FILE"), error
    assert "\n" not in error
    config = tmp_path / "livebot.toml"
    config.write_text(f'[database]\nurl = "sqlite:///{tmp_path / "gone" / "x.db"}"\n', encoding="utf-8")
    assert main([*command, "--config", str(config)]) == 1
    assert capsys.readouterr().err.startswith("livebot: error: database.url: no database at ")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["livebot.toml"], "nothing was created"


def test_reading_commands_read_an_existing_database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    from livebot.cli import main

    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("LIVEBOT_CONFIG", raising=False)
    assert main(["db", "upgrade"]) == 0  # the default ./livebot.db, as `livebot serve` without a config uses it
    capsys.readouterr()
    assert main(["export", "events", "--format", "jsonl"]) == 0
    assert capsys.readouterr().err.strip() == "exported 0 events"
