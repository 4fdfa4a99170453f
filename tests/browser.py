"""Shared Playwright fixtures: one headless Chromium per test run, real servers on 127.0.0.1.

Use in a test module::

    from tests.browser import login_page   # fixtures browser, live_server come from tests/conftest.py

    pytestmark = pytest.mark.browser

    async def test_page(browser, live_server, config):
        server = await live_server(config)
        context = await browser.new_context()
        page = await context.new_page()
        await login_page(page, server.url, "li", PASSWORD)

Why this shape: pytest-asyncio gives each test its own event loop, and Playwright objects are
bound to the loop that made them, so a session-scoped Playwright ``Browser`` cannot serve
function-scoped async tests. The Chromium *process* is therefore launched once per session
(``chromium_endpoint``, with a DevTools port on 127.0.0.1) and each test connects to it over
CDP from its own loop (``browser``), which costs a fraction of a launch. Contexts a test opens
are closed when it disconnects, so tests stay isolated (separate cookies and storage).
"""

from __future__ import annotations

import asyncio
import json
import shutil
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from playwright.async_api import Browser, Page, async_playwright

from livebot.app import create_app
from livebot.config import Config

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
    "--disable-sync", "--no-first-run", "--no-default-browser-check", "--disable-dev-shm-usage",
    "--disable-features=Translate,MediaRouter", "--mute-audio",
]
SCREENSHOTS = Path(__file__).resolve().parents[1] / "docs" / "screenshots"


def free_port() -> int:
    """A TCP port on 127.0.0.1 nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for_devtools(port: int, proc: subprocess.Popen[bytes], limit: float = 30.0) -> str:
    """The browser's websocket debugger URL once Chromium answers on its DevTools port."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"chromium exited early with {proc.returncode}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/version", timeout=1) as resp:
                return str(json.load(resp)["webSocketDebuggerUrl"])
        except (urllib.error.URLError, ConnectionError, OSError):
            time.sleep(0.1)
    raise RuntimeError("chromium DevTools did not answer within 30 s")


@pytest.fixture(scope="session")
def chromium_endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Launch /usr/bin/chromium headless once per test run; yields its CDP endpoint URL."""
    if not Path(CHROMIUM).exists():
        raise RuntimeError(f"{CHROMIUM} is missing: apt-get install -y chromium")
    port = free_port()
    profile = tmp_path_factory.mktemp("chromium-profile")
    proc = subprocess.Popen(
        [CHROMIUM, "--headless=new", f"--remote-debugging-port={port}", "--remote-debugging-address=127.0.0.1",
         f"--user-data-dir={profile}", *CHROMIUM_ARGS, "about:blank"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        wait_for_devtools(port, proc)
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)
        shutil.rmtree(profile, ignore_errors=True)


@pytest.fixture
async def browser(chromium_endpoint: str) -> AsyncIterator[Browser]:
    """The session's Chromium, connected from this test's event loop."""
    async with async_playwright() as playwright:
        connected = await playwright.chromium.connect_over_cdp(chromium_endpoint)
        try:
            yield connected
        finally:
            for context in connected.contexts[1:]:  # [0] is the process's default context
                await context.close()
            await connected.close()


@dataclass
class LiveServer:
    """A real ``create_app(config)`` listening on 127.0.0.1 in the test's loop."""

    app: web.Application
    runner: web.AppRunner
    port: int
    stopped: bool = field(default=False)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def stop(self) -> None:
        """Shut the server down like a process stop (cleanup contexts run, sockets close)."""
        if not self.stopped:
            self.stopped = True
            await self.runner.cleanup()


async def start_server(config: Config, port: int | None = None, app: web.Application | None = None) -> LiveServer:
    """Run ``app`` (default ``create_app(config)``) on 127.0.0.1:``port`` (default: a free port)."""
    app = app if app is not None else create_app(config)
    runner = web.AppRunner(app, handle_signals=False, access_log=None, shutdown_timeout=2.0)
    await runner.setup()
    port = port or free_port()
    site = web.TCPSite(runner, "127.0.0.1", port, reuse_address=True)
    await site.start()
    return LiveServer(app=app, runner=runner, port=port)


@pytest.fixture
async def live_server(database_url: str) -> AsyncIterator[Callable[..., Awaitable[LiveServer]]]:
    """``await live_server(config, port=None, app=None)`` starts a server; all stop at teardown.

    It depends on ``database_url`` so that servers stop before the test database is dropped.
    """
    servers: list[LiveServer] = []

    async def start(config: Config, port: int | None = None, app: web.Application | None = None) -> LiveServer:
        server = await start_server(config, port=port, app=app)
        servers.append(server)
        return server

    yield start
    for server in reversed(servers):
        await server.stop()


async def login_page(page: Page, base_url: str, username: str, password: str, next_path: str = "/") -> None:
    """Log ``page`` in through the real login form and wait for the landing page."""
    await page.goto(f"{base_url}/login?next={next_path}")
    await page.fill("input[name=username]", username)
    await page.fill("input[name=password]", password)
    async with page.expect_navigation():
        await page.click("button[type=submit]")
    if "/login" in page.url.split("?", 1)[0]:
        raise AssertionError(f"login failed for {username}: still on {page.url}")


async def save_screenshot(page: Page, name: str) -> Path:
    """Save ``docs/screenshots/<name>.png`` (keep it small: viewport only)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    await page.screenshot(path=str(path), full_page=False)
    return path


async def wait_until(predicate: Callable[[], Awaitable[bool]], timeout: float = 5.0, interval: float = 0.05) -> None:
    """Poll an async condition (for server-side effects a page cannot wait on)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not await predicate():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(interval)


class Dialogs:
    """Answers a page's confirm()/alert() dialogs: records each message, accepts only while ``accept`` is True."""

    def __init__(self, page: Page) -> None:
        self.messages: list[str] = []
        self.accept = False
        page.on("dialog", self.answer)

    def answer(self, dialog: Any) -> None:
        self.messages.append(dialog.message)
        asyncio.ensure_future(dialog.accept() if self.accept else dialog.dismiss())
