"""``livebot token create|list|revoke``: a new token is printed alone on the last line, once."""

from __future__ import annotations

import argparse

from livebot.auth import audit, store
from livebot.auth.models import ROLES
from livebot.auth.operations import revoke_and_record
from livebot.cli.options import add_config_option
from livebot.cli.users import with_database


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    token = commands.add_parser("token", help="bearer tokens for machine clients")
    sub = token.add_subparsers(dest="token_command", metavar="ACTION", required=True)
    create = sub.add_parser("create", help="create a token and print it once")
    create.add_argument("--role", required=True, choices=ROLES)
    create.add_argument("--name", default="", help="what the token is for")
    add_config_option(create)
    create.set_defaults(func=create_token)
    listing = sub.add_parser("list", help="every token: id, role, name, last use, revoked (never the token itself)")
    add_config_option(listing)
    listing.set_defaults(func=list_tokens)
    revoke = sub.add_parser("revoke", help="revoke a token by the id `token list` shows")
    revoke.add_argument("id", type=int)
    add_config_option(revoke)
    revoke.set_defaults(func=revoke_token)


def create_token(args: argparse.Namespace) -> int:
    token = with_database(args, lambda db: store.create_token(db, args.role, args.name))
    print(f"token created with role {args.role}; it is shown only once:")
    print(token)
    return 0


def list_tokens(args: argparse.Namespace) -> int:
    for row in with_database(args, store.list_tokens):
        used = row.last_used_at.isoformat() if row.last_used_at else "never"
        state = f"revoked {row.revoked_at.isoformat()}" if row.revoked_at else "active"
        print(f"{row.id}\t{row.role}\t{row.name or '-'}\tlast used {used}\t{state}")
    return 0


def revoke_token(args: argparse.Namespace) -> int:
    with_database(args, lambda db: revoke_and_record(db, args.id, audit.cli_actor()))
    print(f"token {args.id} revoked")
    return 0
