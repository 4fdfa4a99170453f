"""What other areas may use of the FAQ area: the knowledge-base table (engagement names the
entries asked most) and the Chinese text tools (engagement's keywords, sentiment's lexicon)."""

from __future__ import annotations

from livebot.faq.models import FaqEntryRow

__all__ = ["FaqEntryRow"]
