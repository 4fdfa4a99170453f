"""``livebot export events``: every stored chat event as JSON lines or CSV, streamed.

JSON lines carry the event in the webhook's shape (``id`` is the platform's id) plus what
ingest added: ``session_id``, ``site_id``, ``segment_id``, ``hidden``, ``flags``,
``merged_count``, ``received_at``; text is exactly as stored. CSV is UTF-8 with a BOM (so
Excel opens Chinese correctly), one column per field, ``flags`` joined by ``|``; a text cell
that begins with ``= + - @`` or a tab gets a leading ``'`` so spreadsheets do not run it as
a formula (CSV injection) — use JSON lines for byte-exact text.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import hashlib
import io
import sys
from collections.abc import Callable
from datetime import datetime
from typing import IO, Any

import orjson
from sqlalchemy import Row

from livebot.auth import audit
from livebot.chat import store
from livebot.cli.options import add_config_option, config_with_data
from livebot.storage import migrate
from livebot.storage.engine import Database, backend

CSV_COLUMNS = (
    "id", "source", "platform", "channel", "kind", "ts", "user_id", "user_name", "text", "count", "viewers", "value",
    "session_id", "site_id", "segment_id", "hidden", "flags", "merged_count", "received_at",
)
TEXT_COLUMNS = frozenset({"id", "channel", "user_id", "user_name", "text"})
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
FLUSH_EVERY = 500


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    export = commands.add_parser("export", help="export stored data")
    sub = export.add_subparsers(dest="export_command", metavar="WHAT", required=True)
    events = sub.add_parser("events", help="every stored chat event (JSON lines or CSV)")
    add_config_option(events)
    events.add_argument("--source", help="only this source id")
    events.add_argument("--session", type=int, help="only events routed to this session id")
    events.add_argument("--format", choices=("jsonl", "csv"), default="jsonl")
    events.add_argument("--output", "-o", help="file to write (default: standard output)")
    events.add_argument("--raw", action="store_true", help="jsonl: include each event's raw platform payload (implies --real-names)")
    events.add_argument("--real-names", action="store_true",
                        help="viewers' platform ids and names as stored (default: pseudonyms); recorded in the export log")
    events.set_defaults(func=export_events)


def iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def as_json(row: Row[Any]) -> dict[str, Any]:
    """One event in the export's JSON shape."""
    item = {
        "id": row.external_id, "source": row.source, "platform": row.platform, "channel": row.channel,
        "kind": row.kind, "ts": iso(row.ts), "user": {"id": row.user_id, "name": row.user_name}, "text": row.text,
        "count": row.count, "viewers": row.viewers, "value": row.value, "session_id": row.session_id,
        "site_id": row.site_id, "segment_id": row.segment_id, "hidden": bool(row.hidden), "flags": list(row.flags or []),
        "merged_count": row.merged_count, "received_at": iso(row.received_at),
    }
    if "raw" in row._fields:  # the stored JSON text as it is: never parsed, so any stored payload exports
        item["raw"] = orjson.Fragment(row.raw) if row.raw is not None else None
    return item


def pseudonymised(item: dict[str, Any]) -> dict[str, Any]:
    """The viewer as a stable pseudonym: the same person stays one person across the file."""
    user = item["user"]
    if user["id"] or user["name"]:
        alias = hashlib.sha256(f"{item['platform']}\x1f{user['id'] or user['name']}".encode()).hexdigest()[:12]
        item["user"] = {"id": f"v-{alias}", "name": f"观众 {alias[:6]}"}
    return item


def csv_cell(name: str, value: Any) -> Any:
    if value is None:
        return ""
    if name in TEXT_COLUMNS and isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def as_csv(item: dict[str, Any]) -> list[Any]:
    flat = {**item, "user_id": item["user"]["id"], "user_name": item["user"]["name"], "flags": "|".join(item["flags"]),
            "hidden": "true" if item["hidden"] else "false"}
    return [csv_cell(name, flat[name]) for name in CSV_COLUMNS]


async def write_events(url: str, out: IO[bytes], fmt: str, source: str | None, session: int | None, raw: bool,
                       real_names: bool = True) -> int:
    """Stream matching events to ``out``; returns how many were written."""
    if backend(url) == "sqlite":
        await migrate.upgrade(url)
    db = Database.open(url)
    written = 0
    emit: Callable[[dict[str, Any]], bytes]
    if fmt == "csv":
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\r\n")

        def emit(item: dict[str, Any]) -> bytes:
            writer.writerow(as_csv(item))
            text = buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
            return text.encode("utf-8")

        writer.writerow(CSV_COLUMNS)
        out.write("\ufeff".encode() + buffer.getvalue().encode("utf-8"))
        buffer.seek(0)
        buffer.truncate()
    else:

        def emit(item: dict[str, Any]) -> bytes:
            return orjson.dumps(item) + b"\n"

    try:
        async for row in store.stream_events(db, source=source, session_id=session, with_raw=raw and fmt == "jsonl"):
            item = as_json(row)
            out.write(emit(item if real_names else pseudonymised(item)))
            written += 1
            if written % FLUSH_EVERY == 0:
                out.flush()
    finally:
        out.flush()
        await db.close()
    return written


def export_events(args: argparse.Namespace) -> int:
    config = config_with_data(args)
    real = bool(args.real_names or args.raw)
    target = args.output or "stdout"
    if args.output:
        with open(args.output, "wb") as out:
            count = asyncio.run(write_events(config.database.url, out, args.format, args.source, args.session, args.raw, real))
    else:
        count = asyncio.run(
            write_events(config.database.url, sys.stdout.buffer, args.format, args.source, args.session, args.raw, real)
        )
    asyncio.run(record_export(config.database.url, target, count, args, real))
    print(f"exported {count} events", file=sys.stderr)
    return 0


async def record_export(url: str, target: str, count: int, args: argparse.Namespace, real: bool) -> None:
    db = Database.open(url)
    try:
        await audit.record(db, audit.cli_actor(), "export", "chat events", to=target, events=count, format=args.format,
                           source=args.source, session=args.session, raw=bool(args.raw), names="real" if real else "pseudonymised")
    finally:
        await db.close()
