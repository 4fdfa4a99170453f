"""Batch numbers and GS1 codes typed or pasted into chat are recognised and normalised."""

from __future__ import annotations

from livebot.faq.tracecodes import TraceCodeRecognizer, gtin_check_digit_ok

RECOGNIZER = TraceCodeRecognizer()


def lots(text: str) -> list[str | None]:
    return [code.lot for code in RECOGNIZER.find(text)]


def test_plain_lot_in_chinese_text() -> None:
    assert lots("我的批次号是BJ20261124A01，是哪个牧场的？") == ["BJ20261124A01"]


def test_letter_o_for_zero_and_lower_case() -> None:
    assert lots("bj2O261124aO1") == ["BJ20261124A01"]
    assert lots("BO20261124") == ["BO20261124"]  # the prefix letter O stays a letter


def test_full_width_digits_and_letters() -> None:
    assert lots("罐底写着ＢＪ２０２６１１２４Ａ０１") == ["BJ20261124A01"]


def test_digital_link_url() -> None:
    [code] = RECOGNIZER.find("扫出来是 https://id.beijing-dairy.example/01/06901234567892/10/BJ20261124A01?linkType=all")
    assert (code.kind, code.gtin, code.lot) == ("gs1", "06901234567892", "BJ20261124A01")
    assert code.gtin_valid


def test_digital_link_without_lot_and_short_gtin() -> None:
    [code] = RECOGNIZER.find("https://x.example/01/6901234567892")
    assert code.gtin == "06901234567892" and code.lot is None


def test_element_string() -> None:
    [code] = RECOGNIZER.find("(01)06901234567892(17)281124(10)BJ20261124A01")
    assert (code.gtin, code.lot) == ("06901234567892", "BJ20261124A01")


def test_check_digit() -> None:
    assert gtin_check_digit_ok("06901234567892")
    assert not gtin_check_digit_ok("06901234567893")
    assert not gtin_check_digit_ok("abc")


def test_no_false_positives() -> None:
    for text in ("宝宝8个月了", "800g多少钱", "电话13812345678", "a2奶源", "GB 10765-2021", "hmo有吗", ""):
        assert RECOGNIZER.find(text) == ()


def test_configurable_lot_pattern() -> None:
    custom = TraceCodeRecognizer(r"LOT-[0-9]{4}", min_digits=4)
    assert [code.lot for code in custom.find("批号 lot-2026 和 BJ20261124A01")] == ["LOT-2026"]
