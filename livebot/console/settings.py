"""``[console]`` settings: claim timeout, grouping window, frame rates, seniors, reply retries.

Where replies go (group robots, 微信客服, webhook ``reply_url``) is configured under ``[replies]``
and ``[[sources]]`` and shared with ``livebot.chat.replies``.
"""

from __future__ import annotations

from dataclasses import dataclass

from livebot.errors import ConfigError

DEFAULT_COMPLAINT_WORDS = ("食品安全", "过敏", "投诉", "腹泻", "拉肚子", "呕吐", "变质", "异物", "举报", "维权", "起疹")


@dataclass(frozen=True)
class ConsoleSettings:
    claim_timeout_seconds: int = 300
    group_window_seconds: int = 600
    frame_interval_ms: int = 100
    intake_batch_ms: int = 40
    reorder_ms: int = 1_000
    snapshot_limit: int = 500
    chat_tail: int = 60
    chat_per_frame: int = 25
    senior_advisors: tuple[str, ...] = ()
    complaint_words: tuple[str, ...] = DEFAULT_COMPLAINT_WORDS
    escalate_needs_human: bool = True
    reply_max_attempts: int = 8
    reply_poll_seconds: float = 2.0

    def __post_init__(self) -> None:
        checks = {
            "claim_timeout_seconds": (self.claim_timeout_seconds, 10, 86_400),
            "group_window_seconds": (self.group_window_seconds, 1, 86_400),
            "frame_interval_ms": (self.frame_interval_ms, 20, 5_000),
            "intake_batch_ms": (self.intake_batch_ms, 1, 2_000),
            "reorder_ms": (self.reorder_ms, 0, 10_000),
            "snapshot_limit": (self.snapshot_limit, 10, 5_000),
            "chat_tail": (self.chat_tail, 0, 500),
            "chat_per_frame": (self.chat_per_frame, 1, 500),
            "reply_max_attempts": (self.reply_max_attempts, 1, 100),
        }
        for key, (value, low, high) in checks.items():
            if not low <= value <= high:
                raise ConfigError(f"console.{key}", f"must be {low}..{high}, got {value}")
        if not 0 < self.reply_poll_seconds <= 60:
            raise ConfigError("console.reply_poll_seconds", "must be in (0, 60]")
