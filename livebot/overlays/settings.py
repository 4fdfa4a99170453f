"""The ``[overlays]`` config section."""

from __future__ import annotations

from dataclasses import dataclass

from livebot.errors import ConfigError


@dataclass(frozen=True)
class OverlaySettings:
    heartbeat_seconds: float = 20.0
    """The server pings each overlay this often; a silent client is dropped after 2 pings + 5 s."""
    max_frames_per_second: float = 10.0
    """Updates to one overlay are merged so it never gets more frames than this."""
    ticker_size: int = 8
    """Comments the ticker keeps (newest first)."""
    ticker_max_chars: int = 40
    """Longer comments never reach the ticker."""
    telemetry_refresh_seconds: float = 10.0
    """How often open telemetry overlays are re-read, so readings turn stale even with no news."""
    stats_refresh_seconds: float = 2.0
    """How often the live stats meter is recomputed while overlays are open."""
    ticker_review: str = "delay"
    """Viewer comments before the ticker: "approve" (a producer approves each), "delay" (shown after
    ``ticker_delay_seconds`` unless a producer drops it) or "off". Blocked comments never show."""
    ticker_delay_seconds: float = 8.0
    """How long a comment waits for a producer's veto in "delay" mode."""

    def __post_init__(self) -> None:
        if self.heartbeat_seconds < 1:
            raise ConfigError("overlays.heartbeat_seconds", "must be at least 1")
        if not 0.5 <= self.max_frames_per_second <= 60:
            raise ConfigError("overlays.max_frames_per_second", "must be 0.5..60")
        if not 1 <= self.ticker_size <= 50:
            raise ConfigError("overlays.ticker_size", "must be 1..50")
        if not 4 <= self.ticker_max_chars <= 200:
            raise ConfigError("overlays.ticker_max_chars", "must be 4..200")
        if self.telemetry_refresh_seconds < 1:
            raise ConfigError("overlays.telemetry_refresh_seconds", "must be at least 1")
        if self.stats_refresh_seconds < 0.5:
            raise ConfigError("overlays.stats_refresh_seconds", "must be at least 0.5")
        if self.ticker_review not in ("approve", "delay", "off"):
            raise ConfigError("overlays.ticker_review", 'must be "approve", "delay" or "off"')
        if not 0 <= self.ticker_delay_seconds <= 600:
            raise ConfigError("overlays.ticker_delay_seconds", "must be 0..600")
