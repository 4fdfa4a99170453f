"""``[privacy]`` settings: how long viewers' ids, names and raw payloads are kept."""

from __future__ import annotations

from dataclasses import dataclass

from livebot.errors import ConfigError


@dataclass(frozen=True)
class PrivacySettings:
    # Days viewers' platform ids, names and raw payloads are kept; older ones are purged (0: keep).
    retention_days: int = 0
    # Hours between purges (and between clean-ups of expired sessions and login windows).
    purge_interval_hours: float = 6.0

    def __post_init__(self) -> None:
        if self.retention_days < 0:
            raise ConfigError("privacy.retention_days", "must be 0 (keep) or more")
        if not 0 < self.purge_interval_hours <= 24 * 7:
            raise ConfigError("privacy.purge_interval_hours", "must be more than 0 and at most 168")
