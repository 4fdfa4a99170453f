"""The per-message facade: one analysis feeding every stage, cached by text."""

from __future__ import annotations

from livebot.faq.enrich import Enricher


def test_enrichment_fields(enricher: Enricher) -> None:
    result = enricher.enrich("請問溯源碼在哪裡？批次BJ2O261124A01😡")
    assert result.text == "请问溯源码在哪里?批次bj2o261124a01"
    assert "溯源码" in result.tokens
    assert result.is_question and result.question_confidence >= 0.5
    assert result.suggestions[0].id == "trace-code-location"
    assert result.sentiment == "negative" and -1 <= result.sentiment_score < 0
    assert [code.lot for code in result.trace_codes] == ["BJ20261124A01"]


def test_chatter(enricher: Enricher) -> None:
    result = enricher.enrich("冲冲冲👍")
    assert not result.is_question and result.suggestions == ()
    assert result.sentiment == "positive"
    assert result.trace_codes == ()


def test_cached_by_text(enricher: Enricher) -> None:
    first = enricher.enrich("奶源在哪里？")
    assert enricher.enrich("奶源在哪里？") is first
    assert enricher.cache_info().hits >= 1


def test_to_dict_is_json_friendly(enricher: Enricher) -> None:
    payload = enricher.enrich("多少钱一罐").to_dict()
    assert payload["is_question"] is True
    assert payload["suggestions"][0]["id"] == "price"
    assert set(payload["sentiment"]) == {"label", "score"}


def test_a_batch_number_in_the_question_does_not_stop_ranking(enricher) -> None:
    plain = enricher.enrich("奶源是哪里的？")
    with_code = enricher.enrich("我家这罐 BJ20261120B02 的奶源是哪里的？")
    assert plain.suggestions and with_code.suggestions
    assert with_code.suggestions[0].id == plain.suggestions[0].id == "milk-source-location"
    assert [code.lot for code in with_code.trace_codes] == ["BJ20261120B02"]
