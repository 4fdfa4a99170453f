"""Optional backends are pip extras: a config that chooses one must find it installed, or say which extra to install."""

from __future__ import annotations

import importlib.util

from livebot.errors import ConfigError

EXTRA_OF = {"redis": "redis", "asyncpg": "postgres", "psycopg": "postgres"}
"""Module -> the ``livebot[...]`` extra that installs it (see ``[project.optional-dependencies]``)."""


def installed(module: str) -> bool:
    """True when ``module`` can be imported (without importing it)."""
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


def require(key: str, what: str, *modules: str) -> None:
    """Raise a one-line :class:`ConfigError` on ``key`` naming the extra when any of ``modules`` is missing."""
    missing = [name for name in modules if not installed(name)]
    if missing:
        extra = EXTRA_OF[missing[0]]
        raise ConfigError(key, f"{what} needs {' and '.join(missing)}, which is not installed: pip install 'livebot[{extra}]'")
