"""``livebot privacy erase --platform P --user ID`` and ``livebot privacy purge`` (retention now)."""

from __future__ import annotations

import argparse

from livebot.auth import audit
from livebot.cli.options import add_config_option, config_from_args
from livebot.cli.users import with_database
from livebot.privacy.purge import erase_viewer, purge_expired
from livebot.privacy.settings import PrivacySettings


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    privacy = commands.add_parser("privacy", help="viewers' personal data: erase one viewer, purge past retention")
    sub = privacy.add_subparsers(dest="privacy_command", metavar="ACTION", required=True)
    erase = sub.add_parser("erase", help="remove one viewer's ids, names, payloads and words everywhere (audited)")
    erase.add_argument("--platform", required=True, help="douyin, bilibili, wecom ... as stored")
    erase.add_argument("--user", required=True, help="the viewer's platform id")
    add_config_option(erase)
    erase.set_defaults(func=erase_command)
    purge = sub.add_parser("purge", help="apply [privacy] retention_days now (the service also does it on a schedule)")
    add_config_option(purge)
    purge.set_defaults(func=purge_command)


def erase_command(args: argparse.Namespace) -> int:
    result = with_database(args, lambda db: erase_viewer(db, args.platform, args.user, audit.cli_actor()))
    print(f"viewer erased from {result.events} events and {result.cards} question cards")
    return 0


def purge_command(args: argparse.Namespace) -> int:
    days = config_from_args(args).section("privacy", PrivacySettings).retention_days
    if days <= 0:
        print("privacy.retention_days is 0: nothing is purged")
        return 0
    result = with_database(args, lambda db: purge_expired(db, days))
    print(f"purged viewers from {result.events} events and {result.cards} question cards older than {days} days")
    return 0
