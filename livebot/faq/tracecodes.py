"""Recognise traceability codes typed or pasted into chat.

Viewers paste GS1 Digital Link URLs (``https://host/01/{gtin14}/10/{lot}``) or element
strings (``(01)…(10)…``) and type batch numbers off the can bottom (``BJ20261124A01``), often
with full-width digits or the letter O for zero. The lot pattern is a constructor argument
because each brand prints its own format.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Literal

# Letters (site/line prefix), a date-like digit run, optional letter + sequence digits.
# 'O' is accepted where digits belong and turned into '0' afterwards.
DEFAULT_LOT_PATTERN = r"[A-Z]{1,4}[0-9O]{6,12}(?:[A-Z][0-9O]{1,4})?"
_DIGITAL_LINK = re.compile(
    r"https?://[^\s/]+(?:/[^\s]*?)?/01/([0-9]{8,14})(?:/10/([!-~]{1,20}?))?(?=[/?#\s]|$|[^!-~])"
)
_ELEMENT_STRING = re.compile(r"\(01\)([0-9]{14})(?:\(17\)[0-9]{6})?\(10\)([!-'*-~]{1,20})")
_O_NEAR_DIGIT = re.compile(r"(?<=[0-9O])O|O(?=[0-9])")
_FIRST_DIGIT = re.compile(r"[0-9]")


@dataclass(frozen=True, slots=True)
class TraceCode:
    """A recognised code: a bare lot, or a GS1 GTIN with an optional lot."""

    kind: Literal["lot", "gs1"]
    lot: str | None
    gtin: str | None
    raw: str

    @property
    def gtin_valid(self) -> bool:
        """True when the GTIN's check digit is right (False for bare lots)."""
        return self.gtin is not None and gtin_check_digit_ok(self.gtin)


def gtin_check_digit_ok(gtin: str) -> bool:
    """GS1 mod-10 check digit for GTIN-8/12/13/14."""
    if not gtin.isdigit() or len(gtin) not in (8, 12, 13, 14):
        return False
    digits = [int(char) for char in gtin.zfill(14)]
    total = sum(digit * (3 if position % 2 == 0 else 1) for position, digit in enumerate(digits[:-1]))
    return (10 - total % 10) % 10 == digits[-1]


class TraceCodeRecognizer:
    """Finds lots and GS1 codes in chat text; ``lot_pattern`` is matched on upper-cased text."""

    def __init__(self, lot_pattern: str = DEFAULT_LOT_PATTERN, *, min_digits: int = 6) -> None:
        self._lot = re.compile(rf"(?<![A-Z0-9])(?:{lot_pattern})(?![A-Z0-9])")
        self._min_digits = min_digits

    def find(self, text: str) -> tuple[TraceCode, ...]:
        """Every code in ``text``, GS1 forms first, without duplicates."""
        text = unicodedata.normalize("NFKC", text)
        if not any(char.isdigit() for char in text):
            return ()
        codes: list[TraceCode] = []
        remaining = text
        for pattern in (_DIGITAL_LINK, _ELEMENT_STRING):
            for match in pattern.finditer(remaining):
                lot = match.group(2)
                codes.append(TraceCode("gs1", lot.upper() if lot else None, match.group(1).zfill(14), match.group(0)))
            remaining = pattern.sub(" ", remaining)
        codes.extend(self._lots(remaining))
        return tuple(_unique(codes))

    def _lots(self, text: str) -> list[TraceCode]:
        found = []
        for match in self._lot.finditer(text.upper()):
            raw = match.group(0)
            lot = _zeros_for_letter_o(raw)
            if sum(char.isdigit() for char in lot) >= self._min_digits:
                found.append(TraceCode("lot", lot, None, raw))
        return found


def _zeros_for_letter_o(raw: str) -> str:
    """Turn a typed letter O into zero inside the digit part (the prefix letters stay)."""
    first = _FIRST_DIGIT.search(raw)
    if first is None:
        return raw
    start = first.start()
    return raw[:start] + _O_NEAR_DIGIT.sub("0", raw[start:])


def _unique(codes: list[TraceCode]) -> list[TraceCode]:
    seen: set[tuple[str | None, str | None]] = set()
    result = []
    for code in codes:
        key = (code.lot, code.gtin)
        if key not in seen:
            seen.add(key)
            result.append(code)
    return result
