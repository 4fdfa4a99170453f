"""``livebot user add NAME --role ROLE``: the password comes from a prompt or stdin."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import sys

from livebot.auth import store
from livebot.auth.models import ROLES
from livebot.cli.options import add_config_option, config_from_args
from livebot.storage import migrate
from livebot.storage.engine import Database, backend


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    user = commands.add_parser("user", help="manage people who log in")
    sub = user.add_subparsers(dest="user_command", metavar="ACTION", required=True)
    add = sub.add_parser("add", help="add a user (password read from the terminal or stdin)")
    add.add_argument("name")
    add.add_argument("--role", required=True, choices=[r for r in ROLES if r != "trace"])
    add.add_argument("--display-name", default="")
    add_config_option(add)
    add.set_defaults(func=add_user)


def read_password() -> str:
    if sys.stdin.isatty():
        first = getpass.getpass("密码 / password: ")
        if getpass.getpass("再次输入 / again: ") != first:
            raise SystemExit("passwords differ")
        return first
    return sys.stdin.readline().rstrip("\r\n")


async def add_user_async(url: str, name: str, password: str, role: str, display_name: str) -> None:
    if backend(url) == "sqlite":
        await migrate.upgrade(url)
    db = Database.open(url)
    try:
        await store.add_user(db, name, password, role, display_name)
    finally:
        await db.close()


def add_user(args: argparse.Namespace) -> int:
    config = config_from_args(args)
    asyncio.run(add_user_async(config.database.url, args.name, read_password(), args.role, args.display_name))
    print(f"user {args.name} added with role {args.role}")
    return 0
