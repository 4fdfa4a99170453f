"""The ``--config`` option every command that touches the database shares, and how such a command opens it."""

from __future__ import annotations

import argparse
import contextlib
import os
from collections.abc import AsyncIterator
from pathlib import Path

from sqlalchemy.engine import make_url

from livebot.config import Config, load_config
from livebot.errors import ConfigError
from livebot.storage import migrate
from livebot.storage.engine import Database, backend

DEFAULT_CONFIG_ENV = "LIVEBOT_CONFIG"


def add_config_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--config",
        default=os.environ.get(DEFAULT_CONFIG_ENV),
        help=f"TOML config file (default: ${DEFAULT_CONFIG_ENV}, else built-in defaults)",
    )


def config_from_args(args: argparse.Namespace) -> Config:
    return load_config(args.config) if args.config else Config()


def config_with_data(args: argparse.Namespace) -> Config:
    """The config of a command that reads stored data: a SQLite file that is not there is refused
    (naming the flag) instead of being created empty and then found to hold nothing."""
    config = config_from_args(args)
    url = make_url(config.database.url)
    if url.get_backend_name() == "sqlite" and not (url.database and url.database != ":memory:" and Path(url.database).is_file()):
        key = "database.url" if args.config else "--config"
        raise ConfigError(key, f"no database at {url.database or ':memory:'!r} to read from; pass --config FILE with the "
                               f"service's [database] url (or set ${DEFAULT_CONFIG_ENV})")
    return config


@contextlib.asynccontextmanager
async def opened_database(config: Config) -> AsyncIterator[Database]:
    """The configured database for one command (an embedded SQLite one is migrated first), closed afterwards."""
    url = config.database.url
    if backend(url) == "sqlite":
        await migrate.upgrade(url)
    db = Database.open(url)
    try:
        yield db
    finally:
        await db.close()
