"""The live platforms livebot knows and the Chinese name each is shown under: one table for
validation, the console, the overlays and the reports (they had drifted apart as three copies)."""

from __future__ import annotations

PLATFORMS = ("douyin", "kuaishou", "channels", "bilibili", "taobao", "wecom", "web", "other")
PLATFORM_LABELS = {
    "douyin": "抖音", "kuaishou": "快手", "channels": "视频号", "bilibili": "B站",
    "taobao": "淘宝直播", "wecom": "企业微信", "web": "网页", "other": "其他",
}


def platform_label(platform: str) -> str:
    """The Chinese name of ``platform``; an unknown one is shown as it is."""
    return PLATFORM_LABELS.get(platform, platform)
