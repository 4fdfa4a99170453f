"""Bus topics and the shape of their messages (plain JSON dicts, never mutated by consumers).

``chat.stored`` and ``chat.enriched`` are published as lists (``Bus.publish_many``: one per
ingest commit, one per enrichment flush; on Redis a JSON array per up to 500 messages): a
``subscribe_batches`` handler gets lists of these dicts, a plain ``subscribe`` handler still one
dict at a time. The shape of each message is the same either way.

The pipeline runs one way: sources -> ingest -> ``chat.stored`` -> enrichment ->
``chat.enriched`` -> consoles, overlays, engagement. Commands for overlays travel on
``overlay.control`` so that whoever changes the screen (console, producer, scheduler) need not
know how overlays store or push state.
"""

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

FAQ_CHANGED = "faq.changed"
"""After the knowledge base changed (edit, import, approved alias): {"ids": [...], "action", "by"}. Every
instance's enrichment stage rebuilds its index from the database."""

FAQ_FEEDBACK = "faq.feedback"
"""{"kind": "dismissal", "key", "id"} after an advisor dismissed chatter; stages reload negative examples."""

OVERLAY_CONTROL = "overlay.control"
"""{"session_id", "type": "scene"|"batch"|"featured"|"featured_clear"|"ticker"|"site"|"countdown", "by", ...type fields}"""

OVERLAY_TOKENS = "overlay.tokens"
"""{"session_id", "by"} after a session's overlay token was rotated: instances close overlays using the old one."""

TRACE_UPDATED = "trace.updated"
"""{"lots": [...], "gtins": [...]} after trace data was stored; "lots" names every lot written and every
batch whose ``batch_summary`` changed (e.g. a can made from a raw-milk lot that got a new inspection)."""

SCHEDULE_CHANGED = "schedule.changed"
"""{"session_id", "reason"} after a session, its channels, segments or status changed (chat routers reload
``channels`` + session status; the scheduler leader re-plans the session's jobs)."""

SCHEDULE_REMINDER = "schedule.reminder"
"""{"session_id", "title", "lead" ("24h"|"1h"|"10min"), "starts_at" (ISO UTC), "text"} before a session starts."""

SESSION_ENDED = "session.ended"
"""{"session_id"} once a session's status became ``ended`` (the post-session report hook)."""

TELEMETRY = "trace.telemetry"
"""{"plant", "line", "metric", "value", "unit", "at", "stale_after_s"} for each new factory reading."""


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
