"""What other areas may use of trace (overlays, the FAQ filler, the schedule's lot list): one door
instead of reaching into its store, and no "trace may be missing" fallbacks on the other side.
Facts derived with the ``[trace]`` settings (summaries, telemetry, chat replies) come from the
app's :class:`TraceFacts` (``app[TRACE_FACTS]``), so those settings travel with the app."""

from __future__ import annotations

from livebot.trace.facts import TraceFacts, find_lot
from livebot.trace.keys import TRACE_FACTS
from livebot.trace.store import session_lots, set_session_lots

__all__ = ["TRACE_FACTS", "TraceFacts", "find_lot", "session_lots", "set_session_lots"]
