"""Errors raised by the FAQ engine."""

from __future__ import annotations

from livebot.errors import LivebotError


class KnowledgeBaseError(LivebotError):
    """A knowledge-base file or entry is invalid; the message names the entry and the field.

    ``index`` is the 0-based position of the entry in the file (``None`` for file-level
    problems), ``entry_id`` its id when known, ``field`` the offending field.
    """

    def __init__(
        self,
        problem: str,
        *,
        index: int | None = None,
        entry_id: str | None = None,
        field: str | None = None,
    ) -> None:
        self.problem = problem
        self.index = index
        self.entry_id = entry_id
        self.field = field
        super().__init__(self._describe())

    def _describe(self) -> str:
        location = f"faq[{self.index}]" if self.index is not None else ""
        if self.field:
            location = f"{location}.{self.field}" if location else self.field
        if self.entry_id:
            location = f"{location} (id {self.entry_id!r})".strip()
        return f"{location}: {self.problem}" if location else self.problem


class UnknownEntryError(LivebotError):
    """An operation named a FAQ entry id the knowledge base does not contain."""

    def __init__(self, entry_id: str) -> None:
        super().__init__(f"unknown FAQ entry id {entry_id!r}")
        self.entry_id = entry_id


class LexiconError(LivebotError):
    """A bundled lexicon data file is malformed; the message names the file and line."""
