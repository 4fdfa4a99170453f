"""``livebot engagement rebuild|import-platform|corrections``: recompute figures; import platform totals; export sentiment corrections."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TypeVar

from livebot.cli.options import add_config_option, config_with_data, opened_database
from livebot.config import Config
from livebot.engagement import corrections
from livebot.engagement.platform_totals import FIELDS, PlatformTotals, import_file
from livebot.engagement.rebuild import rebuild
from livebot.engagement.settings import EngagementSettings
from livebot.errors import ValidationError
from livebot.storage.engine import Database

T = TypeVar("T")


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    engagement = commands.add_parser("engagement", help="engagement figures")
    sub = engagement.add_subparsers(dest="engagement_command", metavar="ACTION", required=True)
    again = sub.add_parser("rebuild", help="recompute a session's per-minute figures exactly from stored events")
    again.add_argument("--session", type=int, required=True, metavar="ID")
    add_config_option(again)
    again.set_defaults(func=rebuild_session)
    platform = sub.add_parser("import-platform", help="import a platform's exported figures (CSV or xlsx) for a session")
    platform.add_argument("file", type=Path, metavar="FILE")
    platform.add_argument("--session", type=int, required=True, metavar="ID")
    platform.add_argument("--platform", required=True, help="douyin, kuaishou, channels, bilibili, taobao …")
    add_config_option(platform)
    platform.set_defaults(func=import_platform)
    fixes = sub.add_parser("corrections", help="a session's sentiment corrections as {text, label} lines for livebot.sentiment.learned")
    fixes.add_argument("--session", type=int, required=True, metavar="ID")
    fixes.add_argument("--out", type=Path, metavar="FILE", help="write here instead of standard output")
    add_config_option(fixes)
    fixes.set_defaults(func=export_corrections)


def session_of(args: argparse.Namespace) -> int:
    if args.session <= 0:
        raise ValidationError("--session", "应为正整数")
    return int(args.session)


def on_database(args: argparse.Namespace, work: Callable[[Database, Config], Awaitable[T]]) -> T:
    """Run ``work`` on the database of the command's config (which must hold stored data)."""
    config = config_with_data(args)

    async def run() -> T:
        async with opened_database(config) as db:
            return await work(db, config)

    return asyncio.run(run())


def rebuild_session(args: argparse.Namespace) -> int:
    session_id = session_of(args)
    result = on_database(args, lambda db, _: rebuild(db, session_id))
    print(f"session {result.session_id}: {result.events} events -> {result.rows} rows over {result.minutes} minutes")
    return 0


def import_platform(args: argparse.Namespace) -> int:
    session_id = session_of(args)
    try:
        raw = args.file.read_bytes()
    except OSError as err:
        raise ValidationError(str(args.file), f"无法读取：{err.strerror}") from err

    def work(db: Database, config: Config) -> Awaitable[PlatformTotals]:
        columns = config.section("engagement", EngagementSettings).platform_columns
        return import_file(db, session_id, args.platform, raw, args.file.name, "cli", columns)

    found = on_database(args, work)
    figures = ", ".join(f"{FIELDS[k]} {v}" for k, v in found.values.items())
    print(f"session {session_id} {found.platform}: {found.rows} rows -> {figures}")
    return 0


def export_corrections(args: argparse.Namespace) -> int:
    session_id = session_of(args)

    async def work(db: Database, _: Config) -> bytes:
        return corrections.training_lines(await corrections.corrections(db, session_id))

    lines = on_database(args, work)
    if args.out is None:
        sys.stdout.write(lines.decode("utf-8"))
        return 0
    try:
        args.out.write_bytes(lines)
    except OSError as err:
        raise ValidationError(str(args.out), f"无法写入：{err.strerror}") from err
    count = lines.count(b"\n")
    print(f"session {session_id}: {count} corrections -> {args.out}", file=sys.stderr)
    return 0
