"""``[cases]`` settings: when cases about one batch raise the quality alert."""

from __future__ import annotations

from dataclasses import dataclass

from livebot.errors import ConfigError


@dataclass(frozen=True)
class CasesSettings:
    alert_threshold: int = 2
    auto_open: bool = True

    def __post_init__(self) -> None:
        if not 1 <= self.alert_threshold <= 1000:
            raise ConfigError("cases.alert_threshold", f"must be 1..1000, got {self.alert_threshold}")
