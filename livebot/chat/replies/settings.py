"""``[replies]``: group robots to answer WeCom groups, and the HTTP timeout of every sender.

Webhook ``reply_url`` and 微信客服 credentials live with their sources (``[[sources]]``);
only robots need their own table because a group reaches livebot through a relay's webhook
source, one robot per group channel.
"""

from __future__ import annotations

from dataclasses import dataclass

from livebot.config import secret
from livebot.errors import ConfigError


@dataclass(frozen=True)
class RobotRoute:
    """Answers to questions from ``source`` (and ``channel``, if set) go to this group robot."""

    source: str
    url: str = secret()
    """The robot's webhook URL (``.../cgi-bin/webhook/send?key=...``); may be given as ``url_env``."""
    channel: str = ""
    """The group's channel id as the relay sends it; empty: every channel of the source."""

    def __post_init__(self) -> None:
        if not self.source:
            raise ConfigError("source", "must not be empty")
        if not self.url.startswith(("http://", "https://")):
            raise ConfigError("url", "must be an http:// or https:// URL")


@dataclass(frozen=True)
class RepliesSettings:
    timeout_seconds: float = 10.0
    robots: tuple[RobotRoute, ...] = ()

    def __post_init__(self) -> None:
        if not 0 < self.timeout_seconds <= 120:
            raise ConfigError("replies.timeout_seconds", "must be in (0, 120]")
        seen: set[tuple[str, str]] = set()
        for index, robot in enumerate(self.robots):
            key = (robot.source, robot.channel)
            if key in seen:
                raise ConfigError(f"replies.robots[{index}]", f"a robot for source {robot.source!r} "
                                  f"channel {robot.channel!r} is already configured")
            seen.add(key)
