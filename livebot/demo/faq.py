"""Demo knowledge base: the bundled sample KB, a few answers quoting live batch data, two phrasings to review.

The sample KB has no placeholders, so the demo copy (never the bundled file) gets ``{batch.*}``
sentences on the answers where viewers expect numbers about the batch on screen.
"""

from __future__ import annotations

import logging
from dataclasses import replace

from aiohttp import web

from livebot.appkeys import BUS, CONFIG, DATABASE
from livebot.faq import learning, store
from livebot.faq.kb import FaqEntry, load_kb, sample_kb_path
from livebot.faq.placeholders import placeholders

logger = logging.getLogger(__name__)

LIVE_SENTENCES = {
    "milk-source-location": "本场直播展示的批次 {batch.lot} 的生牛乳来自{batch.farm}。",
    "two-hour-ecosystem": "以本场批次 {batch.lot} 为例：{batch.milking_end} 挤奶完成，{batch.processing_start} 开始加工，"
                          "全程 {batch.minutes_to_processing} 分钟（承诺 {batch.promise_minutes} 分钟以内）。",
    "milk-cooling": "本场批次实测：挤奶后 {batch.cooling_minutes} 分钟降到 {batch.cooling_temp_c}℃。",
    "batch-testing": "本场直播的批次 {batch.lot} 共检验 {batch.inspections_total} 项，{batch.inspections_passed} 项合格。",
    "trace-info-content": "比如本场的 {batch.product}，批号 {batch.lot}，{batch.production_date} 生产于{batch.plant}。",
    "stream-replay": "本场「{session.title}」{session.start} 开播，结束后可在直播间查看回放。",
}
"""Sentences appended to answers in the demo copy (the bundled sample has no placeholders)."""

PROPOSALS = (
    ("milk-cooling", "刚挤的奶多长时间能凉下来", "advisor2"),
    ("batch-testing", "你们的奶粉是每罐都检验吗", "advisor2"),
)
"""Viewer wordings the engine does not match yet, as if an advisor had answered them."""


def demo_entries() -> list[FaqEntry]:
    """The sample KB, with live-data sentences when it has no placeholders of its own."""
    entries = load_kb(sample_kb_path())
    if any(placeholders(entry.answer) for entry in entries):
        return entries
    return [replace(e, answer=f"{e.answer}{LIVE_SENTENCES[e.id]}") if e.id in LIVE_SENTENCES else e for e in entries]


async def seed(app: web.Application) -> list[str]:
    """Import the demo KB once (a restart keeps advisors' edits), rebuild the index, queue two phrasings for review."""
    db = app[DATABASE]
    fresh = (await store.fingerprint(db))[0] == 0
    entries = demo_entries() if fresh else await store.active_entries(db)
    if fresh:
        result = await store.import_entries(db, entries, "demo")
        await store.announce_change(app[BUS], list(result.changed_ids), "import", "demo")
    from livebot.faq.stage import STAGE

    stage = app.get(STAGE)
    if stage is not None:
        await stage.index.rebuild()  # before the demo chat starts, so the first questions get answers
    queued = 0
    for entry_id, phrasing, by in PROPOSALS if fresh else ():
        if await learning.propose_alias(db, entry_id, phrasing, by) is not None:
            queued += 1
    base = app[CONFIG].server.base_url
    logger.info("demo faq entries=%d proposals=%d", len(entries), queued)
    return [f"  知识库 / KB:       {base}/faq （{len(entries)} 条问答，{queued} 条问法待审核: {base}/faq/review）"]
