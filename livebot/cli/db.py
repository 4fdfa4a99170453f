"""``livebot db upgrade``: bring the schema to the newest migration."""

from __future__ import annotations

import argparse

from livebot.cli.options import add_config_option, config_from_args
from livebot.storage import migrate


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    db = commands.add_parser("db", help="database maintenance")
    sub = db.add_subparsers(dest="db_command", metavar="ACTION", required=True)
    up = sub.add_parser("upgrade", help="apply every pending migration")
    add_config_option(up)
    up.set_defaults(func=upgrade)


def upgrade(args: argparse.Namespace) -> int:
    config = config_from_args(args)
    migrate.upgrade_sync(config.database.url)
    print("database is at", ", ".join(sorted(migrate.current_revisions(config.database.url))))
    return 0
