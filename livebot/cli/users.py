"""``livebot user add|disable|enable|reset-password|list``: passwords come from a prompt or stdin."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import sys
from collections.abc import Awaitable, Callable
from typing import TypeVar

from livebot.auth import audit, store
from livebot.auth.models import MACHINE_ROLES, ROLES
from livebot.auth.operations import apply_change
from livebot.cli.options import add_config_option, config_from_args, opened_database
from livebot.storage.engine import Database

T = TypeVar("T")


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    user = commands.add_parser("user", help="manage people who log in")
    sub = user.add_subparsers(dest="user_command", metavar="ACTION", required=True)
    add = sub.add_parser("add", help="add a user (password read from the terminal or stdin)")
    add.add_argument("name")
    add.add_argument("--role", required=True, choices=[r for r in ROLES if r not in MACHINE_ROLES])
    add.add_argument("--display-name", default="")
    add_config_option(add)
    add.set_defaults(func=add_user)
    for action, text in (("disable", "stop a user logging in and end their sessions"), ("enable", "let a disabled user log in again"),
                         ("reset-password", "set a new password (read like add) and end the user's sessions")):
        cmd = sub.add_parser(action, help=text)
        cmd.add_argument("name")
        add_config_option(cmd)
        cmd.set_defaults(func=change_user, action=action)
    listing = sub.add_parser("list", help="every user with role and state")
    add_config_option(listing)
    listing.set_defaults(func=list_users)


def read_password() -> str:
    if sys.stdin.isatty():
        first = getpass.getpass("密码 / password: ")
        if getpass.getpass("再次输入 / again: ") != first:
            raise SystemExit("passwords differ")
        return first
    return sys.stdin.readline().rstrip("\r\n")


def with_database(args: argparse.Namespace, work: Callable[[Database], Awaitable[T]]) -> T:
    """Run ``work`` on the configured database (an embedded one is migrated first)."""
    config = config_from_args(args)

    async def run() -> T:
        async with opened_database(config) as db:
            return await work(db)

    return asyncio.run(run())


def add_user(args: argparse.Namespace) -> int:
    password = read_password()
    with_database(args, lambda db: store.add_user(db, args.name, password, args.role, args.display_name))
    print(f"user {args.name} added with role {args.role}")
    return 0


def change_user(args: argparse.Namespace) -> int:
    password = read_password() if args.action == "reset-password" else ""
    with_database(args, lambda db: apply_change(db, args.action, args.name, password, audit.cli_actor()))
    print(f"user {args.name}: {args.action} done")
    return 0


def list_users(args: argparse.Namespace) -> int:
    for user in with_database(args, store.list_users):
        print(f"{user.username}\t{user.role}\t{'disabled' if user.disabled else 'active'}\t{user.display_name}")
    return 0
