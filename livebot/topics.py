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
from datetime import UTC, datetime
from typing import Any, Literal, NotRequired, Required, TypedDict, cast


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


def chat_time(ts: object) -> datetime | None:
    """The ``ts`` of a chat message as an aware datetime (a naive one is taken as UTC); None when it is no ISO time."""
    if not isinstance(ts, str):
        return None
    try:
        moment = datetime.fromisoformat(ts)
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def chat_enriched(stored: ChatStored, enrichment: Enrichment) -> ChatEnriched:
    """The one builder of a ``chat.enriched`` message."""
    return ChatEnriched(**stored, enrichment=enrichment)


class Exact(tuple[type, ...]):
    """Types a value must have exactly (not a subclass), so that ``True`` is not taken for a number."""


INT = Exact((int,))
OPTIONAL_INT = Exact((int, type(None)))
NUMBER = Exact((int, float))
NUMBER_OR_WORD = Exact((int, float, str))


class Shape:
    """The keys a reader checks at its door and their types (of exactly one of them for an :class:`Exact`).

    The bus crosses processes (Redis), so a reader checks a message once on arrival and then uses the
    typed keys; a malformed message is dropped there instead of half-read. A missing key holds None."""

    __slots__ = ("checks",)

    def __init__(self, *fields: tuple[str, type | tuple[type, ...]]) -> None:
        self.checks = tuple((key, passing(kind), None if isinstance(kind, Exact) else kind) for key, kind in fields)
        """Per key: the JSON types that pass at once, and the type to ask isinstance about any other."""

    def fits(self, message: Mapping[str, Any]) -> bool:
        get = message.get  # bound once: this runs for every message every reader takes
        for key, fast, kind in self.checks:
            value = get(key)
            if type(value) in fast:
                continue  # what JSON decodes to: no isinstance against an ABC (``Mapping``) per key
            if kind is None or not isinstance(value, kind):
                return False
        return True


JSON_TYPES = (str, int, float, bool, type(None), dict, list)


def passing(kind: type | tuple[type, ...]) -> frozenset[type]:
    """The JSON types a :class:`Shape` key of ``kind`` takes without asking isinstance: all of an
    :class:`Exact` kind's own types, and the JSON types that are subclasses of a loose kind."""
    if isinstance(kind, Exact):
        return frozenset(kind)
    kinds = kind if isinstance(kind, tuple) else (kind,)
    return frozenset(t for t in JSON_TYPES if issubclass(t, kinds))


_STORED_KEYS: tuple[tuple[str, type | tuple[type, ...]], ...] = (
    ("pk", INT), ("source", str), ("id", str), ("platform", str), ("channel", str), ("kind", str), ("ts", str),
    ("user", Mapping), ("text", str), ("hidden", bool), ("flags", list), ("merged_count", INT), ("count", OPTIONAL_INT),
    ("viewers", OPTIONAL_INT), ("value", OPTIONAL_INT), ("session_id", OPTIONAL_INT), ("site_id", OPTIONAL_INT),
    ("segment_id", OPTIONAL_INT),
)
_STORED = Shape(*_STORED_KEYS)
_ENRICHED = Shape(*_STORED_KEYS, ("enrichment", Mapping))
_USER = Shape(("id", str), ("name", str))
_ENRICHMENT = Shape(("is_question", bool))


def read_chat_stored(message: Mapping[str, Any]) -> ChatStored | None:
    """``message`` as a ``chat.stored`` shape, or None when it is not one."""
    if not (_STORED.fits(message) and _USER.fits(message["user"])):
        return None
    return cast(ChatStored, message)


def read_chat_enriched(message: Mapping[str, Any]) -> ChatEnriched | None:
    """``message`` as a ``chat.enriched`` shape, or None (see :func:`read_chat_stored`)."""
    if not (_ENRICHED.fits(message) and _USER.fits(message["user"]) and _ENRICHMENT.fits(message["enrichment"])):
        return None
    return cast(ChatEnriched, message)


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

_FEEDBACK = Shape(("kind", str), ("key", str), ("id", INT))


def read_faq_feedback(message: Mapping[str, Any]) -> FaqFeedback | None:
    """``message`` as a ``faq.feedback`` shape, or None when it is not one."""
    return cast(FaqFeedback, message) if _FEEDBACK.fits(message) else None

class OverlayControl(TypedDict, total=False):
    """The common keys; each ``type`` adds its own fields (validated by the overlays' command parser)."""

    session_id: Required[int]
    type: Required[str]
    by: str
    cmd_id: str
    """Set by the overlays' API, whose caller waits for the command to be applied."""


def overlay_control(session_id: int, kind: str, by: str, **fields: Any) -> OverlayControl:
    """The one builder of an ``overlay.control`` message: the common keys and the ``kind``'s own fields."""
    return cast(OverlayControl, {"session_id": session_id, "type": kind, "by": by, **fields})

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


_TRACE_UPDATED = Shape(("lots", list))


def read_trace_updated(message: Mapping[str, Any]) -> TraceUpdated | None:
    """``message`` as a ``trace.updated`` shape (``gtins`` may be missing), or None when it is not one."""
    gtins = message.get("gtins", [])
    if not (_TRACE_UPDATED.fits(message) and _strings(message["lots"]) and _strings(gtins)):
        return None
    return TraceUpdated(lots=message["lots"], gtins=gtins)


def read_session_id(message: Mapping[str, Any]) -> int | None:
    """The positive ``session_id`` of a message on a session's topic (``session.ended``, ``schedule.changed``,
    ``overlay.tokens``, ``engagement.{id}``), or None when it has none."""
    value = message.get("session_id")
    return value if type(value) is int and value > 0 else None


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


_TELEMETRY = Shape(("plant", str), ("line", str), ("metric", str), ("value", NUMBER_OR_WORD), ("unit", str),
                             ("at", str), ("stale_after_s", INT))


def read_telemetry(message: Mapping[str, Any]) -> TelemetryReading | None:
    """``message`` as a ``trace.telemetry`` reading, or None when it is not one."""
    return cast(TelemetryReading, message) if _TELEMETRY.fits(message) else None


def console_topic(session_id: int | None) -> str:
    """Queue and claim updates for one session's advisor consoles: a :class:`ConsoleUpdate`."""
    return f"console.{session_id or 0}"


class ConsoleCard(TypedDict):
    """One question card as every console renders it (in snapshots, updates and the console API alike)."""

    id: int
    session_id: int
    version: int
    status: str
    group_key: str
    group_reason: str
    text: str
    faq_id: str | None
    suggestions: list[dict[str, Any]]
    needs_human: bool
    complaint: bool
    escalated: bool
    escalated_by: str
    escalate_note: str
    ask_count: int
    askers: list[dict[str, Any]]
    platforms: list[str]
    sites: list[str]
    site_ids: list[int]
    segment_id: int | None
    segment: str
    first_asked_at: str | None
    last_asked_at: str | None
    claimed_by: str | None
    claimed_by_name: str
    claimed_at: str | None
    answered_by: str | None
    answered_by_name: str
    answered_at: str | None
    answer_text: str | None
    answer_mode: str
    reply_status: str
    reply_error: str
    dismissed_by: str
    featured: bool


class ConsoleAsk(TypedDict):
    """A viewer's question joined to a card by this change: the stored chat event (``pk``) and its ids."""

    card: int
    id: str
    source: str
    event: int


class ConsoleUpdate(TypedDict):
    """One committed change of a session's queue on ``console.{session_id}``: its sequence number, each
    changed card at its new version and the asks it added. Consoles apply ``seq`` ranges in order."""

    session_id: int
    seq: int
    cards: list[ConsoleCard]
    asks: list[ConsoleAsk]


def console_update(session_id: int, seq: int, cards: list[ConsoleCard], asks: list[ConsoleAsk]) -> ConsoleUpdate:
    """The one builder of a ``console.{session_id}`` message."""
    return {"session_id": session_id, "seq": seq, "cards": cards, "asks": asks}


_CARD = Shape(("id", INT), ("version", INT), ("needs_human", bool), ("complaint", bool))
_UPDATE = Shape(("session_id", INT), ("seq", INT), ("cards", list), ("asks", list))


def read_console_update(message: Mapping[str, Any]) -> ConsoleUpdate | None:
    """``message`` as a ``console.{id}`` update, or None when it is not one (the envelope, and of each card the
    keys readers act on: ``id`` and ``version`` that order updates, ``needs_human`` and ``complaint`` that open
    cases; the rest is rendered as it is)."""
    if not (_UPDATE.fits(message)
            and all(isinstance(card, Mapping) and _CARD.fits(card) for card in message["cards"])):
        return None
    return cast(ConsoleUpdate, message)


def schedule_topic(session_id: int) -> str:
    """Cues, acknowledgements, segment changes and notes for one session's producer consoles: a
    :data:`ScheduleNews` (which the producer page tells apart by ``type``)."""
    return f"schedule.{session_id}"


class StatusNews(TypedDict):
    session_id: int
    type: Literal["status"]
    status: str
    at: str
    by: str


class SegmentNews(TypedDict):
    """A segment went on air (``segment``: the run-of-show segment as the producer page reads it)."""

    session_id: int
    type: Literal["segment"]
    segment: dict[str, Any]
    started_at: str
    on_air_site_id: int | None
    by: str


class SiteNews(TypedDict):
    session_id: int
    type: Literal["site"]
    site_id: int
    name: str
    at: str
    by: str


class ModeNews(TypedDict):
    session_id: int
    type: Literal["mode"]
    mode: str
    at: str
    by: str


class CueNews(TypedDict):
    """A cue every site of ``expects`` acknowledges (``at_segment_id``: what was on air when it was sent)."""

    session_id: int
    type: Literal["cue"]
    cue_id: int
    cue: str
    segment_id: int | None
    target_site_id: int | None
    from_site_id: int | None
    text: str
    label: str
    expects: list[int]
    at_segment_id: int | None
    at: str
    by: str


class AckNews(TypedDict):
    """A site is ready for a cue; ``duplicate`` only in the answer to a repeated ack (never published)."""

    session_id: int
    type: Literal["ack"]
    cue_id: int
    site_id: int
    site_name: str
    text: str
    at: str
    by: str
    duplicate: NotRequired[bool]


class NoteNews(TypedDict):
    session_id: int
    type: Literal["note"]
    id: int
    text: str
    site_id: int | None
    site_name: str
    at: str
    by: str


class ReminderNews(ScheduleReminder):
    type: Literal["reminder"]


class JobNews(TypedDict):
    """What a scheduled job did at its planned time (``outcome``: done, skipped, failed, missed …)."""

    session_id: int
    type: Literal["job"]
    job_id: str
    kind: str
    outcome: str
    detail: str
    planned_at: str


ScheduleNews = StatusNews | SegmentNews | SiteNews | ModeNews | CueNews | AckNews | NoteNews | ReminderNews | JobNews
"""What ``schedule.{session_id}`` carries: one of these, told apart by ``type``; each names its session."""


def engagement_topic(session_id: int) -> str:
    """Live per-minute figures for the war room and the stats overlay, after each engagement flush: an
    :class:`EngagementLive`."""
    return f"engagement.{session_id}"


class SentimentMix(TypedDict):
    """Shares of the last few minutes' labelled comments (0..1 each), their mean score and how many there were."""

    positive: float
    neutral: float
    negative: float
    mean: float | None
    comments: int


class EngagementLive(TypedDict):
    """A session's headline figures right now (see :data:`engagement_topic`; also the live API's body)."""

    session_id: int
    at: str
    """When the figures were taken (ISO UTC)."""
    minute: str
    """The current minute (ISO UTC)."""
    viewers: int | None
    """Summed latest concurrent viewers of the session's channels, or None when none reported any."""
    comments_per_min: int
    """Comments of the last complete minute."""
    chatters_last_minute: int
    sentiment: SentimentMix
    comments: int
    questions: int
    answered: int
    likes: int
    gift_value: int
    """Session totals so far (``comments`` … ``gift_value``)."""


def engagement_live(*, session_id: int, at: datetime, minute: datetime, viewers: int | None, comments_per_min: int,
                    chatters_last_minute: int, sentiment: SentimentMix, comments: int, questions: int, answered: int,
                    likes: int, gift_value: int) -> EngagementLive:
    """The one builder of an ``engagement.{session_id}`` message."""
    return {"session_id": session_id, "at": at.isoformat(), "minute": minute.isoformat(), "viewers": viewers,
            "comments_per_min": comments_per_min, "chatters_last_minute": chatters_last_minute, "sentiment": sentiment,
            "comments": comments, "questions": questions, "answered": answered, "likes": likes, "gift_value": gift_value}


_LIVE = Shape(
    ("session_id", INT), ("at", str), ("minute", str), ("viewers", OPTIONAL_INT), ("comments_per_min", INT),
    ("chatters_last_minute", INT), ("sentiment", Mapping), ("comments", INT), ("questions", INT), ("answered", INT),
    ("likes", INT), ("gift_value", INT),
)
_MIX = Shape(("positive", NUMBER), ("neutral", NUMBER), ("negative", NUMBER))


def read_engagement_live(message: Mapping[str, Any]) -> EngagementLive | None:
    """``message`` as an ``engagement.{id}`` shape, or None when it is not one."""
    if not (_LIVE.fits(message) and _MIX.fits(message["sentiment"])):
        return None
    return cast(EngagementLive, message)
