"""``livebot trace import FILE``: same rules as the API, large files without blocking the loop."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

import orjson
import pytest

from livebot.cli import main
from livebot.cli.trace import import_file
from livebot.config import config_from_mapping
from livebot.storage.engine import Database
from livebot.trace import facts
from livebot.trace.settings import TraceSettings
from tests.trace.support import CHAIN_LOT, EPCIS, big_document


def write_config(tmp_path: Path, database_url: str) -> Path:
    path = tmp_path / "livebot.toml"
    path.write_text(f'[database]\nurl = "{database_url}"\n[trace]\npromise_minutes = 120\n', encoding="utf-8")
    return path


def test_import_command_prints_the_result_and_is_idempotent(tmp_path: Path, database_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    config = write_config(tmp_path, database_url)
    file = str(EPCIS / "dairy_chain.jsonld")
    assert main(["trace", "import", file, "--config", str(config)]) == 0
    first = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert (first["stored"], first["duplicates"]) == (19, 0) and CHAIN_LOT in first["lots"]
    assert main(["trace", "import", file, "--config", str(config)]) == 0
    second = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert (second["stored"], second["duplicates"]) == (0, 19)


def test_import_command_rejects_bad_documents(tmp_path: Path, database_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    config = str(write_config(tmp_path, database_url))
    assert main(["trace", "import", str(EPCIS / "missing_tz_offset.jsonld"), "--config", config]) == 1
    body = json.loads(capsys.readouterr().out.strip())
    assert (body["event_index"], body["field"]) == (2, "eventTimeZoneOffset")
    assert main(["trace", "import", str(EPCIS / "malformed.json"), "--config", config]) == 1
    assert "malformed JSON" in capsys.readouterr().err
    assert main(["trace", "import", str(tmp_path / "missing.json"), "--config", config]) == 1


@pytest.mark.slow
async def test_a_large_file_does_not_block_the_event_loop(tmp_path: Path, database_url: str) -> None:
    path = tmp_path / "season.jsonld"
    path.write_bytes(orjson.dumps(big_document(1000)))
    assert path.stat().st_size > 10 * 1024 * 1024
    config = config_from_mapping({"database": {"url": database_url}})
    gaps: list[float] = []
    done = asyncio.Event()

    async def heartbeat() -> None:
        last = time.perf_counter()
        while not done.is_set():
            await asyncio.sleep(0.01)
            now = time.perf_counter()
            gaps.append(now - last)
            last = now

    beat = asyncio.create_task(heartbeat())
    started = time.perf_counter()
    result = await import_file(config, path)
    took = time.perf_counter() - started
    done.set()
    await beat
    assert result.stored == 1000 * 19
    assert len(gaps) > 20
    # Inline, the loop would stall for most of the import; a loaded machine stretches everything alike.
    assert max(gaps) < max(1.0, 0.1 * took), f"event loop blocked for {max(gaps):.2f} s of {took:.1f} s"
    db = Database.open(database_url)
    try:
        summary = await facts.batch_summary(db, "QH2026000999B", TraceSettings())
    finally:
        await db.close()
    assert summary is not None and summary["minutes_to_processing"] == 105
