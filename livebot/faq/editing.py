"""Check an entry typed by an advisor (form or JSON) and say what is wrong in Chinese, per field.

Import files go through :mod:`livebot.faq.kb` (errors naming the entry index and field for an
operator); this module adds the limits both paths share (lengths, counts, invisible control
characters, placeholder names), so a KB edited on screen can always be exported and imported.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from aiohttp import web

from livebot.compliance.engine import OK, Result
from livebot.compliance.service import GUARD, finding_message
from livebot.errors import FieldErrors, ValidationError
from livebot.faq.errors import KnowledgeBaseError
from livebot.faq.kb import FaqEntry
from livebot.faq.placeholders import PLACEHOLDER_KEYS, placeholders
from livebot.formcheck import Fields

ID_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,99}$")
MAX_QUESTION = 200
MAX_ALIAS = 200
MAX_ALIASES = 200
MAX_ANSWER = 4000
MAX_TAG = 32
MAX_TAGS = 20
RESERVED_IDS = frozenset({"new", "review"})
"""Page paths under /faq/ that an entry id must not shadow."""
TAG_SEPARATORS = re.compile(r"[,，、;；\s]+")
# Bidirectional overrides and isolates can make text display differently from what is stored.
_BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
_ALLOWED_CONTROLS = frozenset("\n\t")


class EntryFieldError(ValidationError):
    """A field of an edited entry is invalid; ``problem`` is Chinese for the advisor."""


def has_hidden_controls(text: str) -> bool:
    """True when ``text`` holds control characters, bidi overrides (besides newline and tab) or
    lone surrogates (which no database can store)."""
    return any(
        (unicodedata.category(char) in ("Cc", "Cs") and char not in _ALLOWED_CONTROLS) or char in _BIDI_CONTROLS
        for char in text
    )


def clean_text(field: str, value: Any, *, limit: int, required: bool = True, multiline: bool = False) -> str:
    """A stripped string within ``limit`` characters, or :class:`EntryFieldError`."""
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise EntryFieldError(field, "应为文本")
    text = value.replace("\r\n", "\n").replace("\r", "\n").strip()
    if not multiline:
        text = " ".join(text.split("\n"))
    if required and not text:
        raise EntryFieldError(field, "必填")
    if len(text) > limit:
        raise EntryFieldError(field, f"不能超过 {limit} 个字（现在 {len(text)} 个）")
    if has_hidden_controls(text):
        raise EntryFieldError(field, "包含不可见的控制字符，请删除后重试")
    return text


def clean_list(field: str, values: Any, *, item_limit: int, count_limit: int, label: str) -> tuple[str, ...]:
    """Distinct stripped strings, each within ``item_limit``, at most ``count_limit`` of them."""
    if values is None:
        return ()
    if isinstance(values, str) or not isinstance(values, Sequence):
        raise EntryFieldError(field, "应为文本列表")
    items: list[str] = []
    for position, value in enumerate(values, start=1):
        if not isinstance(value, str):
            raise EntryFieldError(field, f"第 {position} 个{label}应为文本")
        text = value.strip()
        if not text:
            continue
        if len(text) > item_limit:
            raise EntryFieldError(field, f"第 {position} 个{label}不能超过 {item_limit} 个字")
        if has_hidden_controls(text):
            raise EntryFieldError(field, f"第 {position} 个{label}包含不可见的控制字符")
        if text not in items:
            items.append(text)
    if len(items) > count_limit:
        raise EntryFieldError(field, f"最多 {count_limit} 个{label}（现在 {len(items)} 个）")
    return tuple(items)


def check_placeholders(answer: str) -> None:
    """Only ``{batch.*}`` and ``{session.*}`` placeholders can be filled; others would stay gaps."""
    for name in placeholders(answer):
        scope = name.split(".", 1)[0]
        if scope not in PLACEHOLDER_KEYS:
            raise EntryFieldError("answer", f"不支持的占位符 {{{name}}}：只能使用 {{batch.*}} 或 {{session.*}}")


NO_TEXTS: tuple[str, ...] = ()


class EntryFieldErrors(FieldErrors, EntryFieldError):
    """Several fields of an edited entry are invalid (all are reported at once)."""


def check_id(raw_id: Any) -> None:
    if not isinstance(raw_id, str) or not raw_id.strip():
        raise EntryFieldError("id", "必填")
    if not ID_PATTERN.match(raw_id.strip()):
        raise EntryFieldError("id", "只能用字母、数字和 - _ . :，以字母或数字开头，最长 100 个字符")
    if raw_id.strip().lower() in RESERVED_IDS:
        raise EntryFieldError("id", f"“{raw_id.strip()}”是系统保留字，请换一个编号")


def entry_from_input(data: Mapping[str, Any], *, entry_id: str | None = None) -> FaqEntry:
    """Validate a JSON body or parsed form into an entry; ``entry_id`` overrides the body's id.

    Every field is checked; all problems come back together (:class:`~livebot.errors.FieldErrors`).
    """
    raw_id = entry_id if entry_id is not None else data.get("id")
    f = Fields()
    f.take(lambda: check_id(raw_id), None)
    needs_human = data.get("needs_human", False)
    if not isinstance(needs_human, bool):
        f.errors["needs_human"] = "应为 true 或 false"
    question = f.take(lambda: clean_text("question", data.get("question"), limit=MAX_QUESTION), "")
    aliases = f.take(lambda: clean_list("aliases", data.get("aliases", []), item_limit=MAX_ALIAS, count_limit=MAX_ALIASES,
                                        label="问法"), NO_TEXTS)
    answer = f.take(lambda: clean_text("answer", data.get("answer"), limit=MAX_ANSWER, multiline=True), "")
    f.take(lambda: check_placeholders(answer), None)
    tags = f.take(lambda: clean_list("tags", data.get("tags", []), item_limit=MAX_TAG, count_limit=MAX_TAGS, label="标签"), NO_TEXTS)
    f.done(EntryFieldErrors)
    assert isinstance(raw_id, str)
    return FaqEntry(
        id=raw_id.strip(),
        question=question,
        aliases=tuple(alias for alias in aliases if alias != question),
        answer=answer,
        tags=tags,
        needs_human=needs_human,
    )


def split_lines(text: str) -> list[str]:
    """Aliases typed one per line in a textarea."""
    return [line.strip() for line in text.replace("\r", "\n").split("\n") if line.strip()]


def split_tags(text: str) -> list[str]:
    """Tags typed in one box, separated by commas, 、 or spaces."""
    return [tag for tag in TAG_SEPARATORS.split(text) if tag]


def check_import_limits(entries: Iterable[FaqEntry]) -> None:
    """The on-screen limits applied to an imported file, naming the entry index and field."""
    for index, entry in enumerate(entries):
        try:
            entry_from_input(entry.to_dict())
        except EntryFieldError as err:
            raise KnowledgeBaseError(err.problem, index=index, entry_id=entry.id, field=err.field) from err


def kb_answer_gate(app: web.Application, answer: str) -> Result:
    """A knowledge-base answer on save: a ``block`` cannot be saved (so never offered or sent)."""
    guard = app.get(GUARD)
    if guard is None:
        return OK
    result = guard.check(answer)
    if result.blocked:
        raise EntryFieldError("answer", finding_message(result))
    return result
