"""``livebot faq calibrate``: advisors' actions refit the confidence model, measured on held-back labels.

``advisor_labels_session.jsonl`` is a recorded session of advisor actions (answered with an
entry, answered with a free text, dismissed) over outside-style viewer wordings; the labels
are split by a salted hash of the text, independent of the dev sets' halves.
"""

from __future__ import annotations

import argparse
import io
import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import insert

from livebot.cli import faq_calibrate
from livebot.config import Config
from livebot.console.models import QuestionCard
from livebot.errors import ValidationError
from livebot.faq.kb import FaqEntry, sample_kb_path
from livebot.faq.recalibrate import LabelError, case_from_label, cases_from_labels, recalibrate
from livebot.storage.engine import Database
from tests.faq.support import FIXTURES, read_jsonl


def test_refit_improves_held_back_labels(sample_entries: list[FaqEntry]) -> None:
    labels = read_jsonl("advisor_labels_session.jsonl")
    result = recalibrate(sample_entries, cases_from_labels(labels, sample_entries))
    assert result.fitted_on > 50 and result.held_back > 50
    assert result.log_loss_after < result.log_loss_before
    assert result.after.top1 >= result.before.top1
    assert result.after.top3 >= result.before.top3
    assert all(entry in {e.id for e in sample_entries} for entry, _ in result.aliases)
    assert result.aliases  # answered wordings the engine missed are proposed


def args_for(**values: Any) -> argparse.Namespace:
    return argparse.Namespace(**{"kb": str(sample_kb_path()), "session": None, "labels": None, "config": None, **values})


def test_cli_prints_before_and_after() -> None:
    out = io.StringIO()
    assert faq_calibrate.run_calibrate(args_for(labels=str(FIXTURES / "advisor_labels_session.jsonl")), out) == 0
    text = out.getvalue()
    for label in ("before", "after", "log-loss", "top-1", "top-3", "abstention", "CALIBRATION =", "proposed aliases"):
        assert label in text


@pytest.mark.parametrize(
    "label",
    [
        {"text": "奶源在哪", "action": "answered"},  # no entry
        {"text": "奶源在哪", "action": "deleted"},
        {"text": "", "action": "dismissed"},
        {"text": 42, "action": "dismissed"},
        {"text": "奶源在哪", "action": ["answered"]},
    ],
)
def test_bad_labels_are_refused(label: dict[str, Any]) -> None:
    with pytest.raises(LabelError):
        case_from_label(label)


def test_labels_deduplicate_skip_unknown_entries_and_keep_hostile_text(sample_entries: list[FaqEntry]) -> None:
    hostile = "<script>alert(1)</script>\x00\u202e奶源在哪😀" * 3
    cases = cases_from_labels(
        [
            {"text": "奶源在哪", "action": "answered", "faq_id": "milk-source-location"},
            {"text": "奶源在哪", "action": "answered", "faq_id": "milk-source-location"},
            {"text": "打卡", "action": "dismissed"},
            {"text": "有没有羊奶粉", "action": "answered", "faq_id": "no-such-entry"},
            {"text": hostile, "action": "free_answer", "faq_id": None},
        ],
        sample_entries,
    )
    assert [case["text"] for case in cases] == ["奶源在哪", "打卡", hostile]
    assert cases[1] == {"text": "打卡", "faq_id": None, "is_question": False}
    assert cases[2]["is_question"] is True


def test_too_few_or_too_many_labels(sample_entries: list[FaqEntry]) -> None:
    with pytest.raises(LabelError):
        recalibrate(sample_entries, [{"text": "奶源在哪", "faq_id": "milk-source-location"}])
    with pytest.raises(LabelError):
        cases_from_labels(({"text": f"问题{n}", "action": "dismissed"} for n in range(60_000)), sample_entries)
    with pytest.raises(LabelError):
        cases_from_labels([[1, [2, [3]]]], sample_entries)  # type: ignore[list-item]


def test_malformed_labels_file_is_a_clean_error(tmp_path: Path) -> None:
    bad = tmp_path / "labels.jsonl"
    bad.write_text(json.dumps({"text": "奶源在哪", "action": "answered"}, ensure_ascii=False) + "\n", encoding="utf-8")
    with pytest.raises(ValidationError):
        faq_calibrate.run_calibrate(args_for(labels=str(bad)), io.StringIO())


async def test_session_labels_come_from_question_cards(config: Config) -> None:
    db = Database.open(config.database.url)
    try:
        async with db.sessions() as session:
            await session.execute(insert(QuestionCard), [
                {"session_id": 7, "group_key": "a", "status": "answered", "text": "奶源在哪", "faq_id": "milk-source-location",
                 "askers": [{"text": "奶源是哪的"}, {"text": "奶源在哪"}]},
                {"session_id": 7, "group_key": "b", "status": "answered", "text": "能开发票吗", "faq_id": None, "askers": []},
                {"session_id": 7, "group_key": "c", "status": "dismissed", "text": "打卡", "askers": [{"nick": "x"}]},
                {"session_id": 7, "group_key": "d", "status": "open", "text": "还没答", "askers": []},
                {"session_id": 8, "group_key": "e", "status": "dismissed", "text": "别的场", "askers": []},
            ])
            await session.commit()
    finally:
        await db.close()
    labels = await faq_calibrate.session_labels(config, 7)
    assert sorted((label["text"], label["action"], label["faq_id"]) for label in labels) == [
        ("奶源在哪", "answered", "milk-source-location"),
        ("奶源是哪的", "answered", "milk-source-location"),
        ("打卡", "dismissed", None),
        ("能开发票吗", "free_answer", None),
    ]
