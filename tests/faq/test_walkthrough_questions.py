"""The FAQ suggestions a browser walk-through saw wrong (issue 19, item 12) stay right."""

from __future__ import annotations

import pytest

from livebot.faq.enrich import Enricher


@pytest.mark.parametrize(("text", "entry"), [
    ("这批奶粉的奶源是哪个牧场", "milk-source-location"),  # was 牧场有多少头奶牛 first
    ("批号怎么查真伪", "authenticity-check"),  # was no suggestion at all
])
def test_walkthrough_questions_get_the_right_first_suggestion(enricher: Enricher, text: str, entry: str) -> None:
    result = enricher.enrich(text)
    assert result.is_question
    assert result.suggestions and result.suggestions[0].id == entry
