"""Errors of the trace area; the web layer turns them into 400/404/413/422 answers."""

from __future__ import annotations

from livebot.errors import ConflictError, LivebotError, NotFoundError, PayloadTooLarge, ValidationError


class TraceError(LivebotError):
    """Root of the trace area's own errors."""


class MalformedDocument(ValidationError):
    """The body is not JSON (or not a JSON object): answered 400."""

    def __reduce__(self) -> tuple[type, tuple[str, str]]:
        return (type(self), (self.field, self.problem))  # survives the trip back from an import worker


class InvalidEvent(ValidationError):
    """An EPCIS document or one of its events breaks a GS1 rule: answered 422, nothing stored.

    ``event_index`` is the position in ``epcisBody.eventList`` (None for document-level fields).
    """

    def __init__(self, field: str, problem: str, event_index: int | None = None) -> None:
        super().__init__(field, problem)
        self.event_index = event_index

    def __reduce__(self) -> tuple[type, tuple[str, str, int | None]]:
        return (type(self), (self.field, self.problem, self.event_index))

    def as_dict(self) -> dict[str, object]:
        """The 422 body: ``{"error", "event_index", "field"}``."""
        return {"error": self.problem, "event_index": self.event_index, "field": self.field}


class EventConflict(ConflictError):
    """A stored ``eventID`` arrives with different content (and is not an error declaration): 409."""

    def __init__(self, event_id: str, event_index: int) -> None:
        super().__init__(f"eventID {event_id} is already stored with different content; "
                         "correct it with an EPCIS error declaration (errorDeclaration) and a corrective event")
        self.event_id = event_id
        self.event_index = event_index
        self.field = "eventID"

    def __reduce__(self) -> tuple[type, tuple[str, int]]:
        return (type(self), (self.event_id, self.event_index))

    def as_dict(self) -> dict[str, object]:
        """The 409 body, shaped like the 422 one."""
        return {"error": str(self), "event_index": self.event_index, "field": self.field}


class DocumentTooLarge(PayloadTooLarge):
    """The document is bigger than ``[trace] max_document_bytes``: answered 413."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"document larger than {limit} bytes")
        self.limit = limit


class UnknownLot(NotFoundError):
    """No batch with this lot (or code): answered 404."""


class BadCode(ValidationError):
    """A GTIN, lot or Digital Link that is malformed or has a wrong check digit: answered 400."""
