"""Which scheduler jobs a session needs now: a pure function of the session, its run of show and now.

The scheduler keeps its job store equal to this plan (see :mod:`livebot.schedule.runner`), so
"fires at T" is tested here with any ``now`` and, once, end to end with a real scheduler.

Only the *next* segment change is planned while a session runs: each change re-plans from the
actual start of the segment on air, so a late go-live or a manual switch moves what follows.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

JOB_KINDS = ("golive", "segment", "reminder", "end")


@dataclass(frozen=True)
class SessionFacts:
    """What planning needs to know about a session (decoupled from the ORM row)."""

    id: int
    status: str
    planned_start: datetime
    planned_end: datetime
    started_at: datetime | None
    mode: str
    current_segment_id: int | None
    segment_started_at: datetime | None


@dataclass(frozen=True)
class SegmentTiming:
    id: int
    offset_s: int
    duration_s: int


@dataclass(frozen=True)
class PlannedJob:
    id: str
    kind: str
    session_id: int
    run_at: datetime
    ref: str = ""
    """segment id for ``segment`` jobs, the lead in minutes for ``reminder`` jobs."""


def job_id(session_id: int, kind: str, ref: str = "") -> str:
    return f"session:{session_id}:{kind}" + (f":{ref}" if ref else "")


def job_prefix(session_id: int) -> str:
    return f"session:{session_id}:"


def parse_job_id(value: str) -> tuple[int, str, str] | None:
    """(session id, kind, ref) from a job id made by :func:`job_id`."""
    parts = value.split(":")
    if len(parts) not in (3, 4) or parts[0] != "session" or not parts[1].isdigit() or parts[2] not in JOB_KINDS:
        return None
    return int(parts[1]), parts[2], parts[3] if len(parts) == 4 else ""


def rundown_end(segments: Sequence[SegmentTiming]) -> int:
    return max((s.offset_s + s.duration_s for s in segments), default=0)


def plan_jobs(session: SessionFacts, segments: Sequence[SegmentTiming], now: datetime,
              reminder_leads: Sequence[int] = (24 * 60, 60, 10)) -> list[PlannedJob]:
    """The jobs ``session`` needs; times may lie in the past only for work already overdue while live."""
    if session.status == "scheduled":
        return scheduled_jobs(session, segments, now, reminder_leads)
    if session.status == "live":
        return live_jobs(session, segments, now)
    return []


def scheduled_jobs(session: SessionFacts, segments: Sequence[SegmentTiming], now: datetime,
                   leads: Sequence[int]) -> list[PlannedJob]:
    start = session.planned_start
    jobs = [PlannedJob(job_id(session.id, "golive"), "golive", session.id, start)]
    for minutes in sorted(set(leads), reverse=True):
        at = start - timedelta(minutes=minutes)
        if at > now:
            jobs.append(PlannedJob(job_id(session.id, "reminder", str(minutes)), "reminder", session.id, at, str(minutes)))
    jobs.append(end_job(session.id, start, session.planned_end, segments))
    return jobs


def live_jobs(session: SessionFacts, segments: Sequence[SegmentTiming], now: datetime) -> list[PlannedJob]:
    anchor = session_anchor(session, segments)
    jobs: list[PlannedJob] = []
    upcoming = next_segment(session, segments)
    if session.mode == "auto" and upcoming is not None:
        at = max(anchor + timedelta(seconds=upcoming.offset_s), now)
        jobs.append(PlannedJob(job_id(session.id, "segment", str(upcoming.id)), "segment", session.id, at,
                               str(upcoming.id)))
    end = end_job(session.id, anchor, session.planned_end, segments)
    return [*jobs, PlannedJob(end.id, end.kind, end.session_id, max(end.run_at, now))]


def end_job(session_id: int, anchor: datetime, planned_end: datetime, segments: Sequence[SegmentTiming]) -> PlannedJob:
    """Auto-end when both the planned end and the (shifted) run of show are over."""
    at = max(planned_end, anchor + timedelta(seconds=rundown_end(segments)))
    return PlannedJob(job_id(session_id, "end"), "end", session_id, at)


def session_anchor(session: SessionFacts, segments: Sequence[SegmentTiming]) -> datetime:
    """The moment offset 0 corresponds to: derived from the segment on air, else the actual start."""
    current = next((s for s in segments if s.id == session.current_segment_id), None)
    if current is not None and session.segment_started_at is not None:
        return session.segment_started_at - timedelta(seconds=current.offset_s)
    return session.started_at or session.planned_start


def next_segment(session: SessionFacts, segments: Sequence[SegmentTiming]) -> SegmentTiming | None:
    """The segment after the one on air (the first one when none is on air yet)."""
    ordered = list(segments)
    ids = [s.id for s in ordered]
    if session.current_segment_id in ids:
        index = ids.index(session.current_segment_id) + 1
        return ordered[index] if index < len(ordered) else None
    return ordered[0] if ordered else None


def segment_at(segments: Sequence[SegmentTiming], elapsed_s: float) -> SegmentTiming | None:
    """The segment planned to be on air ``elapsed_s`` after the anchor (None in a gap or past the end)."""
    for seg in segments:
        if seg.offset_s <= elapsed_s < seg.offset_s + seg.duration_s:
            return seg
    return None
