"""``livebot engagement rebuild --session ID``: recompute a session's minute figures from its stored events."""

from __future__ import annotations

import argparse
import asyncio

from livebot.cli.options import add_config_option, config_from_args
from livebot.config import Config
from livebot.engagement.rebuild import RebuildResult, rebuild
from livebot.errors import ValidationError
from livebot.storage import migrate
from livebot.storage.engine import Database, backend


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    engagement = commands.add_parser("engagement", help="engagement figures")
    sub = engagement.add_subparsers(dest="engagement_command", metavar="ACTION", required=True)
    again = sub.add_parser("rebuild", help="recompute a session's per-minute figures exactly from stored events")
    again.add_argument("--session", type=int, required=True, metavar="ID")
    add_config_option(again)
    again.set_defaults(func=rebuild_session)


async def run_rebuild(config: Config, session_id: int) -> RebuildResult:
    url = config.database.url
    if backend(url) == "sqlite":
        await migrate.upgrade(url)
    db = Database.open(url)
    try:
        return await rebuild(db, session_id)
    finally:
        await db.close()


def rebuild_session(args: argparse.Namespace) -> int:
    if args.session <= 0:
        raise ValidationError("--session", "应为正整数")
    result = asyncio.run(run_rebuild(config_from_args(args), args.session))
    print(f"session {result.session_id}: {result.events} events -> {result.rows} rows over {result.minutes} minutes")
    return 0
