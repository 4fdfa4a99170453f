"""TOML configuration loaded into frozen dataclasses and validated at start.

Every error is a :class:`ConfigError` naming the dotted key (``sources[2].secret: missing``),
because the person reading it is an operator with a config file open, not a developer.
A field marked ``secret`` may instead be given as ``<name>_env = "ENV_VAR"``.
"""

from __future__ import annotations

import dataclasses
import os
import tomllib
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from livebot.errors import ConfigError
from livebot.extras import require

T = TypeVar("T")


def secret(default: Any = dataclasses.MISSING, **kwargs: Any) -> Any:
    """A dataclass field that may be read from an environment variable (``<name>_env``)."""
    return field(default=default, metadata={"secret": True}, **kwargs)


@dataclass(frozen=True)
class ServerSettings:
    host: str = "127.0.0.1"
    port: int = 8080
    public_url: str = ""
    max_body_bytes: int = 1_048_576
    shutdown_timeout: float = 10.0
    # `livebot worker` processes `livebot serve` starts beside the web process (PostgreSQL + Redis
    # only): -1 = one per core beyond the web process's (at least one), 0 = none (the web process does all the work, as on SQLite).
    workers: int = -1

    def __post_init__(self) -> None:
        if not 0 < self.port < 65536:
            raise ConfigError("server.port", f"must be 1..65535, got {self.port}")
        if self.workers < -1:
            raise ConfigError("server.workers", f"must be -1 (one per core beyond the web process), 0 or more, got {self.workers}")

    @property
    def base_url(self) -> str:
        """The URL people and platforms use to reach this instance."""
        return (self.public_url or f"http://{self.host}:{self.port}").rstrip("/")


@dataclass(frozen=True)
class DatabaseSettings:
    url: str = "sqlite:///livebot.db"
    echo: bool = False

    def __post_init__(self) -> None:
        if not self.url.startswith(("sqlite:", "sqlite+", "postgresql:", "postgresql+", "postgres:")):
            raise ConfigError("database.url", f"unsupported database {self.url.split(':', 1)[0]!r} (sqlite or postgresql)")
        if self.url.startswith("postgres"):
            require("database.url", "PostgreSQL", "asyncpg", "psycopg")


@dataclass(frozen=True)
class BusSettings:
    url: str = "memory://"
    queue_size: int = 10_000
    channel_prefix: str = "livebot"
    # Topics that Redis also keeps as streams for group subscriptions (work done once per message).
    streams: tuple[str, ...] = ("chat.stored", "chat.enriched")
    # A group message unacknowledged this long (its consumer died) is taken over by another consumer.
    claim_idle_ms: int = 5_000
    # How long a stream keeps messages for a consumer group that is behind or down.
    stream_retention_seconds: int = 600

    def __post_init__(self) -> None:
        if not self.url.startswith(("memory://", "redis://", "rediss://")):
            raise ConfigError("bus.url", "must start with memory:// or redis://")
        if self.url.startswith("redis"):
            require("bus.url", "the Redis bus", "redis")
        if self.queue_size < 1:
            raise ConfigError("bus.queue_size", "must be at least 1")
        if self.claim_idle_ms < 100:
            raise ConfigError("bus.claim_idle_ms", "must be at least 100")
        if self.stream_retention_seconds < 10:
            raise ConfigError("bus.stream_retention_seconds", "must be at least 10")


@dataclass(frozen=True)
class AuthSettings:
    session_secret: str = secret("")
    cookie_secure: bool = False
    session_max_age: int = 12 * 3600
    login_attempts: int = 5
    login_window_seconds: int = 300
    # Attempts per username from all addresses together (a looser limit, so one address cannot lock an account).
    login_user_attempts: int = 20
    # Where attempts are counted: "auto" (database on PostgreSQL, else memory), "memory" or "database".
    login_limiter: str = "auto"
    # Keys the in-memory limiter keeps at most (the oldest windows are dropped first).
    login_tracked_keys: int = 20_000
    # Header carrying the client address (e.g. "X-Forwarded-For"), believed only from trusted_proxies.
    client_ip_header: str = ""
    trusted_proxies: tuple[str, ...] = ()
    # /metrics: public unless a token (role metrics) is required or the caller's address is listed.
    metrics_token_required: bool = False
    metrics_allow: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.login_limiter not in ("auto", "memory", "database"):
            raise ConfigError("auth.login_limiter", "must be auto, memory or database")
        for name in ("login_attempts", "login_user_attempts", "login_window_seconds", "login_tracked_keys", "session_max_age"):
            if getattr(self, name) < 1:
                raise ConfigError(f"auth.{name}", "must be at least 1")


@dataclass(frozen=True)
class SourceSettings:
    """One ``[[sources]]`` entry; ``options`` holds the type's own keys, checked by the source."""

    id: str
    type: str
    options: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Config:
    server: ServerSettings = field(default_factory=ServerSettings)
    database: DatabaseSettings = field(default_factory=DatabaseSettings)
    bus: BusSettings = field(default_factory=BusSettings)
    auth: AuthSettings = field(default_factory=AuthSettings)
    sources: tuple[SourceSettings, ...] = ()
    extra: Mapping[str, Any] = field(default_factory=dict)
    path: Path | None = None

    def section(self, name: str, cls: type[T]) -> T:
        """Parse an area's own table (``[faq]``, ``[trace]`` ...) into its settings dataclass."""
        return parse_dataclass(cls, self.extra.get(name, {}), name)


SECTIONS: dict[str, type] = {
    "server": ServerSettings,
    "database": DatabaseSettings,
    "bus": BusSettings,
    "auth": AuthSettings,
}
AREA_SECTIONS = frozenset(
    {"chat", "moderation", "faq", "sentiment", "trace", "schedule", "overlays", "engagement", "console", "demo", "replies", "cases",
     "privacy", "compliance"}
)


def load_config(path: str | os.PathLike[str]) -> Config:
    """Read and validate a TOML config file."""
    file = Path(path)
    try:
        raw = tomllib.loads(file.read_text(encoding="utf-8-sig"))  # -sig: Windows Notepad writes a BOM
    except FileNotFoundError as err:
        raise ConfigError(str(file), "file not found") from err
    except UnicodeDecodeError as err:
        raise ConfigError(str(file), f"not UTF-8 text (byte {err.start}); save the file as UTF-8") from err
    except OSError as err:
        raise ConfigError(str(file), f"cannot read: {err.strerror or err}") from err
    except tomllib.TOMLDecodeError as err:
        raise ConfigError(str(file), f"invalid TOML: {err}") from err
    except RecursionError as err:
        raise ConfigError(str(file), "invalid TOML: nested too deeply") from err
    return config_from_mapping(raw, path=file)


def config_from_mapping(raw: Mapping[str, Any], path: Path | None = None) -> Config:
    """Build a :class:`Config` from an already parsed TOML document."""
    known = set(SECTIONS) | AREA_SECTIONS | {"sources"}
    for key in raw:
        if key not in known:
            raise ConfigError(key, "unknown section")
    parts: dict[str, Any] = {name: parse_dataclass(cls, raw.get(name, {}), name) for name, cls in SECTIONS.items()}
    sources = parse_sources(raw.get("sources", []))
    extra = {name: raw[name] for name in AREA_SECTIONS if name in raw}
    for name, table in extra.items():
        if not isinstance(table, Mapping):
            raise ConfigError(name, "expected a table")
    return Config(**parts, sources=sources, extra=extra, path=path)


def parse_sources(items: Any) -> tuple[SourceSettings, ...]:
    """Check the shape common to every source; the source type validates its own keys."""
    if not isinstance(items, list):
        raise ConfigError("sources", "expected an array of tables ([[sources]])")
    seen: set[str] = set()
    result = []
    for index, item in enumerate(items):
        key = f"sources[{index}]"
        if not isinstance(item, Mapping):
            raise ConfigError(key, "expected a table")
        for name in ("id", "type"):
            if name not in item:
                raise ConfigError(f"{key}.{name}", "missing")
            if not isinstance(item[name], str) or not item[name]:
                raise ConfigError(f"{key}.{name}", "expected a non-empty string")
        if item["id"] in seen:
            raise ConfigError(f"{key}.id", f"duplicate source id {item['id']!r}")
        seen.add(item["id"])
        options = {k: v for k, v in item.items() if k not in ("id", "type")}
        result.append(SourceSettings(id=item["id"], type=item["type"], options=options))
    return tuple(result)


def parse_dataclass(cls: type[T], table: Any, key: str) -> T:
    """Turn a TOML table into ``cls``, checking types, unknown keys and secrets by name."""
    if not isinstance(table, Mapping):
        raise ConfigError(key, "expected a table")
    fields = {f.name: f for f in dataclasses.fields(cls) if f.init}  # type: ignore[arg-type]
    hints = typing.get_type_hints(cls)
    values: dict[str, Any] = {}
    for name, value in table.items():
        if name.endswith("_env") and name[:-4] in fields and fields[name[:-4]].metadata.get("secret"):
            values[name[:-4]] = env_secret(f"{key}.{name}", value)
            continue
        if name not in fields:
            raise ConfigError(f"{key}.{name}", "unknown key")
        values[name] = coerce(hints[name], value, f"{key}.{name}")
    for name, f in fields.items():
        if name not in values and f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
            raise ConfigError(f"{key}.{name}", "missing")
    try:
        return cls(**values)
    except ConfigError as err:
        if err.key.startswith(key):
            raise
        raise ConfigError(f"{key}.{err.key.rsplit('.', 1)[-1]}", err.problem) from err


def env_secret(key: str, name: Any) -> str:
    """Resolve ``<secret>_env = "VAR"`` from the environment."""
    if not isinstance(name, str) or not name:
        raise ConfigError(key, "expected the name of an environment variable")
    value = os.environ.get(name)
    if value is None:
        raise ConfigError(key, f"environment variable {name} is not set")
    return value


def coerce(hint: Any, value: Any, key: str) -> Any:
    """Check ``value`` against a field's type hint (the subset TOML can express)."""
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        options = [a for a in typing.get_args(hint) if a is not type(None)]
        for option in options:
            try:
                return coerce(option, value, key)
            except ConfigError:
                continue
        raise ConfigError(key, f"expected {type_name(hint)}, got {type_name(type(value))}")
    if origin is tuple:
        if not isinstance(value, list):
            raise ConfigError(key, f"expected an array, got {type_name(type(value))}")
        item_hint = typing.get_args(hint)[0]
        return tuple(coerce(item_hint, item, f"{key}[{i}]") for i, item in enumerate(value))
    if origin in (Mapping, dict) or hint in (dict, Mapping):
        if not isinstance(value, Mapping):
            raise ConfigError(key, "expected a table")
        return dict(value)
    if isinstance(hint, type) and dataclasses.is_dataclass(hint):
        return parse_dataclass(hint, value, key)
    if hint is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if hint is Any:
        return value
    if hint is int and isinstance(value, bool):
        raise ConfigError(key, "expected an integer, got a boolean")
    if isinstance(hint, type) and not isinstance(value, hint):
        raise ConfigError(key, f"expected {type_name(hint)}, got {type_name(type(value))}")
    return value


def type_name(hint: Any) -> str:
    """A type as an operator would say it."""
    names = {str: "a string", int: "an integer", float: "a number", bool: "a boolean", list: "an array", dict: "a table"}
    return names.get(hint, getattr(hint, "__name__", str(hint)))
