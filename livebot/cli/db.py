"""``livebot db upgrade`` and ``livebot db backup --out FILE`` (SQLite's online backup; pg_dump for PostgreSQL)."""

from __future__ import annotations

import argparse
import sqlite3
from pathlib import Path

from sqlalchemy.engine import make_url

from livebot.cli.options import add_config_option, config_from_args
from livebot.errors import StorageError
from livebot.storage import migrate
from livebot.storage.engine import backend


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    db = commands.add_parser("db", help="database maintenance")
    sub = db.add_subparsers(dest="db_command", metavar="ACTION", required=True)
    up = sub.add_parser("upgrade", help="apply every pending migration")
    add_config_option(up)
    up.set_defaults(func=upgrade)
    backup = sub.add_parser("backup", help="copy the embedded SQLite database while the service runs")
    backup.add_argument("--out", required=True, help="file to write (must not exist)")
    add_config_option(backup)
    backup.set_defaults(func=backup_command)


def upgrade(args: argparse.Namespace) -> int:
    config = config_from_args(args)
    migrate.upgrade_sync(config.database.url)
    print("database is at", ", ".join(sorted(migrate.current_revisions(config.database.url))))
    return 0


def sqlite_path(url: str) -> Path:
    database = make_url(url).database
    if not database or database == ":memory:":
        raise StorageError("database.url names no SQLite file to back up")
    return Path(database).expanduser()


def backup_sqlite(url: str, out: Path) -> int:
    """A consistent copy through SQLite's online backup API (safe beside a running writer); returns pages copied."""
    source_path = sqlite_path(url)
    if not source_path.is_file():
        raise StorageError(f"no database file at {source_path}")
    if out.exists():
        raise StorageError(f"{out} exists; choose a new file")
    pages = 0
    source = sqlite3.connect(f"file:{source_path}?mode=ro", uri=True)
    try:
        target = sqlite3.connect(out)
        try:
            def progress(_status: int, remaining: int, total: int) -> None:
                nonlocal pages
                pages = total - remaining

            source.backup(target, pages=1024, progress=progress)
            if target.execute("PRAGMA integrity_check").fetchone()[0] != "ok":
                raise StorageError(f"backup {out} failed its integrity check")
        finally:
            target.close()
    finally:
        source.close()
    return pages


def backup_command(args: argparse.Namespace) -> int:
    config = config_from_args(args)
    if backend(config.database.url) != "sqlite":
        raise StorageError("PostgreSQL: use pg_dump (see docs/operations-admin.md), e.g. pg_dump -Fc -f livebot.dump livebot")
    pages = backup_sqlite(config.database.url, Path(args.out))
    print(f"backup written to {args.out} ({pages} pages)")
    return 0
