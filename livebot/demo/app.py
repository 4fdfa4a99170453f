"""Build the demo app: a SQLite file in its data folder (resumed on restart), demo sources, seeded data and printed logins."""

from __future__ import annotations

import dataclasses
import secrets
import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

from aiohttp import web

from livebot.app import create_app
from livebot.config import AuthSettings, Config, DatabaseSettings, ServerSettings, SourceSettings
from livebot.demo import seed

Seeder = Callable[[web.Application], Awaitable[list[str]]]
DEMO_SECRET = "demo-relay-secret"


def demo_seeders() -> list[Seeder]:
    """Each area's demo seeder, in order; each returns lines to print (URLs, hints)."""
    from livebot.demo import chat, console, engagement, faq, overlays, schedule, trace

    return [seed.seed_core, trace.seed, overlays.seed, schedule.seed, faq.seed, chat.seed, console.seed, engagement.seed]


def session_secret(folder: Path) -> str:
    """The demo's cookie secret, kept beside its database so a restart keeps people logged in."""
    path = folder / "session-secret"
    kept = path.read_text(encoding="ascii").strip() if path.exists() else ""
    if not kept:
        kept = secrets.token_urlsafe(24)
        path.write_text(kept, encoding="ascii")
        path.chmod(0o600)
    return kept


def demo_config(base: Config | None, host: str | None, port: int | None, data_dir: str | None) -> Config:
    folder = Path(data_dir) if data_dir else Path(tempfile.mkdtemp(prefix="livebot-demo-"))
    folder.mkdir(parents=True, exist_ok=True)
    base = base or Config()
    server = dataclasses.replace(base.server, host=host or base.server.host, port=port or base.server.port)
    sources = base.sources or (
        SourceSettings(id="demo-relay", type="webhook", options={"secret": DEMO_SECRET}),
        SourceSettings(id="demo-replay", type="replay",
                       options={"generated": True, "loop": True, "as_source": "demo-relay", "start_delay_seconds": 3.0}),
    )
    return dataclasses.replace(
        base,
        server=ServerSettings(**{**dataclasses.asdict(server)}),
        database=DatabaseSettings(url=f"sqlite:///{folder / 'livebot-demo.db'}"),
        auth=AuthSettings(session_secret=session_secret(folder)),
        sources=sources,
    )


def demo_app(base: Config | None, host: str | None, port: int | None, data_dir: str | None) -> tuple[Config, web.Application]:
    config = demo_config(base, host, port, data_dir)
    app = create_app(config)
    from livebot.demo import console

    console.add_robot(app)

    async def seed_ctx(app: web.Application) -> AsyncIterator[None]:
        lines: list[str] = []
        for seeder in demo_seeders():
            lines += await seeder(app)
        print("\n".join(["", "livebot 演示已启动 / demo is running", *lines, ""]), flush=True)
        yield

    app.cleanup_ctx.append(seed_ctx)
    return config, app
