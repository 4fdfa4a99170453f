"""``livebot trace import FILE``: import an EPCIS 2.0 document (JSON-LD or XML, decided by content) from a file (no size limit)."""

from __future__ import annotations

import argparse
import asyncio
import json
from pathlib import Path

from livebot.bus.factory import open_bus
from livebot.cli.options import add_config_option, config_from_args
from livebot.config import Config
from livebot.errors import ValidationError
from livebot.storage import migrate
from livebot.storage.engine import backend
from livebot.topics import TRACE_UPDATED, TraceUpdated
from livebot.trace.errors import EventConflict, InvalidEvent
from livebot.trace.importer import ImportResult
from livebot.trace.service import import_epcis_file
from livebot.trace.settings import TraceSettings


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    trace = commands.add_parser("trace", help="traceability data")
    sub = trace.add_subparsers(dest="trace_command", metavar="ACTION", required=True)
    load = sub.add_parser("import", help="import a GS1 EPCIS document, JSON-LD or XML by its content (all or nothing)")
    load.add_argument("file", type=Path, help="the EPCIS document")
    add_config_option(load)
    load.set_defaults(func=import_command)


async def import_file(config: Config, path: Path) -> ImportResult:
    """Import ``path`` into the configured database and tell running instances (``trace.updated``)."""
    url = config.database.url
    if backend(url) == "sqlite":
        await migrate.upgrade(url)
    result = await import_epcis_file(url, path, config.section("trace", TraceSettings))
    if result.lots and not config.bus.url.startswith("memory://"):
        bus = open_bus(config.bus)
        await bus.start()
        try:
            await bus.publish(TRACE_UPDATED, TraceUpdated(lots=list(result.lots), gtins=list(result.gtins)))
        finally:
            await bus.close()
    return result


def import_command(args: argparse.Namespace) -> int:
    config = config_from_args(args)
    if not args.file.is_file():
        raise ValidationError("file", f"{args.file} is not a file")
    try:
        result = asyncio.run(import_file(config, args.file))
    except (InvalidEvent, EventConflict) as err:
        print(json.dumps(err.as_dict(), ensure_ascii=False))
        return 1
    print(json.dumps(result.as_dict(), ensure_ascii=False))
    return 0
