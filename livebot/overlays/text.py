"""Cleaning text for the screen: chat is hostile, so strip what could spoof or break a line.

The browser renders everything with ``textContent``, so markup is harmless there; this module
removes what is harmful even as plain text (control characters, bidi overrides that reorder a
line, zero-width tricks) and decides which comments are fit for a family-friendly ticker.
"""

from __future__ import annotations

import re
import unicodedata

BIDI_AND_INVISIBLE = re.compile("[\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff\u061c]")
CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")
SPACES = re.compile(r"\s+")
LINK = re.compile(
    r"(https?:|www\.|://|\.(com|cn|net|org|top|xyz|cc|vip|me|io|shop)\b|[a-z0-9-]+\.[a-z]{2,6}/|加微|加v|vx|v信|微信号|qq群|扣扣)",
    re.IGNORECASE,
)
DIGITS = re.compile(r"[0-9０-９①-⒇⓪-⓿]|[零〇一二三四五六七八九壹贰叁肆伍陆柒捌玖幺两]{3,}")
"""Digits, and runs of Chinese numerals long enough to spell a phone number or an account."""


def clean_text(value: object, max_chars: int) -> str:
    """One line of printable text, at most ``max_chars`` characters (an ellipsis marks a cut)."""
    text = unicodedata.normalize("NFC", str(value or ""))
    text = BIDI_AND_INVISIBLE.sub("", text)
    text = CONTROL.sub(" ", text)
    text = SPACES.sub(" ", text).strip()
    if len(text) > max_chars:
        text = text[: max_chars - 1].rstrip() + "…"
    return text


def mask_name(name: object) -> str:
    """A viewer's nickname shortened for the screen: first two characters and a mask."""
    text = clean_text(name, 24)
    if not text:
        return "观众"
    if len(text) <= 2:
        return text[0] + "*"
    return text[:2] + "**"


def ticker_safe(text: str, max_chars: int) -> bool:
    """True when a comment may scroll on air: short, no links, no numbers (phone/price spam)."""
    if not text or len(text) > max_chars:
        return False
    return not LINK.search(text) and not DIGITS.search(text)
