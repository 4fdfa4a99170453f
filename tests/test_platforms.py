"""The one platform label table and the one WeCom group-robot success rule."""

from __future__ import annotations

import orjson
import pytest

from livebot.platforms import PLATFORM_LABELS, PLATFORMS, platform_label
from livebot.platforms.wecom_robot import judged, markdown_message, redacted, text_message

WHERE = "https://qyapi.weixin.qq.com/cgi-bin/webhook/send"


def test_every_platform_has_a_chinese_label() -> None:
    assert set(PLATFORM_LABELS) == set(PLATFORMS)
    assert platform_label("douyin") == "抖音" and platform_label("wecom") == "企业微信"
    assert platform_label("<script>") == "<script>"  # unknown: shown as it is (pages escape it)


def test_only_errcode_zero_is_success() -> None:
    assert judged(WHERE, b'{"errcode": 0, "errmsg": "ok"}').ok
    for body in (b"{}", b'{"errmsg": "ok"}', b'{"errcode": false}', b'{"errcode": "0"}', b'{"errcode": null}',
                 b"[0]", b"0", b"null"):
        answer = judged(WHERE, body)
        assert not answer.ok and not answer.retryable, body
        assert answer.code is None


@pytest.mark.parametrize(("errcode", "retryable"), [(45009, True), (-1, True), (93000, False), (40008, False)])
def test_refusals_say_whether_to_retry(errcode: int, retryable: bool) -> None:
    answer = judged(WHERE, orjson.dumps({"errcode": errcode, "errmsg": "invalid webhook url"}))
    assert (answer.ok, answer.retryable, answer.code) == (False, retryable, errcode)
    assert "invalid webhook url" in answer.reason and WHERE in answer.reason


def test_odd_answers_are_refusals_with_a_short_reason() -> None:
    assert judged(WHERE, b"<html>busy</html>").retryable  # not JSON: a proxy page, try again
    nested = b'{"errcode": 1, "errmsg": ' + b"[" * 5000 + b"]" * 5000 + b"}"
    assert not judged(WHERE, nested).ok
    hostile = judged(WHERE, orjson.dumps({"errcode": 1, "errmsg": "<script>alert(1)</script>\u202e😀" + "长" * 10_000}))
    assert not hostile.ok and len(hostile.reason) < len(WHERE) + 200
    assert judged(WHERE, b'{"errcode": 0, "errcode": 1}').ok is False  # duplicate keys: the last one counts


def test_reasons_never_carry_the_robot_key() -> None:
    url = f"{WHERE}?key=secret-robot-key"
    assert redacted(url) == WHERE
    assert "secret" not in judged(redacted(url), b'{"errcode": 93000}').reason


def test_message_bodies() -> None:
    assert text_message("你好") == {"msgtype": "text", "text": {"content": "你好"}}
    assert markdown_message("**好**") == {"msgtype": "markdown", "markdown": {"content": "**好**"}}
