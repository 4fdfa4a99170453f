"""The enrichment stage end to end: ``chat.stored`` on a real app's bus -> row updated -> ``chat.enriched``."""

from __future__ import annotations

import asyncio
import re
import tomllib
from collections.abc import Callable
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from livebot.app import create_app
from livebot.appkeys import BUS, DATABASE
from livebot.config import Config, config_from_mapping
from livebot.errors import ConfigError
from livebot.faq import learning, store
from livebot.faq.kb import FaqEntry
from livebot.faq.placeholders import GAP_MARKER
from livebot.faq.settings import FaqSettings
from livebot.faq.stage import STAGE
from tests.faq.live import (
    BATCH,
    WAIT,
    Enriched,
    chat_row,
    enrich,
    live_session,
    load_kb_into,
    present_lots,
    publish_stored,
    sample_entries,
    save_batch,
    stored_row,
)
from tests.support import REPO


async def test_comment_is_enriched_stored_and_published_with_live_batch_data(client: TestClient) -> None:
    app = client.app
    await load_kb_into(app)
    session_id = await live_session(app)
    lot = await save_batch(app)
    await present_lots(app, session_id, [lot])
    catcher = Enriched(app)

    message = await chat_row(app, "奶源是哪里的？", session_id=session_id)
    await publish_stored(app, message)
    (enriched,) = await catcher.wait_for(message["pk"])

    assert {k: v for k, v in enriched.items() if k != "enrichment"} == message
    enrichment = enriched["enrichment"]
    assert enrichment["is_question"] is True
    top = enrichment["suggestions"][0]
    assert top["id"] == "milk-source-location"
    assert top["question"] == "奶源来自哪里？"
    assert top["missing"] == []
    assert "BJ20261124A01" in top["answer"] and "双城牧场" in top["answer"]
    assert "11月24日 05:40" in top["answer"]
    assert "85 分钟内进入加工" in top["answer"]  # 05:40 milked -> 07:05 processing
    assert "{batch." not in top["answer"] and "待补充" not in top["answer"]
    assert top["needs_human"] is False
    assert set(enrichment) >= {"is_question", "question_confidence", "suggestions", "sentiment", "trace_codes",
                               "topic_tags"}
    assert enrichment["sentiment"]["label"] in ("positive", "neutral", "negative")
    assert enrichment["topic_tags"] == ["奶源"]

    row = await stored_row(app, message["pk"])
    assert row.is_question is True
    assert row.sentiment == enrichment["sentiment"]["score"]
    assert row.enrichment == enrichment


async def test_missing_trace_data_leaves_visible_gaps_never_numbers(client: TestClient) -> None:
    app = client.app
    await load_kb_into(app)
    session_id = await live_session(app)  # no batch presented for this session
    catcher = Enriched(app)

    enrichment = await enrich(app, catcher, "奶源是哪里的？", session_id=session_id)

    top = enrichment["suggestions"][0]
    assert top["id"] == "milk-source-location"
    assert top["missing"] == ["batch.lot", "batch.farm", "batch.milking_end", "batch.minutes_to_processing"]
    assert GAP_MARKER.format(name="batch.farm") in top["answer"]
    assert not re.search(r"\d", top["answer"])  # no number at all rather than a wrong one


async def test_batch_named_in_chat_wins_and_unknown_named_batch_is_a_gap(client: TestClient) -> None:
    app = client.app
    await load_kb_into(app)
    session_id = await live_session(app)
    await present_lots(app, session_id, [await save_batch(app)])
    other_raw = {**BATCH["raw_milk"], "lot": "RM20261120K01", "farm": "富裕牧场",
                 "milking_end": "2026-11-20T18:00:00+08:00", "processing_start": "2026-11-20T19:10:00+08:00"}
    other = await save_batch(app, lot="BJ20261120B02", raw_milk=other_raw)
    catcher = Enriched(app)

    named = await enrich(app, catcher, f"奶源是哪里的？{other}", session_id=session_id)
    answer = next(s for s in named["suggestions"] if s["id"] == "milk-source-location")
    assert "富裕牧场" in answer["answer"] and other in answer["answer"] and "70 分钟" in answer["answer"]
    assert other in named["trace_codes"]

    unknown = await enrich(app, catcher, "奶源是哪里的？BJ20250101Z99", session_id=session_id)
    answer = next(s for s in unknown["suggestions"] if s["id"] == "milk-source-location")
    assert "双城牧场" not in answer["answer"] and "BJ20261124A01" not in answer["answer"]
    assert "batch.farm" in answer["missing"]


async def test_trace_code_in_chat_adds_the_trace_reply_on_top(client: TestClient) -> None:
    app = client.app
    await load_kb_into(app)
    lot = await save_batch(app)
    catcher = Enriched(app)

    enrichment = await enrich(app, catcher, f"{lot} 这个批次怎么样")

    top = enrichment["suggestions"][0]
    assert top["id"] == f"trace:{lot}"
    assert lot in top["answer"]
    assert top["needs_human"] is False and top["missing"] == []
    assert enrichment["is_question"] is True

    typed = await enrich(app, catcher, "我家罐底是 ＢＪ2O261124AO1，能查吗")  # full-width letters, O for zero
    assert typed["suggestions"][0]["id"] == f"trace:{lot}"

    unknown = await enrich(app, catcher, "BJ20250101Z99 这个批次怎么样")
    assert all(not s["id"].startswith("trace:") for s in unknown["suggestions"])


async def test_session_placeholders_come_from_the_sessions_table(client: TestClient) -> None:
    app = client.app
    entries = [FaqEntry(id="which-show", question="这是哪一场直播？", aliases=("今天直播什么内容",),
                        answer="这里是「{session.title}」，{session.start} 开播，今天连线{session.sites}。")]
    await load_kb_into(app, entries)
    session_id = await live_session(app, title="牧场开放日 <b>特别场</b>")
    catcher = Enriched(app)

    enrichment = await enrich(app, catcher, "今天直播什么内容？", session_id=session_id)

    answer = enrichment["suggestions"][0]["answer"]
    assert "「牧场开放日 <b>特别场</b>」" in answer  # stored as text; pages escape it
    assert "北京演播厅、双城牧场" in answer
    assert re.search(r"\d{2}:\d{2} 开播", answer)


async def test_needs_human_entries_are_flagged(client: TestClient) -> None:
    app = client.app
    await load_kb_into(app)
    catcher = Enriched(app)
    enrichment = await enrich(app, catcher, "宝宝喝了以后拉肚子怎么办？")
    flagged = [s for s in enrichment["suggestions"] if s["needs_human"]]
    assert flagged, enrichment["suggestions"]
    entries = {e.id: e for e in sample_entries()}
    assert all(entries[s["id"]].needs_human for s in flagged)


async def test_traditional_emoji_only_and_long_messages_pass_through(client: TestClient) -> None:
    app = client.app
    await load_kb_into(app)
    catcher = Enriched(app)
    long_text = ("宝宝今天喝奶很好" * 70)[:499] + "？"
    messages = [await chat_row(app, text) for text in ("奶源是哪裡的？", "😀😀👍🍼", long_text, "<script>alert(1)</script>",
                                                        "\u202e奶源\u202c是哪里的", "'; DROP TABLE chat_events; --")]
    await publish_stored(app, *messages)
    results = await catcher.wait_for(*(m["pk"] for m in messages))

    traditional, emoji, long_one = (r["enrichment"] for r in results[:3])
    assert traditional["suggestions"][0]["id"] == "milk-source-location"
    assert emoji["is_question"] is False and emoji["suggestions"] == []
    assert emoji["sentiment"]["label"] == "positive"
    assert len(results[2]["text"]) == 500 and isinstance(long_one["is_question"], bool)
    for message in messages:
        assert (await stored_row(app, message["pk"])).enrichment is not None


async def test_other_kinds_and_empty_text_are_not_enriched(client: TestClient) -> None:
    app = client.app
    await load_kb_into(app)
    catcher = Enriched(app)
    like = await chat_row(app, "", kind="like")
    gift = await chat_row(app, "小心心", kind="gift")
    blank = await chat_row(app, "   ")
    marker = await chat_row(app, "奶源是哪里的？")
    await publish_stored(app, like, gift, blank, marker)
    await catcher.wait_for(marker["pk"])
    await app[STAGE].drained()
    assert set(catcher.messages) == {marker["pk"]}
    for message in (like, gift, blank):
        row = await stored_row(app, message["pk"])
        assert row.enrichment is None and row.is_question is None


async def test_each_event_is_enriched_once(client: TestClient) -> None:
    app = client.app
    await load_kb_into(app)
    catcher = Enriched(app)
    message = await chat_row(app, "奶源是哪里的？")
    await publish_stored(app, message, message)
    await catcher.wait_for(message["pk"])
    await publish_stored(app, message)  # a replayed announcement after the row was enriched
    marker = await chat_row(app, "奶牛吃什么饲料？")
    await publish_stored(app, marker)
    await catcher.wait_for(marker["pk"])
    await app[STAGE].drained()
    assert len(catcher.messages[message["pk"]]) == 1


async def test_writes_are_grouped_and_context_is_cached(client: TestClient) -> None:
    app = client.app
    await load_kb_into(app)
    session_id = await live_session(app)
    await present_lots(app, session_id, [await save_batch(app)])
    stage = app[STAGE]
    catcher = Enriched(app)
    texts = ["奶源是哪里的？", "奶牛吃什么饲料？", "主播好美", "666", "有没有优惠券？"]
    messages = [await chat_row(app, texts[i % len(texts)], session_id=session_id) for i in range(300)]
    flushes_before, queries_before = stage.flushes, stage.context.queries

    await publish_stored(app, *messages)
    await catcher.wait_for(*(m["pk"] for m in messages))

    assert stage.flushes - flushes_before < 30  # grouped: far fewer transactions than events
    assert stage.context.queries - queries_before <= 3  # session, its lot, the batch: once each
    rows = [await stored_row(app, m["pk"]) for m in messages[:10]]
    assert all(row.enrichment is not None for row in rows)


async def test_kb_edit_reaches_the_stage_through_faq_changed(client: TestClient) -> None:
    app = client.app
    await load_kb_into(app)
    stage = app[STAGE]
    catcher = Enriched(app)
    stored = await store.get_entry(app[DATABASE], "milk-source-location")
    edited = FaqEntry(**{**stored.entry.to_dict(), "answer": "奶源来自黑龙江自有牧场（已更新）",
                         "aliases": stored.entry.aliases, "tags": stored.entry.tags})
    rebuilds = stage.index.rebuilds
    await store.update_entry(app[DATABASE], edited, "li", stored.version)
    await store.announce_change(app[BUS], [edited.id], "update", "li")
    async with asyncio.timeout(WAIT):
        await stage.wait_until(lambda: stage.index.rebuilds > rebuilds)

    enrichment = await enrich(app, catcher, "奶源是哪里的？")
    assert enrichment["suggestions"][0]["answer"] == "奶源来自黑龙江自有牧场（已更新）"


async def test_edits_made_elsewhere_are_picked_up_by_refresh(client: TestClient) -> None:
    """The CLI imports without a shared bus: the periodic refresh notices the new fingerprint."""
    app = client.app
    stage = app[STAGE]
    await stage.index.rebuild()
    assert stage.index.entries == {}
    await store.import_entries(app[DATABASE], sample_entries(), "cli")
    await stage.refresh()
    assert "milk-source-location" in stage.index.entries


async def test_dismissed_chatter_is_no_longer_a_question(client: TestClient) -> None:
    app = client.app
    await load_kb_into(app)
    catcher = Enriched(app)
    before = await enrich(app, catcher, "主播是哪里人？")
    assert before["is_question"] is True

    dismissal = await learning.record_dismissal(app[DATABASE], "主播是哪里人？", "li", bus=app[BUS])
    assert dismissal is not None
    stage = app[STAGE]
    async with asyncio.timeout(WAIT):
        await stage.wait_until(lambda: dismissal.key in stage.dismissed)

    after = await enrich(app, catcher, "主播是哪里人??")
    assert after["is_question"] is False and after["suggestions"] == []
    traditional = await enrich(app, catcher, "主播是哪裡人？")
    assert traditional["is_question"] is False
    other = await enrich(app, catcher, "奶源是哪里的？")
    assert other["is_question"] is True


async def test_dismissal_without_the_bus_arrives_with_the_refresh(client: TestClient) -> None:
    app = client.app
    await load_kb_into(app)
    stage = app[STAGE]
    catcher = Enriched(app)
    await learning.record_dismissal(app[DATABASE], "你们是哪个公司的？", "li")
    await stage.refresh()
    enrichment = await enrich(app, catcher, "你们是哪个公司的？")
    assert enrichment["is_question"] is False


def test_faq_settings_from_the_example_config_and_errors_name_the_key() -> None:
    example = tomllib.loads((REPO / "config.example.toml").read_text(encoding="utf-8"))
    settings = config_from_mapping({"faq": example["faq"]}).section("faq", FaqSettings)
    assert settings == FaqSettings()
    for raw, key in (({"flush_interval_ms": 0}, "faq.flush_interval_ms"), ({"timezone": "Mars/Base"}, "faq.timezone"),
                     ({"max_suggestions": "3"}, "faq.max_suggestions"), ({"colour": 1}, "faq.colour")):
        with pytest.raises(ConfigError) as caught:
            config_from_mapping({"faq": raw}).section("faq", FaqSettings)
        assert caught.value.key == key


async def test_stage_can_be_switched_off(make_config: Callable[..., Config], aiohttp_client: Any) -> None:
    client = await aiohttp_client(create_app(make_config(faq={"enrich": False})))
    assert STAGE not in client.app
    assert (await client.get("/healthz")).status == 200


class BrokenTrace:
    """A trace area whose every lookup fails (database trouble on its side)."""

    async def batch_summary(self, db: Any, lot: str) -> dict[str, Any] | None:
        raise RuntimeError("trace store down")

    async def session_lots(self, db: Any, session_id: int) -> list[str]:
        raise RuntimeError("trace store down")

    async def find_lot(self, db: Any, code: str) -> str | None:
        raise RuntimeError("trace store down")

    async def trace_reply(self, db: Any, code: str) -> str | None:
        raise RuntimeError("trace store down")


async def test_failing_trace_lookups_leave_gaps_and_never_lose_the_message(client: TestClient) -> None:
    from livebot.faq.stage import EnrichmentStage

    app = client.app
    await load_kb_into(app)
    session_id = await live_session(app)
    stage = EnrichmentStage(app[DATABASE], app[BUS], FaqSettings(), facts=BrokenTrace())
    await stage.index.rebuild()
    message = await chat_row(app, "奶源是哪里的？BJ20261124A01", session_id=session_id)

    enrichment = await stage.enrich(message)

    top = enrichment["suggestions"][0]
    assert top["id"] == "milk-source-location"
    assert "batch.farm" in top["missing"] and "双城牧场" not in top["answer"]
    assert enrichment["trace_codes"] == ["BJ20261124A01"]


async def test_enricher_builds_belong_to_one_app_and_reuse_identical_content(make_config: Callable[..., Config]) -> None:
    from livebot.faq.kb import load_kb, sample_kb_path
    from livebot.faq.stage import ENRICHER_BUILDS, EnricherBuilds

    first, second = create_app(make_config()), create_app(make_config())
    assert first[ENRICHER_BUILDS] is not second[ENRICHER_BUILDS]

    builds = EnricherBuilds(limit=2)
    entries = load_kb(sample_kb_path())
    enricher = await builds.build(entries)
    assert await builds.build(list(entries)) is enricher  # same content: the same index
    assert await builds.build(entries, suggestions=1) is not enricher
    await builds.build(entries[:-1])
    assert len(builds) == 2  # bounded: the oldest build was let go
    assert await builds.build(entries) is not enricher


def test_compliance_verdicts_are_remembered_per_text_until_the_rules_change() -> None:
    from types import SimpleNamespace

    from livebot.compliance.engine import Finding, Result
    from livebot.faq.stage import EnrichmentStage

    checks: list[str] = []

    class FakeGuard:
        rules: object = object()
        verdict = "warn"

        def check(self, text: str) -> Result:
            checks.append(text)
            return Result(self.verdict, (Finding("r", "r.1", "warn", (0, 1), text, "e", "w", "p"),))  # type: ignore[arg-type]

    stage, guard = SimpleNamespace(verdicts={}, verdict_rules=None), FakeGuard()
    first = EnrichmentStage.checked(stage, guard, "答案")  # type: ignore[arg-type]
    first[1][0]["excerpt"] = "changed by a reader"
    assert EnrichmentStage.checked(stage, guard, "答案") == ("warn", [  # type: ignore[arg-type]
        {"rule": "r", "excerpt": "答案", "explanation": "e", "rewording": "w"}])
    assert checks == ["答案"]
    guard.rules, guard.verdict = object(), "block"  # a brand rule was added: new rules, checked again
    assert EnrichmentStage.checked(stage, guard, "答案")[0] == "block"  # type: ignore[arg-type]
    assert checks == ["答案", "答案"]
