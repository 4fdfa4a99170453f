"""The service as a process: the demo comes up, every role logs in, SIGTERM shuts down cleanly."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from pathlib import Path

import aiohttp
from aiohttp import web

from livebot.app import create_app
from livebot.appkeys import DATABASE
from livebot.auth.access import public
from livebot.config import Config
from tests.support import eventually, free_port, log_in, wait_healthy

DEMO_LOGINS = {"admin": ("admin", "livebot-admin", "/admin"), "producer": ("producer", "livebot-producer", "/producer"),
               "advisor": ("advisor", "livebot-advisor", "/console"), "marketing": ("marketing", "livebot-marketing", "/reports")}
FORBIDDEN = {"producer": "/reports", "advisor": "/producer", "marketing": "/console", "admin": None}


async def test_demo_serves_each_role_and_stops_on_sigterm(tmp_path: Path) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    proc = subprocess.Popen([sys.executable, "-m", "livebot", "serve", "--demo", "--port", str(port),  # noqa: ASYNC220 - a real server process
                             "--data-dir", str(tmp_path)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        await wait_healthy(base, proc)
        for role, (username, password, landing) in DEMO_LOGINS.items():
            http = await log_in(base, username, password)
            async with http:
                async with http.get(f"{base}{landing}") as resp:
                    assert resp.status == 200, role
                if FORBIDDEN[role]:
                    async with http.get(f"{base}{FORBIDDEN[role]}") as resp:
                        assert resp.status == 403, role
        proc.send_signal(signal.SIGTERM)
        output = proc.communicate(timeout=30)[0].decode()
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, output
    assert "advisor / livebot-advisor" in output
    assert f"{base}/login" in output


async def test_in_flight_request_finishes_on_shutdown(config: Config) -> None:
    app = create_app(config)
    started = asyncio.Event()

    @public
    async def slow(request: web.Request) -> web.Response:
        started.set()
        await asyncio.sleep(0.5)
        return web.Response(text="done")

    app.router.add_get("/slow", slow)
    runner = web.AppRunner(app, shutdown_timeout=5)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    async with aiohttp.ClientSession() as http:
        request = asyncio.create_task(http.get(f"http://127.0.0.1:{port}/slow"))
        await started.wait()
        await runner.cleanup()
        resp = await request
        assert resp.status == 200
        assert await resp.text() == "done"
    assert app[DATABASE].engine.pool.checkedout() == 0


def test_serve_rejects_bad_config(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text("[[sources]]\nid = 'x'\n", encoding="utf-8")
    result = subprocess.run([sys.executable, "-m", "livebot", "serve", "--config", str(path)], capture_output=True,
                            text=True, timeout=60, env={**os.environ})
    assert result.returncode == 1
    assert "sources[0].type: missing" in result.stderr


def test_serve_tunes_the_collector_once_and_only_from_defaults() -> None:
    """The GC thresholds are a process setting: ``livebot serve`` makes it, an embedded app does not."""
    import gc

    from livebot.cli import serve

    before = gc.get_threshold()
    try:
        gc.set_threshold(serve.DEFAULT_GC_THRESHOLD, 10, 10)
        assert serve.tune_gc() is True
        assert gc.get_threshold() == serve.GC_THRESHOLDS
        assert serve.tune_gc() is False  # someone (here: us) already tuned it
        gc.set_threshold(1234, 10, 10)
        assert serve.tune_gc() is False and gc.get_threshold()[0] == 1234
    finally:
        gc.set_threshold(*before)


async def test_serve_freezes_what_start_up_built(aiohttp_client) -> None:  # type: ignore[no-untyped-def]
    import gc

    from livebot.cli import serve

    app = web.Application()
    serve.freeze_after_start(app, delay=0.0)
    try:
        await aiohttp_client(app)
        await eventually(lambda: gc.get_freeze_count() > 0, interval=0.01)
        assert gc.get_freeze_count() > 1000
    finally:
        gc.unfreeze()
