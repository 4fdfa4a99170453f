"""The planning function: which jobs a session needs, for any ``now`` (no scheduler, no waiting)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from livebot.schedule.plan import (
    SegmentTiming,
    SessionFacts,
    job_id,
    parse_job_id,
    plan_jobs,
    segment_at,
)

T = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)  # 20:00 in Beijing
SEGMENTS = [SegmentTiming(1, 0, 300), SegmentTiming(2, 300, 600), SegmentTiming(3, 900, 900)]


def facts(status: str = "scheduled", **changes: object) -> SessionFacts:
    base = dict(id=7, status=status, planned_start=T, planned_end=T + timedelta(hours=1), started_at=None, mode="auto",
                current_segment_id=None, segment_started_at=None)
    base.update(changes)
    return SessionFacts(**base)  # type: ignore[arg-type]


def by_kind(jobs: list) -> dict[str, datetime]:
    return {f"{j.kind}:{j.ref}" if j.ref else j.kind: j.run_at for j in jobs}


def test_scheduled_session_goes_live_at_T_with_three_reminders() -> None:
    jobs = by_kind(plan_jobs(facts(), SEGMENTS, now=T - timedelta(days=2)))
    assert jobs == {
        "golive": T,
        "reminder:1440": T - timedelta(hours=24),
        "reminder:60": T - timedelta(hours=1),
        "reminder:10": T - timedelta(minutes=10),
        "end": T + timedelta(hours=1),
    }


def test_reminders_already_past_are_not_planned() -> None:
    jobs = by_kind(plan_jobs(facts(), SEGMENTS, now=T - timedelta(minutes=30)))
    assert set(jobs) == {"golive", "reminder:10", "end"}
    assert jobs["reminder:10"] == T - timedelta(minutes=10)


def test_live_session_plans_the_next_segment_at_its_offset() -> None:
    live = facts("live", started_at=T, current_segment_id=1, segment_started_at=T)
    jobs = by_kind(plan_jobs(live, SEGMENTS, now=T + timedelta(seconds=10)))
    assert jobs == {"segment:2": T + timedelta(seconds=300), "end": T + timedelta(hours=1)}


def test_each_change_replans_from_the_segment_actually_on_air() -> None:
    late = T + timedelta(minutes=3)
    live = facts("live", started_at=late, current_segment_id=1, segment_started_at=late)
    assert by_kind(plan_jobs(live, SEGMENTS, now=late))["segment:2"] == late + timedelta(seconds=300)
    switched = T + timedelta(seconds=200)  # a producer switched to segment 2 early
    live = facts("live", started_at=T, current_segment_id=2, segment_started_at=switched)
    jobs = by_kind(plan_jobs(live, SEGMENTS, now=switched))
    assert jobs["segment:3"] == switched + timedelta(seconds=600)


def test_late_run_of_show_moves_auto_end() -> None:
    late = T + timedelta(minutes=50)
    live = facts("live", started_at=T, current_segment_id=3, segment_started_at=late)
    jobs = by_kind(plan_jobs(live, SEGMENTS, now=late))
    assert "segment:3" not in jobs
    assert jobs["end"] == late + timedelta(seconds=900)


def test_manual_mode_plans_no_segment_changes() -> None:
    live = facts("live", started_at=T, mode="manual", current_segment_id=1, segment_started_at=T)
    assert set(by_kind(plan_jobs(live, SEGMENTS, now=T))) == {"end"}


def test_overdue_next_segment_runs_now() -> None:
    now = T + timedelta(minutes=20)
    live = facts("live", started_at=T, current_segment_id=1, segment_started_at=T)
    assert by_kind(plan_jobs(live, SEGMENTS, now=now))["segment:2"] == now


def test_first_segment_with_a_gap_is_planned_after_go_live() -> None:
    segments = [SegmentTiming(5, 120, 300)]
    live = facts("live", started_at=T)
    assert by_kind(plan_jobs(live, segments, now=T))["segment:5"] == T + timedelta(seconds=120)


def test_other_statuses_need_no_jobs() -> None:
    for status in ("draft", "ended", "cancelled"):
        assert plan_jobs(facts(status), SEGMENTS, now=T - timedelta(days=1)) == []


def test_job_ids_round_trip_and_reject_garbage() -> None:
    assert parse_job_id(job_id(7, "segment", "3")) == (7, "segment", "3")
    assert parse_job_id(job_id(7, "golive")) == (7, "golive", "")
    for bad in ("session:x:golive", "other:1:golive", "session:1:explode", "session:1", ""):
        assert parse_job_id(bad) is None


def test_segment_at_finds_the_planned_segment() -> None:
    assert segment_at(SEGMENTS, 0).id == 1  # type: ignore[union-attr]
    assert segment_at(SEGMENTS, 899).id == 2  # type: ignore[union-attr]
    assert segment_at(SEGMENTS, 1800) is None
