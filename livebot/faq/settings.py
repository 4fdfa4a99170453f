"""``[faq]`` configuration: the enrichment stage's batching, caching and refresh intervals."""

from __future__ import annotations

from dataclasses import dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from livebot.errors import ConfigError


@dataclass(frozen=True)
class FaqSettings:
    enrich: bool = True
    """Run the enrichment stage on this instance (questions, suggestions, sentiment)."""
    flush_interval_ms: int = 100
    """Enrichment results are written (and published) at least this often."""
    flush_max_events: int = 500
    """... or as soon as this many are waiting."""
    max_suggestions: int = 3
    """FAQ suggestions kept per message (a typed trace code adds one more on top)."""
    context_ttl_seconds: float = 5.0
    """How long a session's and a batch's placeholder values are reused."""
    refresh_seconds: float = 5.0
    """How often an instance checks for knowledge-base edits and dismissals made elsewhere (CLI, other instances)."""
    queue_size: int = 20_000
    """Stored chat messages buffered for enrichment before the oldest are dropped."""
    timezone: str = "Asia/Shanghai"
    """Times in ``{session.*}`` placeholders when a session names no zone."""

    def __post_init__(self) -> None:
        if not 5 <= self.flush_interval_ms <= 10_000:
            raise ConfigError("faq.flush_interval_ms", "must be 5..10000")
        if not 1 <= self.flush_max_events <= 10_000:
            raise ConfigError("faq.flush_max_events", "must be 1..10000")
        if not 1 <= self.max_suggestions <= 10:
            raise ConfigError("faq.max_suggestions", "must be 1..10")
        if self.context_ttl_seconds < 0:
            raise ConfigError("faq.context_ttl_seconds", "must not be negative")
        if self.refresh_seconds <= 0:
            raise ConfigError("faq.refresh_seconds", "must be positive")
        if self.queue_size < 100:
            raise ConfigError("faq.queue_size", "must be at least 100")
        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError) as err:
            raise ConfigError("faq.timezone", f"unknown time zone {self.timezone!r}") from err
