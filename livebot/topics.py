"""Bus topics and the shape of their messages (plain JSON dicts, never mutated by consumers).

The pipeline runs one way: sources -> ingest -> ``chat.stored`` -> enrichment ->
``chat.enriched`` -> consoles, overlays, engagement. Commands for overlays travel on
``overlay.control`` so that whoever changes the screen (console, producer, scheduler) need not
know how overlays store or push state.
"""

CHAT_STORED = "chat.stored"
"""After commit. {"pk", "source", "id", "platform", "channel", "kind", "ts" (ISO UTC), "user": {"id", "name"},
"text", "count", "viewers", "value", "session_id", "site_id", "segment_id", "hidden", "flags", "merged_count"}"""

CHAT_ENRICHED = "chat.enriched"
"""After the enrichment is stored: the ``chat.stored`` dict plus "enrichment": {"is_question",
"question_confidence", "suggestions": [{"id", "score", "question", "answer" (filled), "needs_human", "missing"}],
"sentiment": {"label", "score"}, "trace_codes": [...], "topic_tags": [...]}"""

OVERLAY_CONTROL = "overlay.control"
"""{"session_id", "type": "scene"|"batch"|"featured"|"featured_clear"|"ticker"|"site"|"countdown", "by", ...type fields}"""

TRACE_UPDATED = "trace.updated"
"""{"lots": [...], "gtins": [...]} after trace data was stored."""

TELEMETRY = "trace.telemetry"
"""{"plant", "line", "metric", "value", "unit", "at", "stale_after_s"} for each new factory reading."""


def console_topic(session_id: int | None) -> str:
    """Queue and claim updates for one session's advisor consoles."""
    return f"console.{session_id or 0}"


def schedule_topic(session_id: int) -> str:
    """Cues, acknowledgements, segment changes and notes for one session's producer consoles."""
    return f"schedule.{session_id}"


def engagement_topic(session_id: int) -> str:
    """Live per-minute figures for the war room and the stats overlay."""
    return f"engagement.{session_id}"
