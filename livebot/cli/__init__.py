"""The ``livebot`` command line: each subcommand lives in its own module with ``register()``."""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Sequence

from livebot import __version__
from livebot.errors import LivebotError

COMMAND_MODULES = (
    "livebot.cli.export",
    "livebot.cli.replay",
    "livebot.cli.serve",
    "livebot.cli.worker",
    "livebot.cli.db",
    "livebot.cli.users",
    "livebot.cli.tokens",
    "livebot.cli.trace",
    "livebot.cli.faq",
    "livebot.cli.sentiment",
    "livebot.cli.report",
    "livebot.cli.engagement",
    "livebot.cli.privacy",
    "livebot.cli.compliance",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="livebot", description="Companion service for traceability livestreams.")
    parser.add_argument("--version", action="version", version=f"livebot {__version__}")
    parser.add_argument("--log-level", default="INFO", help="logging level (default INFO)")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    if not hasattr(args, "func"):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except LivebotError as err:
        print(f"livebot: error: {err}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
