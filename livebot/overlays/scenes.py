"""The overlay scenes: their names, what they are called on screen, and the names others may use."""

from __future__ import annotations

from livebot.overlays.errors import BadCommand

SCENES: dict[str, str] = {
    "batch": "批次溯源卡",
    "chain": "2 小时鲜奶链路",
    "inspections": "检验清单",
    "ingredients": "本批配料",
    "shipping": "出厂与发货路径",
    "telemetry": "工厂实时数据",
    "site": "现场字幕条",
    "featured": "精选问答",
    "ticker": "评论滚动条",
    "stats": "直播数据",
    "countdown": "下一环节倒计时",
}
"""Every single-graphic scene page, with its Chinese title (for the producer page)."""

PROGRAM = "program"
"""The combined page: whichever scene the producer selected, plus the lower third."""

BLANK = "blank"
"""A program scene showing nothing but the lower third."""

PROGRAM_SCENES = (*SCENES, BLANK)
"""What the ``scene`` command may switch the program page to."""

ALIASES: dict[str, str] = {
    "trace": "batch", "trace_card": "batch", "batch_card": "batch", "card": "batch",
    "timeline": "chain", "chain_timeline": "chain", "two_hour_chain": "chain",
    "qc": "inspections", "checklist": "inspections", "inspection": "inspections", "qc_checklist": "inspections",
    "ingredient": "ingredients", "ingredient_list": "ingredients", "formula": "ingredients",
    "shipment": "shipping", "shipments": "shipping", "shipping_path": "shipping", "distribution": "shipping", "warehouse": "shipping",
    "factory": "telemetry", "factory_telemetry": "telemetry",
    "lower_third": "site", "lowerthird": "site", "active_site": "site",
    "qa": "featured", "featured_qa": "featured", "question": "featured",
    "comments": "ticker", "comment_ticker": "ticker",
    "meter": "stats", "sentiment": "stats", "viewers": "stats",
    "next_segment": "countdown", "none": BLANK, "clear": BLANK, "empty": BLANK,
}
"""Names the scheduler, consoles or operators may reasonably send for the same scenes."""


def scene_name(value: object) -> str:
    """The canonical program scene for a name or alias, or :class:`BadCommand`."""
    name = str(value or "").strip().lower().replace("-", "_")
    name = ALIASES.get(name, name)
    if name not in PROGRAM_SCENES:
        raise BadCommand("scene", f"未知画面 {str(value)[:40]!r}，应为以下之一：{'、'.join(PROGRAM_SCENES)}")
    return name


def page_scene(value: str) -> str | None:
    """The scene page for a URL segment (``program`` included), or None when there is none."""
    if value == PROGRAM:
        return PROGRAM
    name = ALIASES.get(value.lower().replace("-", "_"), value.lower())
    return name if name in SCENES else None
