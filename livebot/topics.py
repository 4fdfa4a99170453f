"""Bus topics and the shape of their messages (plain JSON dicts, never mutated by consumers).

``chat.stored`` and ``chat.enriched`` are published as lists (``Bus.publish_many``: one per
ingest commit, one per enrichment flush; on Redis a JSON array per up to 500 messages): a
``subscribe_batches`` handler gets lists of these dicts, a plain ``subscribe`` handler still one
dict at a time. The shape of each message is the same either way.

The pipeline runs one way: sources -> ingest -> ``chat.stored`` -> enrichment ->
``chat.enriched`` -> consoles, overlays, engagement. Commands for overlays travel on
``overlay.control`` so that whoever changes the screen (console, producer, scheduler) need not
know how overlays store or push state.

Each topic's message has one typed shape beside it (a ``TypedDict``: the wire form is the dict
itself, so publishing costs nothing extra) and one builder; publishers build with it and readers
index the typed keys instead of guarding every ``.get``.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, NotRequired, Required, TypedDict, cast


class WireUser(TypedDict):
    id: str
    name: str


class MergedInto(TypedDict):
    """The visible head a flood repeat was merged into."""

    source: str
    id: str


class ChatStored(TypedDict):
    """One stored chat event, as ``chat.stored`` carries it (see :data:`CHAT_STORED`)."""

    pk: int
    source: str
    id: str
    platform: str
    channel: str
    kind: str
    ts: str
    user: WireUser
    text: str
    count: int | None
    viewers: int | None
    value: int | None
    session_id: int | None
    site_id: int | None
    segment_id: int | None
    hidden: bool
    flags: list[str]
    merged_count: int
    merged_into: MergedInto | None
    origin: NotRequired[str]


class Enrichment(TypedDict, total=False):
    """What the FAQ stage adds (a row enriched before a restart may carry only ``is_question``)."""

    is_question: Required[bool]
    question_confidence: float
    suggestions: list[dict[str, Any]]
    sentiment: dict[str, Any]
    trace_codes: list[str]
    topic_tags: list[str]
    text: str
    tokens: list[str]


class ChatEnriched(ChatStored):
    """A ``chat.stored`` message plus its enrichment (see :data:`CHAT_ENRICHED`)."""

    enrichment: Enrichment


def chat_stored(*, pk: int, source: str, external_id: str, platform: str, channel: str, kind: str, ts: datetime,
                user_id: str, user_name: str, text: str, count: int | None, viewers: int | None, value: int | None,
                session_id: int | None, site_id: int | None, segment_id: int | None, hidden: bool,
                flags: list[str], merged_count: int, merged_into: MergedInto | None = None,
                origin: str | None = None) -> ChatStored:
    """The one builder of a ``chat.stored`` message: from the writer's commit, or from a stored row.

    A dict display, not ``ChatStored(...)``: the same dict at a third of the cost (one per chat event)."""
    message: ChatStored = {
        "pk": pk, "source": source, "id": external_id, "platform": platform, "channel": channel, "kind": kind,
        "ts": ts.isoformat(), "user": {"id": user_id, "name": user_name}, "text": text, "count": count,
        "viewers": viewers, "value": value, "session_id": session_id, "site_id": site_id, "segment_id": segment_id,
        "hidden": hidden, "flags": flags, "merged_count": merged_count, "merged_into": merged_into,
    }
    if origin is not None:
        message["origin"] = origin
    return message


def chat_enriched(stored: ChatStored, enrichment: Enrichment) -> ChatEnriched:
    """The one builder of a ``chat.enriched`` message."""
    return ChatEnriched(**stored, enrichment=enrichment)


_STORED_TYPES: tuple[tuple[str, type | tuple[type, ...]], ...] = (
    ("source", str), ("id", str), ("platform", str), ("channel", str), ("kind", str), ("ts", str), ("text", str),
    ("hidden", bool), ("flags", list), ("merged_count", int),
)
_OPTIONAL_INTS = ("count", "viewers", "value", "session_id", "site_id", "segment_id")


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def read_chat_stored(message: Mapping[str, Any]) -> ChatStored | None:
    """``message`` as a ``chat.stored`` shape, or None when it is not one.

    The bus crosses processes (Redis), so a reader checks a message once at its door and then
    uses the typed keys; a malformed message is dropped there instead of half-read.
    """
    if not _is_int(message.get("pk")):
        return None
    for key, kind in _STORED_TYPES:
        if not isinstance(message.get(key), kind):
            return None
    user = message.get("user")
    if not (isinstance(user, Mapping) and isinstance(user.get("id"), str) and isinstance(user.get("name"), str)):
        return None
    for key in _OPTIONAL_INTS:  # a loop, not any(genexpr): this runs for every message in several consumers
        value = message.get(key)
        if value is not None and (value.__class__ is bool or not isinstance(value, int)):
            return None
    return cast(ChatStored, message)


def read_chat_enriched(message: Mapping[str, Any]) -> ChatEnriched | None:
    """``message`` as a ``chat.enriched`` shape, or None (see :func:`read_chat_stored`)."""
    enrichment = message.get("enrichment")
    if not (isinstance(enrichment, Mapping) and isinstance(enrichment.get("is_question"), bool)):
        return None
    return cast(ChatEnriched, message) if read_chat_stored(message) is not None else None


CHAT_STORED = "chat.stored"
"""After commit. {"pk", "source", "id", "platform", "channel", "kind", "ts" (ISO UTC), "user": {"id", "name"},
"text", "count", "viewers", "value", "session_id", "site_id", "segment_id", "hidden", "flags", "merged_count",
"merged_into", "origin"}. Every stored event is published once, hidden ones included (consumers filter on "hidden").
"origin" is the storing instance's ``Bus.origin``: each instance's enrichment stage takes only its own (a message
without "origin", such as one rebuilt from the database, is anyone's).
A flood repeat has "flags": ["merged"], "merged_count": 0 and "merged_into": {"source", "id"} naming the
visible head whose stored merged_count was raised by one in the same commit; otherwise "merged_into" is None
and "merged_count" is 1. "flags" may hold "merged", "link", "contact", "ad", "banned_word", "rate_limited"."""

CHAT_ENRICHED = "chat.enriched"
"""After the enrichment is stored: the ``chat.stored`` dict plus "enrichment": {"is_question",
"question_confidence", "suggestions": [{"id", "score", "question", "answer" (filled), "needs_human", "missing"}],
"sentiment": {"label", "score"}, "trace_codes": [...], "topic_tags": [...]}"""

class FaqChanged(TypedDict):
    ids: list[str]
    action: str
    by: str

FAQ_CHANGED = "faq.changed"
"""After the knowledge base changed (edit, import, approved alias): {"ids": [...], "action", "by"}. Every
instance's enrichment stage rebuilds its index from the database."""

class FaqFeedback(TypedDict):
    kind: str
    key: str
    id: int

FAQ_FEEDBACK = "faq.feedback"
"""{"kind": "dismissal", "key", "id"} after an advisor dismissed chatter; stages reload negative examples."""

class OverlayControl(TypedDict, total=False):
    """The common keys; each ``type`` adds its own fields (validated by the overlays' command parser)."""

    session_id: Required[int]
    type: Required[str]
    by: str

OVERLAY_CONTROL = "overlay.control"
"""{"session_id", "type": "scene"|"batch"|"featured"|"featured_clear"|"ticker"|"site"|"countdown", "by", ...type fields}"""

OVERLAY_SCENES: dict[str, str] = {
    "batch": "批次溯源卡",
    "chain": "2 小时鲜奶链路",
    "inspections": "检验清单",
    "ingredients": "本批配料",
    "shipping": "出厂与发货路径",
    "telemetry": "工厂实时数据",
    "site": "现场字幕条",
    "featured": "精选问答",
    "ticker": "评论滚动条",
    "stats": "直播数据",
    "countdown": "下一环节倒计时",
}
"""The scenes an ``overlay.control`` "scene" command may name, with their Chinese titles: overlays
draw them, the schedule's producer page lists them."""

BLANK_SCENE = "blank"
"""A program scene showing nothing but the lower third."""

SCENE_ALIASES: dict[str, str] = {
    "trace": "batch", "trace_card": "batch", "batch_card": "batch", "card": "batch",
    "timeline": "chain", "chain_timeline": "chain", "two_hour_chain": "chain",
    "qc": "inspections", "checklist": "inspections", "inspection": "inspections", "qc_checklist": "inspections",
    "ingredient": "ingredients", "ingredient_list": "ingredients", "formula": "ingredients",
    "shipment": "shipping", "shipments": "shipping", "shipping_path": "shipping", "distribution": "shipping", "warehouse": "shipping",
    "factory": "telemetry", "factory_telemetry": "telemetry",
    "lower_third": "site", "lowerthird": "site", "active_site": "site",
    "qa": "featured", "featured_qa": "featured", "question": "featured",
    "comments": "ticker", "comment_ticker": "ticker",
    "meter": "stats", "sentiment": "stats", "viewers": "stats",
    "next_segment": "countdown", "none": BLANK_SCENE, "clear": BLANK_SCENE, "empty": BLANK_SCENE,
}
"""Names the scheduler (its segments' scenes), consoles or operators may send for the same scenes."""


def overlay_scene(value: object) -> str | None:
    """The scene (a key of :data:`OVERLAY_SCENES`, or :data:`BLANK_SCENE`) a name or alias stands for; None when none."""
    name = str(value or "").strip().lower().replace("-", "_")
    name = SCENE_ALIASES.get(name, name)
    return name if name in OVERLAY_SCENES or name == BLANK_SCENE else None


class OverlayTokens(TypedDict):
    session_id: int
    by: str

OVERLAY_TOKENS = "overlay.tokens"
"""{"session_id", "by"} after a session's overlay token was rotated: instances close overlays using the old one."""

class TraceUpdated(TypedDict):
    lots: list[str]
    gtins: list[str]

TRACE_UPDATED = "trace.updated"
"""{"lots": [...], "gtins": [...]} after trace data was stored; "lots" names every lot written and every
batch whose ``batch_summary`` changed (e.g. a can made from a raw-milk lot that got a new inspection)."""


def _strings(value: object) -> bool:
    return isinstance(value, list) and all(isinstance(item, str) for item in value)


def read_trace_updated(message: Mapping[str, Any]) -> TraceUpdated | None:
    """``message`` as a ``trace.updated`` shape (``gtins`` may be missing), or None when it is not one."""
    lots, gtins = message.get("lots"), message.get("gtins", [])
    if not (_strings(lots) and _strings(gtins)):
        return None
    return TraceUpdated(lots=cast(list[str], lots), gtins=cast(list[str], gtins))


def read_session_id(message: Mapping[str, Any]) -> int | None:
    """The positive ``session_id`` of a message on a session's topic (``session.ended``, ``schedule.changed``,
    ``overlay.tokens``, ``engagement.{id}``), or None when it has none."""
    value = message.get("session_id")
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else None

class ScheduleChanged(TypedDict):
    session_id: int | None
    reason: str

SCHEDULE_CHANGED = "schedule.changed"
"""{"session_id", "reason"} after a session, its channels, segments or status changed (chat routers reload
``channels`` + session status; the scheduler leader re-plans the session's jobs)."""

class ScheduleReminder(TypedDict):
    session_id: int
    title: str
    lead: str
    starts_at: str
    text: str

SCHEDULE_REMINDER = "schedule.reminder"
"""{"session_id", "title", "lead" ("24h"|"1h"|"10min"), "starts_at" (ISO UTC), "text"} before a session starts."""

class SessionEnded(TypedDict):
    session_id: int

SESSION_ENDED = "session.ended"
"""{"session_id"} once a session's status became ``ended`` (the post-session report hook)."""

class TelemetryReading(TypedDict):
    plant: str
    line: str
    metric: str
    value: float | str  # a number, or a status word for line_status
    unit: str
    at: str
    stale_after_s: int

TELEMETRY = "trace.telemetry"
"""{"plant", "line", "metric", "value", "unit", "at", "stale_after_s"} for each new factory reading."""


def read_telemetry(message: Mapping[str, Any]) -> TelemetryReading | None:
    """``message`` as a ``trace.telemetry`` reading, or None when it is not one."""
    if not all(isinstance(message.get(key), str) for key in ("plant", "line", "metric", "unit", "at")):
        return None
    value = message.get("value")
    if isinstance(value, bool) or not isinstance(value, int | float | str) or not _is_int(message.get("stale_after_s")):
        return None
    return cast(TelemetryReading, message)


def console_topic(session_id: int | None) -> str:
    """Queue and claim updates for one session's advisor consoles."""
    return f"console.{session_id or 0}"


def schedule_topic(session_id: int) -> str:
    """Cues, acknowledgements, segment changes and notes for one session's producer consoles."""
    return f"schedule.{session_id}"


def engagement_topic(session_id: int) -> str:
    """Live per-minute figures for the war room and the stats overlay, after each engagement flush:
    {"session_id", "at", "minute" (ISO UTC), "viewers" (summed latest concurrent viewers, or None),
    "comments_per_min" (last complete minute), "chatters_last_minute", "sentiment": {"positive", "neutral",
    "negative" (shares of the last few minutes), "mean", "comments"}, "comments", "questions", "answered",
    "likes", "gift_value" (session totals so far)}."""
    return f"engagement.{session_id}"
