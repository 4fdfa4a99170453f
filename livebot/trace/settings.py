"""``[trace]`` configuration: the brand's promise, cold-chain limits, import and telemetry limits."""

from __future__ import annotations

from dataclasses import dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from livebot.errors import ConfigError


@dataclass(frozen=True)
class TraceSettings:
    promise_minutes: int = 120
    """The brand's "from milking to processing" promise."""
    coldchain_max_c: float = 4.0
    """Raw milk above this after it was first cooled counts as a cold-chain excursion."""
    cooling_target_c: float = 4.0
    """Milk counts as cooled at the first reading at or below this after milking."""
    cooling_limit_minutes: int = 120
    """National raw-milk rule: cooled to the target within this many minutes of milking."""
    max_document_bytes: int = 10 * 1024 * 1024
    """Largest EPCIS document the API accepts (413 above); the CLI has no limit."""
    telemetry_interval_s: int = 30
    """Expected interval of a telemetry reading that does not state its own ``interval_s``."""
    display_timezone: str = "Asia/Shanghai"
    """Times shown to people (pages, chat replies) and returned by ``batch_summary``."""
    resolver_cache_seconds: float = 30.0
    """How long a Digital Link answer is reused; every trace update clears the cache at once."""
    scan_region_header: str = ""
    """A header the CDN or load balancer sets with the viewer's region (e.g. ``X-Geo-Region``), counted with scans."""

    def __post_init__(self) -> None:
        if not 1 <= self.promise_minutes <= 24 * 60:
            raise ConfigError("trace.promise_minutes", "must be 1..1440")
        if self.max_document_bytes < 1024:
            raise ConfigError("trace.max_document_bytes", "must be at least 1024")
        if self.telemetry_interval_s < 1:
            raise ConfigError("trace.telemetry_interval_s", "must be at least 1")
        if self.cooling_limit_minutes < 1:
            raise ConfigError("trace.cooling_limit_minutes", "must be at least 1")
        if self.resolver_cache_seconds < 0:
            raise ConfigError("trace.resolver_cache_seconds", "must not be negative")
        try:
            ZoneInfo(self.display_timezone)
        except (ZoneInfoNotFoundError, ValueError) as err:
            raise ConfigError("trace.display_timezone", f"unknown time zone {self.display_timezone!r}") from err

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.display_timezone)

