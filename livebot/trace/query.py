"""Read-only EPCIS 2.0 event query (``GET /api/v1/trace/events``), shaped like the EPCIS REST binding.

Filters: ``lot`` (events naming the lot in any role, livebot's own), ``eventType`` (repeated or
comma-separated), ``GE_eventTime`` / ``LT_eventTime``, ``EQ_bizStep``. Pages of ``perPage`` events
(default 30, at most 1000) in storage order; ``nextPageToken`` continues, announced in a
``Link: <…>; rel="next"`` header and in the body. The answer is an ``EPCISQueryDocument``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from multidict import MultiMapping
from sqlalchemy import select

from livebot.errors import ValidationError
from livebot.storage.base import utcnow
from livebot.storage.engine import Database
from livebot.trace import cbv
from livebot.trace.digitallink import valid_lot
from livebot.trace.epcis import EVENT_TYPES
from livebot.trace.epcis_xml import EPCIS_CONTEXT
from livebot.trace.errors import BadCode
from livebot.trace.models import TraceEvent, TraceEventLot

PER_PAGE = 30
PER_PAGE_MAX = 1000
PARAMETERS = frozenset({"lot", "eventType", "GE_eventTime", "LT_eventTime", "EQ_bizStep", "perPage", "nextPageToken"})


@dataclass(frozen=True, slots=True)
class EventQuery:
    lot: str | None = None
    event_types: tuple[str, ...] = ()
    since: datetime | None = None
    until: datetime | None = None
    biz_step: str | None = None
    per_page: int = PER_PAGE
    after: int = 0


def moment(value: str, name: str) -> datetime:
    try:
        found = datetime.fromisoformat(value)
    except ValueError as err:
        raise ValidationError(name, "must be an ISO 8601 date-time with offset") from err
    if found.tzinfo is None:
        raise ValidationError(name, "must include a UTC offset (Z or +08:00)")
    try:
        return found.astimezone(UTC)
    except OverflowError as err:
        raise ValidationError(name, "date-time out of range") from err


def parse_query(params: MultiMapping[str]) -> EventQuery:
    """The query parameters, checked; anything unknown or malformed is a 400 naming the parameter."""
    for name in params:
        if name not in PARAMETERS:
            raise ValidationError(name, f"unknown parameter (use {', '.join(sorted(PARAMETERS))})")
        if len(params.getall(name)) > 1 and name != "eventType":
            raise ValidationError(name, "given more than once")
    lot = params.get("lot")
    if lot is not None:
        try:
            valid_lot(lot, "lot")
        except BadCode as err:
            raise ValidationError("lot", err.problem) from err
    types = tuple(t for value in params.getall("eventType", []) for t in value.split(",") if t)
    unknown = [t for t in types if t not in EVENT_TYPES]
    if unknown:
        raise ValidationError("eventType", f"unknown event type {unknown[0][:40]!r} (one of {', '.join(sorted(EVENT_TYPES))})")
    step = params.get("EQ_bizStep")
    if step is not None:
        try:
            step = cbv.biz_step(step[:255])
        except cbv.UnknownTerm as err:
            raise ValidationError("EQ_bizStep", str(err)) from err
    per_page = number(params.get("perPage"), "perPage", PER_PAGE, 1, PER_PAGE_MAX)
    after = number(params.get("nextPageToken"), "nextPageToken", 0, 0, 2**62)
    since = moment(params["GE_eventTime"], "GE_eventTime") if "GE_eventTime" in params else None
    until = moment(params["LT_eventTime"], "LT_eventTime") if "LT_eventTime" in params else None
    return EventQuery(lot=lot, event_types=types, since=since, until=until, biz_step=step, per_page=per_page, after=after)


def number(value: str | None, name: str, default: int, low: int, high: int) -> int:
    if value is None:
        return default
    if not value.isascii() or not value.isdigit() or not low <= int(value) <= high:
        raise ValidationError(name, f"must be a whole number {low}..{high}")
    return int(value)


async def find_events(db: Database, query: EventQuery) -> tuple[list[dict[str, Any]], int | None]:
    """One page of matching events (as EPCIS JSON) and the token of the next page (None at the end)."""
    statement = select(TraceEvent.id, TraceEvent.event_id, TraceEvent.body, TraceEvent.details).where(TraceEvent.id > query.after)
    if query.lot is not None:
        statement = statement.where(TraceEvent.id.in_(select(TraceEventLot.event_pk).where(TraceEventLot.lot == query.lot)))
    if query.event_types:
        statement = statement.where(TraceEvent.event_type.in_(query.event_types))
    if query.since is not None:
        statement = statement.where(TraceEvent.event_time >= query.since)
    if query.until is not None:
        statement = statement.where(TraceEvent.event_time < query.until)
    if query.biz_step is not None:
        statement = statement.where(TraceEvent.biz_step == query.biz_step)
    async with db.sessions() as session:
        rows = (await session.execute(statement.order_by(TraceEvent.id).limit(query.per_page + 1))).all()
    page = rows[: query.per_page]
    following = page[-1].id if len(rows) > query.per_page else None
    return [as_epcis(event_id, body, details) for _, event_id, body, details in page], following


def as_epcis(event_id: str, body: Mapping[str, Any], details: Mapping[str, Any]) -> dict[str, Any]:
    """The stored event as sent (XML converted to JSON-LD), with its eventID (livebot's hash id if it had none)."""
    event = dict(body)
    event.setdefault("eventID", details.get("retracts", event_id))
    return event


def query_document(events: list[dict[str, Any]]) -> dict[str, Any]:
    return {"@context": [EPCIS_CONTEXT], "type": "EPCISQueryDocument", "schemaVersion": "2.0",
            "creationDate": utcnow().isoformat(timespec="milliseconds"),
            "epcisBody": {"queryResults": {"queryName": "SimpleEventQuery", "resultsBody": {"eventList": events}}}}
