"""``livebot engagement rebuild|import-platform|corrections``: recompute figures; import platform totals; export sentiment corrections."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

from livebot.cli.options import add_config_option, config_with_data
from livebot.config import Config
from livebot.engagement import corrections
from livebot.engagement.platform_totals import FIELDS, PlatformTotals, import_file
from livebot.engagement.rebuild import RebuildResult, rebuild
from livebot.engagement.settings import EngagementSettings
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
    result = asyncio.run(run_rebuild(config_with_data(args), args.session))
    print(f"session {result.session_id}: {result.events} events -> {result.rows} rows over {result.minutes} minutes")
    return 0


async def run_import(config: Config, args: argparse.Namespace, raw: bytes) -> PlatformTotals:
    url = config.database.url
    if backend(url) == "sqlite":
        await migrate.upgrade(url)
    db = Database.open(url)
    try:
        columns = config.section("engagement", EngagementSettings).platform_columns
        return await import_file(db, args.session, args.platform, raw, args.file.name, "cli", columns)
    finally:
        await db.close()


def import_platform(args: argparse.Namespace) -> int:
    if args.session <= 0:
        raise ValidationError("--session", "应为正整数")
    try:
        raw = args.file.read_bytes()
    except OSError as err:
        raise ValidationError(str(args.file), f"无法读取：{err.strerror}") from err
    found = asyncio.run(run_import(config_with_data(args), args, raw))
    figures = ", ".join(f"{FIELDS[k]} {v}" for k, v in found.values.items())
    print(f"session {args.session} {found.platform}: {found.rows} rows -> {figures}")
    return 0


async def run_corrections(config: Config, session_id: int) -> bytes:
    url = config.database.url
    if backend(url) == "sqlite":
        await migrate.upgrade(url)
    db = Database.open(url)
    try:
        return corrections.training_lines(await corrections.corrections(db, session_id))
    finally:
        await db.close()


def export_corrections(args: argparse.Namespace) -> int:
    if args.session <= 0:
        raise ValidationError("--session", "应为正整数")
    lines = asyncio.run(run_corrections(config_with_data(args), args.session))
    if args.out is None:
        sys.stdout.write(lines.decode("utf-8"))
        return 0
    try:
        args.out.write_bytes(lines)
    except OSError as err:
        raise ValidationError(str(args.out), f"无法写入：{err.strerror}") from err
    count = lines.count(b"\n")
    print(f"session {args.session}: {count} corrections -> {args.out}", file=sys.stderr)
    return 0
