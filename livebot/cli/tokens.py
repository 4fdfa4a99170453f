"""``livebot token create --role ROLE``: prints the new token alone on the last line."""

from __future__ import annotations

import argparse
import asyncio

from livebot.auth import store
from livebot.auth.models import ROLES
from livebot.cli.options import add_config_option, config_from_args
from livebot.storage import migrate
from livebot.storage.engine import Database, backend


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    token = commands.add_parser("token", help="bearer tokens for machine clients")
    sub = token.add_subparsers(dest="token_command", metavar="ACTION", required=True)
    create = sub.add_parser("create", help="create a token and print it once")
    create.add_argument("--role", required=True, choices=ROLES)
    create.add_argument("--name", default="", help="what the token is for")
    add_config_option(create)
    create.set_defaults(func=create_token)


async def create_token_async(url: str, role: str, name: str) -> str:
    if backend(url) == "sqlite":
        await migrate.upgrade(url)
    db = Database.open(url)
    try:
        return await store.create_token(db, role, name)
    finally:
        await db.close()


def create_token(args: argparse.Namespace) -> int:
    config = config_from_args(args)
    token = asyncio.run(create_token_async(config.database.url, args.role, args.name))
    print(f"token created with role {args.role}; it is shown only once:")
    print(token)
    return 0
