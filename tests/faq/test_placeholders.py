"""Placeholders are filled from live data; anything missing is a visible gap, never a guess."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from livebot.faq.placeholders import fill, placeholders

ANSWER = "本批次{batch.lot}来自{batch.farm}，{batch.produced}生产，今天的直播是《{session.title}》。"


def test_all_values_present() -> None:
    result = fill(
        ANSWER,
        {
            "batch": {"lot": "BJ20261124A01", "farm": "嫩江一号牧场", "produced": dt.date(2026, 11, 20)},
            "session": {"title": "透明工厂溯源直播"},
        },
    )
    assert result.text == "本批次BJ20261124A01来自嫩江一号牧场，2026-11-20生产，今天的直播是《透明工厂溯源直播》。"
    assert result.complete and result.missing == ()
    assert result.used == ("batch.lot", "batch.farm", "batch.produced", "session.title")


def test_missing_values_leave_visible_gaps() -> None:
    result = fill(ANSWER, {"batch": {"lot": "BJ20261124A01", "farm": None, "produced": ""}})
    assert "【待补充：batch.farm】" in result.text
    assert "【待补充：batch.produced】" in result.text
    assert "【待补充：session.title】" in result.text
    assert result.missing == ("batch.farm", "batch.produced", "session.title")
    assert not result.complete


def test_no_data_at_all() -> None:
    result = fill("温度{batch.temp_c}℃", {})
    assert result.text == "温度【待补充：batch.temp_c】℃" and result.missing == ("batch.temp_c",)


def test_numbers_render_exactly_and_odd_values_are_gaps() -> None:
    result = fill(
        "{a.int}|{a.dec}|{a.float}|{a.flag}|{a.list}|{a.nan}",
        {"a": {"int": 42000, "dec": Decimal("3.50"), "float": 4.2, "flag": True, "list": [1, 2], "nan": float("nan")}},
    )
    assert result.text.split("|")[:3] == ["42000", "3.50", "4.2"]
    assert result.missing == ("a.flag", "a.list", "a.nan")


def test_text_without_placeholders_is_untouched() -> None:
    text = "JSON 例子 {\"a\": 1} 和 {单个} 不是占位符"
    assert fill(text, {}).text == text
    assert placeholders("{batch.farm}和{batch.farm}、{session.title}") == ("batch.farm", "session.title")


def test_repeated_placeholder_reported_once() -> None:
    result = fill("{batch.farm}…{batch.farm}", {})
    assert result.missing == ("batch.farm",) and result.text.count("【待补充：batch.farm】") == 2
