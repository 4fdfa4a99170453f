"""Fill ``{scope.key}`` placeholders in FAQ answers with live data (batch, session, site ...).

An advisor must never send a wrong number: a value that is missing, empty or not a plain
scalar leaves a visible gap marker (``【待补充：batch.farm】``) and is reported in ``missing``.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\.([A-Za-z_][A-Za-z0-9_]*)\}")
GAP_MARKER = "【待补充：{name}】"


@dataclass(frozen=True, slots=True)
class FilledAnswer:
    """An answer with its placeholders replaced; ``complete`` only when nothing is missing."""

    text: str
    missing: tuple[str, ...]
    used: tuple[str, ...]

    @property
    def complete(self) -> bool:
        """True when every placeholder had a value (safe to send without editing)."""
        return not self.missing


def placeholders(answer: str) -> tuple[str, ...]:
    """The dotted placeholder names an answer uses, in order, without repeats."""
    names: list[str] = []
    for match in PLACEHOLDER.finditer(answer):
        name = f"{match.group(1)}.{match.group(2)}"
        if name not in names:
            names.append(name)
    return tuple(names)


def fill(answer: str, context: Mapping[str, Mapping[str, Any]]) -> FilledAnswer:
    """Replace each ``{scope.key}`` with ``context[scope][key]``, or a gap marker when absent."""
    missing: list[str] = []
    used: list[str] = []

    def substitute(match: re.Match[str]) -> str:
        scope, key = match.group(1), match.group(2)
        name = f"{scope}.{key}"
        rendered = render_value(_lookup(context, scope, key))
        if rendered is None:
            if name not in missing:
                missing.append(name)
            return GAP_MARKER.format(name=name)
        if name not in used:
            used.append(name)
        return rendered

    text = PLACEHOLDER.sub(substitute, answer)
    return FilledAnswer(text=text, missing=tuple(missing), used=tuple(used))


def _lookup(context: Mapping[str, Mapping[str, Any]], scope: str, key: str) -> Any:
    values = context.get(scope)
    if not isinstance(values, Mapping):
        return None
    return values.get(key)


def render_value(value: Any) -> str | None:
    """Text for a scalar value, or None when it must not be shown (missing or ambiguous)."""
    if value is None or isinstance(value, bool):
        # A bare True/False would read as a wrong fact in Chinese copy; make the advisor decide.
        return None
    if isinstance(value, str):
        return value.strip() or None
    if isinstance(value, int | Decimal):
        return str(value)
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            return None
        return format(value, "g") if abs(value) < 1e15 else None
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, dt.date):
        return value.isoformat()
    return None
