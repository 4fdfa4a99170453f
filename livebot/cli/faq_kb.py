"""``livebot faq import FILE`` and ``livebot faq export``: the knowledge base in and out of the database.

An import validates the whole file first (TOML, CSV or JSON; errors name the entry and the
field) and then stores it in one transaction, so a bad file never half-imports. Entries are
matched by id: new ones are created, changed ones get a new version, identical ones are left
alone; entries missing from the file are kept. Exports write UTF-8 (CSV with a BOM so Excel
shows Chinese correctly).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from pathlib import Path
from typing import IO

from livebot.cli.options import add_config_option, config_from_args, config_with_data, opened_database
from livebot.compliance.engine import default_rules
from livebot.config import Config
from livebot.faq import kb
from livebot.faq import store as kb_store
from livebot.faq.editing import check_import_limits
from livebot.faq.errors import KnowledgeBaseError
from livebot.faq.placeholders import placeholder_warnings

logger = logging.getLogger(__name__)

FORMATS = ("toml", "csv", "json")
PARSERS = {"toml": kb.parse_toml, "csv": kb.parse_csv, "json": kb.parse_json}
CSV_BOM = "\ufeff"


def register_kb_commands(faq_subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``import`` and ``export`` to the ``livebot faq`` subcommands."""
    imp = faq_subparsers.add_parser("import", help="import a knowledge-base file into the database")
    imp.add_argument("file", help="knowledge base (.toml, .csv or .json)")
    imp.add_argument("--format", choices=FORMATS, help="file format (default: from the file name)")
    imp.add_argument("--by", default="cli", help="name recorded in the version history (default: cli)")
    add_config_option(imp)
    imp.set_defaults(func=import_command)

    exp = faq_subparsers.add_parser("export", help="export the knowledge base from the database")
    exp.add_argument("--format", choices=FORMATS, help="output format (default: from --out, else toml)")
    exp.add_argument("--out", help="file to write (default: standard output)")
    add_config_option(exp)
    exp.set_defaults(func=export_command)


def format_of(path: str | None, given: str | None) -> str:
    """The explicit format, else the file's suffix, else TOML."""
    if given:
        return given
    suffix = Path(path).suffix.lower().lstrip(".") if path else ""
    if path and suffix not in FORMATS:
        raise KnowledgeBaseError(f"cannot tell the format of {path!r}: use .toml, .csv or .json, or --format")
    return suffix or "toml"


def read_entries(path: str, fmt: str | None = None) -> list[kb.FaqEntry]:
    """Parse and validate a whole knowledge-base file (nothing is stored yet)."""
    fmt = format_of(path, fmt)
    try:
        data = Path(path).read_bytes()
    except OSError as err:
        raise KnowledgeBaseError(f"cannot read {path}: {err.strerror or err}") from err
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise KnowledgeBaseError(f"{path} is not UTF-8 text (byte {err.start}); save it as UTF-8 and retry") from err
    entries = PARSERS[fmt](text)
    check_import_limits(entries)
    return entries


def dump(entries: list[kb.FaqEntry], fmt: str) -> str:
    """Entries in ``fmt``; CSV starts with a BOM for spreadsheet programs."""
    if fmt == "csv":
        return CSV_BOM + kb.dump_csv(entries)
    if fmt == "json":
        return kb.dump_json(entries)
    return kb.dump_toml(entries)


async def import_file(config: Config, path: str, by: str, fmt: str | None = None) -> kb_store.ImportResult:
    """Validate ``path`` completely, then store it in one transaction and announce the change."""
    entries = read_entries(path, fmt)
    async with opened_database(config) as db:
        result = await kb_store.import_entries(db, entries, by)
    if result.changed_ids:
        await announce(config, list(result.changed_ids), by)
    return result


async def announce(config: Config, ids: list[str], by: str) -> None:
    """Tell running instances on a shared (Redis) bus; others notice within ``faq.refresh_seconds``."""
    if not config.bus.url.startswith(("redis://", "rediss://")):
        return
    from livebot.bus.factory import open_bus
    from livebot.errors import BusError

    bus = open_bus(config.bus)
    try:
        await bus.start()
        await kb_store.announce_change(bus, ids, "import", by)
    except BusError as err:
        logger.warning("faq import stored, but faq.changed was not published: %s", err)
    finally:
        await bus.close()


async def export_entries(config: Config) -> list[kb.FaqEntry]:
    async with opened_database(config) as db:
        return await kb_store.active_entries(db)


def import_command(args: argparse.Namespace, stdout: IO[str] | None = None) -> int:
    out = stdout or sys.stdout
    result = asyncio.run(import_file(config_from_args(args), args.file, args.by, args.format))
    total = result.created + result.updated + result.unchanged
    print(f"imported {total} entries from {args.file}: {result.created} created, {result.updated} updated, "
          f"{result.unchanged} unchanged", file=out)
    entries = read_entries(args.file, args.format)
    print_compliance(entries, out)
    print_placeholder_warnings(entries, out)
    return 0


def print_placeholder_warnings(entries: list[kb.FaqEntry], out: IO[str]) -> None:
    """Answers naming placeholders missing from the table (imported; they would always show a gap)."""
    for entry in entries:
        for warning in placeholder_warnings(entry.answer):
            print(f"placeholder warning: {entry.id}: {warning['message']}", file=out)


def print_compliance(entries: list[kb.FaqEntry], out: IO[str]) -> None:
    """The compliance findings of each imported answer; a blocked one is never offered to advisors."""
    rules = default_rules()
    flagged = 0
    for entry in entries:
        result = rules.check(entry.answer)
        if result.verdict == "ok":
            continue
        flagged += 1
        note = "（合规拦截：不会被推荐，请修改）" if result.blocked else "（发送前需资深顾问批准）"
        print(f"compliance {result.verdict}: {entry.id}{note}", file=out)
        for finding in result.findings:
            print(f"  {finding.severity} {finding.rule} “{finding.excerpt}”：{finding.explanation} 建议改为：{finding.rewording}",
                  file=out)
    print(f"compliance: {flagged} of {len(entries)} answers have findings", file=out)


def export_command(args: argparse.Namespace, stdout: IO[str] | None = None) -> int:
    fmt = format_of(args.out, args.format)
    entries = asyncio.run(export_entries(config_with_data(args)))
    text = dump(entries, fmt)
    if args.out:
        Path(args.out).write_text(text, encoding="utf-8", newline="")
        print(f"exported {len(entries)} entries to {args.out}", file=sys.stderr)
    else:
        (stdout or sys.stdout).write(text)
    return 0
