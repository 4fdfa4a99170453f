"""The ingredient-list and shipping-path scenes: what they say for a lot, gaps said as gaps (presentation, no browser)."""

from __future__ import annotations

from livebot.overlays.present import batch_part
from livebot.overlays.scenes import scene_name
from tests.overlays.support import SUMMARY


def test_ingredients_scene_lists_each_lot_with_source_and_tests() -> None:
    part = batch_part(SUMMARY["lot"], SUMMARY, "Asia/Shanghai")
    rows = part["ingredients"]["items"]
    assert part["ingredients"]["total"] == 2
    assert rows[0] == {"name": "乳铁蛋白", "lot": "LF20261120A", "source": "示例乳铁蛋白供应商 · 新西兰", "checks": "检验 1/1 合格", "passed": True}
    assert rows[1]["checks"] == "检验 暂无数据" and rows[1]["passed"] is False


def test_shipping_scene_is_production_packing_warehouse_shipments() -> None:
    steps = batch_part(SUMMARY["lot"], SUMMARY, "Asia/Shanghai")["shipping"]["steps"]
    assert [s["label"] for s in steps] == ["生产", "包装", "入库", "发货"]
    assert steps[1]["time"] == "11-20 13:25" and steps[2]["detail"] == "哈尔滨成品仓 · 17.5–18.2 °C"
    assert steps[3]["detail"] == "发往华东" and all(s["done"] for s in steps)


def test_missing_parts_are_gaps_not_guesses() -> None:
    bare = {k: v for k, v in SUMMARY.items() if k not in ("ingredients", "packing", "warehouse", "shipments")}
    part = batch_part(SUMMARY["lot"], bare, "Asia/Shanghai")
    assert part["ingredients"] == {"items": [], "total": 0}
    shipping = part["shipping"]
    assert shipping["shipped"] is False
    assert [(s["label"], s["time"], s["detail"]) for s in shipping["steps"][1:]] == [("包装", "", "暂无数据"), ("入库", "", "暂无数据"),
                                                                                     ("发货", "", "暂无数据")]


def test_hostile_and_malformed_entries_are_text_or_skipped() -> None:
    odd = {**SUMMARY, "ingredients": ["x", None, {"name": "<img src=x onerror=1>\u202e乳糖" + "长" * 40, "lot": "L1"}],
           "shipments": [{"at": "never", "region": "<b>华南</b>"}, 5], "packing": "yesterday", "warehouse": None}
    part = batch_part(SUMMARY["lot"], odd, "Asia/Shanghai")
    (row,) = part["ingredients"]["items"]
    assert "\u202e" not in row["name"] and len(row["name"]) <= 16 and row["source"] == "暂无数据"
    steps = part["shipping"]["steps"]
    assert steps[1]["detail"] == "暂无数据" and steps[3]["time"] == "" and steps[3]["detail"] == "发往<b>华南</b>"


def test_scene_names_and_aliases() -> None:
    assert scene_name("ingredient-list") == "ingredients" and scene_name("shipping_path") == "shipping"
    assert scene_name("warehouse") == "shipping"
