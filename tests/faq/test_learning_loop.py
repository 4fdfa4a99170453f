"""An advisor-approved phrasing, added as an alias, improves ranking immediately."""

from __future__ import annotations

import pytest

from livebot.faq.enrich import Enricher
from livebot.faq.errors import UnknownEntryError
from livebot.faq.kb import FaqEntry
from livebot.faq.ranking import CONFIDENT

PHRASING = "罐子上那个会员积分怎么兑换"  # the sample knowledge base has no such entry


@pytest.fixture
def engine(sample_entries: list[FaqEntry]) -> Enricher:
    entries = [*sample_entries, FaqEntry(id="loyalty-points", question="会员怎么入会？", answer="关注公众号即可入会。")]
    return Enricher(entries)


def top(engine: Enricher, text: str) -> list[str]:
    return [suggestion.id for suggestion in engine.enrich(text).suggestions[:1]]


def confident(engine: Enricher, text: str) -> list[str]:
    """The first suggestion when its chance clears ``CONFIDENT`` (no new alias needed)."""
    return [s.id for s in engine.enrich(text).suggestions[:1] if s.score >= CONFIDENT]


def test_new_alias_turns_a_guess_into_a_confident_first_place(engine: Enricher) -> None:
    # Before: at best a low-confidence reading (入会 is not 积分兑换); after: a confident one.
    assert confident(engine, PHRASING) != ["loyalty-points"]
    updated = engine.add_alias("loyalty-points", "积分怎么兑换")
    assert "积分怎么兑换" in updated.aliases
    assert engine.entry("loyalty-points") == updated
    assert confident(engine, PHRASING) == ["loyalty-points"]


def test_alias_fixes_a_wrong_first_place(engine: Enricher) -> None:
    phrasing = "打开以后罐口那层纸撕不下来咋办"
    assert top(engine, phrasing) != ["canning-nitrogen"]
    engine.add_alias("canning-nitrogen", "罐口那层铝膜撕不下来")
    assert top(engine, phrasing) == ["canning-nitrogen"]


def test_rebuild_replaces_the_knowledge_base(engine: Enricher) -> None:
    assert top(engine, "奶源在哪里") == ["milk-source-location"]
    engine.rebuild([FaqEntry(id="only", question="奶源在哪里？", answer="黑龙江")])
    assert top(engine, "奶源在哪里") == ["only"]
    assert [entry.id for entry in engine.entries] == ["only"]


def test_unknown_entry_is_an_error(engine: Enricher) -> None:
    with pytest.raises(UnknownEntryError):
        engine.add_alias("no-such-entry", "随便")
