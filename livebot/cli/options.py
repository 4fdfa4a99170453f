"""The ``--config`` option every command that touches the database shares."""

from __future__ import annotations

import argparse
import os

from livebot.config import Config, load_config

DEFAULT_CONFIG_ENV = "LIVEBOT_CONFIG"


def add_config_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--config",
        default=os.environ.get(DEFAULT_CONFIG_ENV),
        help=f"TOML config file (default: ${DEFAULT_CONFIG_ENV}, else built-in defaults)",
    )


def config_from_args(args: argparse.Namespace) -> Config:
    return load_config(args.config) if args.config else Config()
