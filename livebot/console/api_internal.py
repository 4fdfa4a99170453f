"""What other areas may use of the console: its question tables, read by engagement's reports
(questions asked, answered, first-response times)."""

from __future__ import annotations

from livebot.console.models import QuestionAsk, QuestionCard

__all__ = ["QuestionAsk", "QuestionCard"]
