"""``[engagement]`` settings: how often live figures are written, privacy, post-session robots."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from livebot.errors import ConfigError

PLATFORM_FIELDS = ("views", "peak_viewers", "likes", "shares", "follows", "comments")


@dataclass(frozen=True)
class EngagementSettings:
    # Live figures: minutes touched by new chat are recomputed from stored events this often.
    flush_seconds: float = 5.0
    # Show top commenters as "抖音观众 1" instead of their names (false: real names, noted in the export log).
    anonymize_users: bool = True
    # WeCom group robot webhook URLs that get the post-session summary (markdown with a link).
    report_robot_urls: tuple[str, ...] = ()
    # Seconds a robot POST may take.
    robot_timeout_seconds: float = 5.0
    # The live sentiment mix (war room, stats overlay) covers this many latest minutes.
    sentiment_window_minutes: int = 5
    # Keywords are computed from at most this many distinct comment texts (most frequent first).
    keyword_texts_limit: int = 20_000
    # Rows in each "top" list of the report (keywords, FAQ, unanswered, comments, commenters).
    top_n: int = 15
    # Generate and store the report when a session ends (subscribes to session.ended).
    report_on_session_end: bool = True
    # A session stays "active" for live figures this long after its last chat event (late answers).
    active_minutes: int = 30
    # Column names of each platform's exported figures, e.g. {douyin = {views = "累计观看人次"}}
    # (fields: views, peak_viewers, likes, shares, follows, comments); common names are known already.
    platform_columns: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not 0.05 <= self.flush_seconds <= 300:
            raise ConfigError("engagement.flush_seconds", f"must be 0.05..300, got {self.flush_seconds}")
        for index, url in enumerate(self.report_robot_urls):
            if not isinstance(url, str) or not url.startswith(("https://", "http://")):
                raise ConfigError(f"engagement.report_robot_urls[{index}]", "must be an http(s) URL")
        if not 0 < self.robot_timeout_seconds <= 60:
            raise ConfigError("engagement.robot_timeout_seconds", "must be in (0, 60]")
        if not 1 <= self.sentiment_window_minutes <= 120:
            raise ConfigError("engagement.sentiment_window_minutes", "must be 1..120")
        if not 100 <= self.keyword_texts_limit <= 1_000_000:
            raise ConfigError("engagement.keyword_texts_limit", "must be 100..1000000")
        if not 1 <= self.top_n <= 200:
            raise ConfigError("engagement.top_n", "must be 1..200")
        if not 1 <= self.active_minutes <= 24 * 60:
            raise ConfigError("engagement.active_minutes", "must be 1..1440")
        for platform, columns in self.platform_columns.items():
            if not isinstance(columns, dict):
                raise ConfigError(f"engagement.platform_columns.{platform}", "expected a table of field = column name")
            for name, header in columns.items():
                if name not in PLATFORM_FIELDS:
                    raise ConfigError(f"engagement.platform_columns.{platform}.{name}", f"unknown field; one of {', '.join(PLATFORM_FIELDS)}")
                if not isinstance(header, str) or not header.strip():
                    raise ConfigError(f"engagement.platform_columns.{platform}.{name}", "expected a column name")
