"""``livebot report SESSION_ID --format html|csv|json|xlsx --out FILE``: a session's report as a file.

An ended session's stored report is used unless ``--fresh``; otherwise the report is built
from the stored minute rows (rebuilt from the events first with ``--rebuild``, or when the
session has events but no rows yet, e.g. after an import).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

from livebot.cli.options import add_config_option, config_with_data, opened_database
from livebot.config import Config
from livebot.engagement import exports, store
from livebot.engagement.rebuild import rebuild
from livebot.engagement.report import build_report
from livebot.engagement.settings import EngagementSettings
from livebot.errors import ValidationError
from livebot.schedule import api_internal as schedule


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    report = commands.add_parser("report", help="write a session's engagement report to a file")
    report.add_argument("session_id", type=int, metavar="SESSION_ID")
    report.add_argument("--format", choices=exports.FORMATS, required=True)
    report.add_argument("--out", required=True, help="file to write ('-' for standard output)")
    report.add_argument("--table", choices=exports.CSV_TABLES, default="minutes",
                        help="CSV only: which table (default: minutes = minute × platform × site × segment)")
    report.add_argument("--fresh", action="store_true", help="ignore the report stored when the session ended")
    report.add_argument("--rebuild", action="store_true", help="recompute the minute rows from stored events first")
    add_config_option(report)
    report.set_defaults(func=write_report)


async def report_bytes(config: Config, session_id: int, fmt: str, table: str, fresh: bool, rebuild_first: bool) -> bytes:
    settings = config.section("engagement", EngagementSettings)
    async with opened_database(config) as db:
        session = await schedule.get_session(db, session_id)
        stored = None if fresh or rebuild_first or session.status != "ended" else await store.get_report(db, session_id)
        if stored is not None and stored.data:
            data = stored.data
        else:
            if rebuild_first or not await store.minute_rows(db, session_id, with_keys=False):
                await rebuild(db, session_id)
            data = await build_report(db, session_id, settings)
        return exports.render(data, fmt, table)


def write_report(args: argparse.Namespace) -> int:
    if args.session_id <= 0:
        raise ValidationError("SESSION_ID", "应为正整数")
    body = asyncio.run(report_bytes(config_with_data(args), args.session_id, args.format, args.table, args.fresh,
                                    args.rebuild))
    if args.out == "-":
        sys.stdout.buffer.write(body)
        sys.stdout.buffer.flush()
    else:
        Path(args.out).write_bytes(body)
        print(f"wrote {args.out} ({len(body)} bytes)", file=sys.stderr)
    return 0
