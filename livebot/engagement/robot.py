"""The post-session summary for WeCom group robots (群机器人): a short markdown with a link."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping, Sequence
from typing import Any

import aiohttp

from livebot.platforms import wecom_robot

logger = logging.getLogger(__name__)

MAX_BYTES = 4096
"""WeCom refuses markdown content longer than 4096 bytes (UTF-8)."""
MARKDOWN_SPECIAL = str.maketrans({c: " " for c in "<>[]`*_#"})


def plain(text: str, limit: int = 60) -> str:
    """Viewer- or producer-written text made inert in WeCom markdown (no links, tags or emphasis)."""
    cleaned = " ".join(str(text).translate(MARKDOWN_SPECIAL).split())
    return cleaned if len(cleaned) <= limit else cleaned[: limit - 1] + "…"


def pct(value: float | None) -> str:
    return f"{value * 100:.0f}%" if value is not None else "—"


def seconds(value: float | None) -> str:
    if value is None:
        return "—"
    return f"{value:.0f} 秒" if value < 120 else f"{value / 60:.1f} 分钟"


def summary_markdown(report: Mapping[str, Any], url: str) -> str:
    """The robot message: headline figures, top platform and segment, top keywords, a link."""
    session, s = report["session"], report["summary"]
    lines = [
        f"**【直播数据报告】{plain(session['title'], 80)}**",
        f"> 时间：{session['start_label']} – {session['end_label']}",
        f"> 峰值在线：<font color=\"info\">{s['viewers_peak'] if s['viewers_peak'] is not None else '—'}</font>"
        + (f"（{s['peak_label']}）" if s.get("peak_label") else ""),
        f"> 平均在线：{s['viewers_avg'] if s['viewers_avg'] is not None else '—'}　观看时长：{s['watched_minutes']} 人·分钟",
        f"> 评论：{s['comments']}　互动人数：{s['chatters']}　点赞：{s['likes']}",
        f"> 提问：{s['questions']}　已回复：{s['answered']}（{pct(s['answer_rate'])}）　首次响应中位数：{seconds(s['frt_median_s'])}",
        f"> 情感：正面 {pct(s['positive_share'])}　中性 {pct(s['neutral_share'])}　负面 "
        f"<font color=\"warning\">{pct(s['negative_share'])}</font>",
    ]
    platforms: Sequence[Mapping[str, Any]] = report.get("platforms") or []
    if platforms:
        lines.append("> 平台：" + "　".join(f"{plain(p['name'], 10)} {p['viewers_peak'] or 0}" for p in platforms[:4]))
    held = [g for g in report.get("segments") or [] if g.get("viewers_avg") is not None and g["id"]]
    if held:
        best = max(held, key=lambda g: g["viewers_avg"])
        lines.append(f"> 平均在线最高的段落：{plain(best['name'], 30)}（{best['viewers_avg']:.0f}）")
    words = [k["term"] for k in (report.get("topics") or {}).get("keywords", [])[:6]]
    if words:
        lines.append("> 热词：" + "、".join(plain(w, 12) for w in words))
    lines.append(f"[查看完整报告]({url})")
    content = "\n".join(lines)
    while len(content.encode()) > MAX_BYTES and len(lines) > 2:
        lines.pop(-2)
        content = "\n".join(lines)
    return content


async def post_markdown(http: aiohttp.ClientSession, url: str, content: str, timeout: float) -> str:
    """POST to one robot; '' when WeCom took it, else the reason (with the URL redacted)."""
    answer = await wecom_robot.post(http, url, wecom_robot.markdown_message(content), timeout)
    if not answer.ok:
        logger.warning("engagement robot refused or failed: %s", answer.reason)
    return answer.reason


async def send_all(http: aiohttp.ClientSession, urls: Sequence[str], content: str, timeout: float) -> list[str]:
    """Send to every robot at once; the list of failures (empty when all took it)."""
    results = await asyncio.gather(*(post_markdown(http, url, content, timeout) for url in dict.fromkeys(urls)))
    return [r for r in results if r]
