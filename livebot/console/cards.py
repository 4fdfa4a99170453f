"""What a question card is made of: the grouping key, the flags, and the JSON consoles get.

Duplicate grouping must be explainable to the advisor looking at a card with 37 askers, so a
key is one of two readable things: the id of the top FAQ suggestion (``faq:<id>``: different
wordings the engine mapped to the same answer) or the normalised text itself (``text:<hash>``:
the same words typed on several platforms). ``group_reason`` says which, in Chinese.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from livebot.console.models import QuestionCard
from livebot.topics import ConsoleCard

MAX_TEXT = 500
MAX_ASKERS = 30
GROUP_MIN_SCORE = 0.5
"""A top suggestion merges different wordings into one card only when the FAQ engine is confident
of it: answering a card answers every asker, so a shaky guess must not pull unrelated questions in."""
_NOT_WORD = re.compile(r"[\W_]+", re.UNICODE)
_TRAILING_PARTICLES = re.compile(r"[吗嘛呢啊呀吧哈哦么捏]+$")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff\ud800-\udfff]")
"""Controls, bidi overrides, zero-width marks, and lone surrogates (no database can store them)."""


def normalised_text(text: str) -> str:
    """Full-width folded, lower-cased, punctuation-free, without trailing particles."""
    folded = unicodedata.normalize("NFKC", text).casefold()
    words = _NOT_WORD.sub("", folded)
    return _TRAILING_PARTICLES.sub("", words) or words


def clean_text(text: str, limit: int = MAX_TEXT) -> str:
    """Chat or answer text safe to store and show: no control or bidi-override characters."""
    return _CONTROL.sub("", text).strip()[:limit]


@dataclass(frozen=True, slots=True)
class GroupKey:
    key: str
    reason: str


def group_key(text: str, suggestions: list[dict[str, Any]]) -> GroupKey:
    """The key that makes two questions one card, and why, in words an advisor understands."""
    top = suggestions[0] if suggestions else {}
    if top.get("id") and confident(top):
        label = str(top.get("question") or top["id"])[:80]
        return GroupKey(f"faq:{str(top['id'])[:180]}", f"推荐答案相同：{label}")
    norm = normalised_text(text)
    digest = hashlib.sha1(norm.encode()).hexdigest()[:20]
    return GroupKey(f"text:{digest}", f"问题文字相同：{norm[:40]}")


def confident(suggestion: Mapping[str, Any]) -> bool:
    try:
        return float(suggestion.get("score") or 0.0) >= GROUP_MIN_SCORE
    except (TypeError, ValueError):
        return False


def is_complaint(text: str, words: Iterable[str]) -> bool:
    """Complaints and food-safety worries go to a senior advisor, whatever the FAQ says."""
    return any(word and word in text for word in words)


def clean_suggestions(raw: Any) -> list[dict[str, Any]]:
    """At most three suggestions with the fields the console shows, typed defensively."""
    if not isinstance(raw, list):
        return []
    result = []
    for item in raw[:3]:
        if not isinstance(item, Mapping) or not item.get("id"):
            continue
        try:
            score = float(item.get("score") or 0.0)
        except (TypeError, ValueError):
            score = 0.0
        missing = item.get("missing") or []
        result.append({
            "id": str(item["id"])[:100],
            "score": round(score, 4),
            "question": str(item.get("question") or "")[:300],
            "answer": str(item.get("answer") or "")[:2000],
            "needs_human": bool(item.get("needs_human")),
            "missing": [str(m)[:80] for m in missing][:10] if isinstance(missing, list) else [],
        })
    return result


def iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def card_payload(card: QuestionCard, site_names: Mapping[int, str], segment_names: Mapping[int, str] | None = None) -> ConsoleCard:
    """The card as every console renders it (the same dict in snapshots and updates)."""
    segment = (segment_names or {}).get(card.segment_id, "") if card.segment_id is not None else ""
    return {
        "id": card.id,
        "session_id": card.session_id,
        "version": card.version,
        "status": card.status,
        "group_key": card.group_key,
        "group_reason": card.group_reason,
        "text": card.text,
        "faq_id": card.faq_id,
        "suggestions": card.suggestions or [],
        "needs_human": card.needs_human,
        "complaint": card.complaint,
        "escalated": card.escalated_at is not None,
        "escalated_by": card.escalated_by,
        "escalate_note": card.escalate_note,
        "ask_count": card.ask_count,
        "askers": card.askers or [],
        "platforms": card.platforms or [],
        "sites": [site_names.get(site_id, f"站点 {site_id}") for site_id in card.site_ids or []],
        "site_ids": card.site_ids or [],
        "segment_id": card.segment_id,
        "segment": segment,
        "first_asked_at": iso(card.first_asked_at),
        "last_asked_at": iso(card.last_asked_at),
        "claimed_by": card.claimed_by,
        "claimed_by_name": card.claimed_by_name,
        "claimed_at": iso(card.claimed_at),
        "answered_by": card.answered_by,
        "answered_by_name": card.answered_by_name,
        "answered_at": iso(card.answered_at),
        "answer_text": card.answer_text,
        "answer_mode": card.answer_mode,
        "reply_status": card.reply_status,
        "reply_error": card.reply_error,
        "dismissed_by": card.dismissed_by,
        "featured": card.featured,
    }
