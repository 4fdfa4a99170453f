"""What other areas may use of trace (overlays, the FAQ filler, the schedule's lot list): one door
instead of reaching into its store, and no "trace may be missing" fallbacks on the other side."""

from __future__ import annotations

from livebot.trace.facts import batch_journey, batch_summaries, batch_summary, find_lot, telemetry_snapshot, trace_reply
from livebot.trace.store import session_lots, set_session_lots

__all__ = ["batch_journey", "batch_summaries", "batch_summary", "find_lot", "session_lots", "set_session_lots", "telemetry_snapshot", "trace_reply"]
