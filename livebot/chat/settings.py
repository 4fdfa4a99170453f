"""``[chat]`` and ``[moderation]`` settings: the ingest's limits and the moderation rules."""

from __future__ import annotations

from dataclasses import dataclass

from livebot.errors import ConfigError

DEFAULT_AD_WORDS = (
    "代购", "刷单", "兼职", "日结", "加我", "私聊我", "私信我", "低价出", "返利", "优惠券群", "引流", "招代理", "免费领",
)


@dataclass(frozen=True)
class ChatSettings:
    """How the ingest buffers and writes; the defaults hold 20k events/s on SQLite."""

    max_text_chars: int = 2000
    queue_max_events: int = 50_000
    batch_max_events: int = 5_000
    retry_after_seconds: int = 1
    routing_refresh_seconds: float = 30.0
    store_raw: bool = True
    tune_gc: bool = True
    """``livebot serve`` raises the garbage collector's thresholds at start (see livebot.cli.serve.tune_gc)."""

    def __post_init__(self) -> None:
        for name in ("max_text_chars", "queue_max_events", "batch_max_events", "retry_after_seconds"):
            if getattr(self, name) < 1:
                raise ConfigError(f"chat.{name}", "must be at least 1")
        if self.routing_refresh_seconds <= 0:
            raise ConfigError("chat.routing_refresh_seconds", "must be positive")


@dataclass(frozen=True)
class ModerationSettings:
    """Flood merging, spam flags and per-user rate limits; flagged events are hidden, never deleted."""

    enabled: bool = True
    merge_window_seconds: float = 10.0
    user_merge_window_seconds: float = 60.0
    rate_limit_messages: int = 10
    rate_limit_seconds: float = 10.0
    flag_links: bool = True
    flag_contacts: bool = True
    banned_words: tuple[str, ...] = ()
    ad_words: tuple[str, ...] = DEFAULT_AD_WORDS
    max_tracked_keys: int = 200_000

    def __post_init__(self) -> None:
        for name in ("merge_window_seconds", "user_merge_window_seconds", "rate_limit_seconds"):
            if getattr(self, name) < 0:
                raise ConfigError(f"moderation.{name}", "must not be negative")
        if self.rate_limit_messages < 0:
            raise ConfigError("moderation.rate_limit_messages", "must not be negative (0 turns the limit off)")
        if self.max_tracked_keys < 100:
            raise ConfigError("moderation.max_tracked_keys", "must be at least 100")
        for index, word in enumerate(self.banned_words):
            if not word.strip():
                raise ConfigError(f"moderation.banned_words[{index}]", "must not be empty")
