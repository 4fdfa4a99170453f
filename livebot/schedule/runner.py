"""The scheduler: APScheduler 3 (AsyncIOScheduler) with its jobs in the livebot database.

Every instance starts a scheduler *paused*; the one holding the leader lock resumes it, keeps
the job store equal to :func:`livebot.schedule.plan.plan_jobs` for each session (re-planned on
``schedule.changed``) and runs the jobs. Jobs survive restarts in ``schedule_jobs``; one found
late by at most ``misfire_grace_seconds`` runs at once, a later one is recorded as ``missed``
(log + ``schedule_job_runs`` row the console shows) and not run. Each firing first inserts a
unique (job, planned time) row, so even two leaders at once could not fire a job twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
from aiohttp import web
from apscheduler.events import EVENT_JOB_EXECUTED, EVENT_JOB_MISSED, JobExecutionEvent
from apscheduler.executors.base import BaseExecutor
from apscheduler.job import Job
from apscheduler.jobstores.base import JobLookupError
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.triggers.date import DateTrigger
from sqlalchemy import create_engine, update
from sqlalchemy.exc import IntegrityError

from livebot.appkeys import BUS, CONFIG, DATABASE
from livebot.background import TaskSet
from livebot.errors import LivebotError
from livebot.instance import instance_name
from livebot.schedule import live, store
from livebot.schedule.keys import CLOCK, SCHEDULE_SETTINGS
from livebot.schedule.lease import LeaderLock, open_lock
from livebot.schedule.models import JobRun, LiveSession, SessionControl
from livebot.schedule.plan import PlannedJob, SegmentTiming, SessionFacts, job_prefix, parse_job_id, plan_jobs
from livebot.schedule.reminders import send_reminder
from livebot.schedule.scheduler import ThreadedStoreScheduler
from livebot.storage.engine import sync_url
from livebot.topics import SCHEDULE_CHANGED, JobNews, read_session_id

logger = logging.getLogger(__name__)

JOB_TABLE = "schedule_jobs"
SCHEDULER = "scheduler"
KIND_NAMES = {"golive": "开播", "segment": "切换段落", "reminder": "开播提醒", "end": "自动结束"}


def fire(kind: str, session_id: int, ref: str = "") -> None:
    """The stored job function: a marker only; :class:`RunnerExecutor` hands jobs to the runner."""
    raise RuntimeError(f"schedule job {kind} session={session_id} must run through the livebot runner")


class RunnerExecutor(BaseExecutor):
    """Runs each due job on the event loop through :meth:`Runner.execute` (grace check included)."""

    def __init__(self, runner: Runner, loop: asyncio.AbstractEventLoop) -> None:
        super().__init__()
        self.runner = runner
        self.loop = loop
        self.pending: set[asyncio.Task[list[JobExecutionEvent]]] = set()

    def shutdown(self, wait: bool = True) -> None:
        for task in self.pending:
            task.cancel()
        self.pending.clear()

    def _do_submit_job(self, job: Job, run_times: list[datetime]) -> None:
        """Called from the job-processing thread: start the run on the event loop."""
        self.loop.call_soon_threadsafe(self.start_run, job, run_times)

    def start_run(self, job: Job, run_times: list[datetime]) -> None:
        task = self.loop.create_task(self.runner.execute(job.id, list(job.args), run_times))
        self.pending.add(task)

        def done(finished: asyncio.Task[list[JobExecutionEvent]]) -> None:
            self.pending.discard(finished)
            if finished.cancelled():
                self._run_job_error(job.id, asyncio.CancelledError())
            elif finished.exception() is not None:
                self._run_job_error(job.id, finished.exception())
            else:
                self._run_job_success(job.id, finished.result())

        task.add_done_callback(done)


class Runner:
    """One app instance's scheduler, leader lock and job handlers."""

    def __init__(self, app: web.Application, instance: str | None = None) -> None:
        self.app = app
        self.settings = app[SCHEDULE_SETTINGS]
        self.clock = app[CLOCK]
        self.instance = instance or instance_name()
        self.leader = False
        self.lock: LeaderLock | None = None
        self.http: aiohttp.ClientSession | None = None
        self.scheduler: ThreadedStoreScheduler | None = None
        self.loop_task: asyncio.Task[None] | None = None
        self.unsubscribe: Any = None
        self.tasks = TaskSet("schedule")

    # ---- lifecycle ------------------------------------------------------------------------------

    async def start(self) -> None:
        config = self.app[CONFIG]
        url = sync_url(config.database.url)
        # SQLite: wait for livebot's own writer rather than fail (it can commit: the loop is free)
        connect_args = {"timeout": 30} if url.startswith("sqlite") else {}
        engine = create_engine(url, pool_pre_ping=True, connect_args=connect_args)
        self.scheduler = ThreadedStoreScheduler(
            event_loop=asyncio.get_running_loop(),
            timezone=UTC,
            jobstores={"default": SQLAlchemyJobStore(engine=engine, tablename=JOB_TABLE)},
            executors={"default": RunnerExecutor(self, asyncio.get_running_loop())},
            job_defaults={"coalesce": True, "max_instances": 1,
                          "misfire_grace_time": None},  # the runner checks grace itself, to record misses
        )
        await asyncio.to_thread(self.scheduler.start, paused=True)
        self.http = aiohttp.ClientSession()
        self.lock = open_lock(config.bus.url, config.bus.channel_prefix, self.app[DATABASE], self.instance,
                              self.settings.lock_ttl_seconds, self.clock)
        self.unsubscribe = self.app[BUS].subscribe(SCHEDULE_CHANGED, self.on_changed, name=f"scheduler:{self.instance}")
        await self.tick()
        self.loop_task = asyncio.get_running_loop().create_task(self.lease_loop(), name=f"scheduler-lease:{self.instance}")

    def spawn(self, coro: Any, name: str) -> None:
        """Run a background task (e.g. the demo's rundown loop) until the app stops."""
        self.tasks.spawn(coro, name)

    async def step_down(self, _app: web.Application | None = None) -> None:
        """Stop leading and hand the lock over (on shutdown, while the rest of the app still runs)."""
        if self.loop_task is not None:
            self.loop_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.loop_task
            self.loop_task = None
        if self.scheduler is not None and self.leader:
            self.scheduler.pause()
        if self.lock is not None and self.leader:
            await self.lock.release()
        self.leader = False

    async def stop(self) -> None:
        await self.tasks.stop()
        await self.step_down()
        if self.unsubscribe is not None:
            self.unsubscribe()
        if self.scheduler is not None:
            self.scheduler.shutdown(wait=False)
        if self.lock is not None:
            await self.lock.close()
        if self.http is not None:
            await self.http.close()

    async def lease_loop(self) -> None:
        """Renew the lock every third of its lifetime; the leader also re-plans everything now and then,
        in case a ``schedule.changed`` message was lost (Redis pub/sub does not replay)."""
        interval = self.settings.lock_ttl_seconds / 3
        last_replan = self.clock()
        while True:
            await asyncio.sleep(interval)
            await self.tick()
            if self.leader and (self.clock() - last_replan).total_seconds() >= self.settings.replan_seconds:
                last_replan = self.clock()
                try:
                    await self.reconcile_all()
                except LivebotError:
                    logger.exception("scheduler instance=%s periodic re-plan failed", self.instance)

    async def tick(self) -> bool:
        """Take or renew the lock, then lead or stand by accordingly; True while leading."""
        assert self.lock is not None and self.scheduler is not None
        held = await self.lock.acquire()
        if held and not self.leader:
            logger.info("scheduler instance=%s is now the leader", self.instance)
            self.leader = True
            try:
                await self.reconcile_all(startup=True)
            except LivebotError:
                logger.exception("scheduler instance=%s could not plan jobs", self.instance)
            self.scheduler.resume()
        elif not held and self.leader:
            logger.warning("scheduler instance=%s lost the lock; standing by", self.instance)
            self.leader = False
            self.scheduler.pause()
        return self.leader

    # ---- planning -------------------------------------------------------------------------------

    async def on_changed(self, message: dict[str, Any]) -> None:
        session_id = read_session_id(message)
        if self.leader and session_id is not None:
            await self.reconcile(session_id)

    async def facts(self, session_id: int) -> tuple[SessionFacts, list[SegmentTiming]] | None:
        db = self.app[DATABASE]
        async with db.sessions() as s:
            row = await s.get(LiveSession, session_id)
            ctl = await s.get(SessionControl, session_id)
        if row is None:
            return None
        segs = [SegmentTiming(g.id, g.offset_s, g.duration_s) for g in await store.segments(db, session_id)]
        return SessionFacts(
            id=row.id, status=row.status, planned_start=row.planned_start, planned_end=row.planned_end,
            started_at=row.started_at, mode=ctl.mode if ctl else "auto",
            current_segment_id=ctl.current_segment_id if ctl else None,
            segment_started_at=ctl.segment_started_at if ctl else None,
        ), segs

    async def planned(self, session_id: int) -> list[PlannedJob]:
        found = await self.facts(session_id)
        if found is None:
            return []
        return plan_jobs(found[0], found[1], self.clock(), self.settings.reminder_leads_minutes)

    async def reconcile(self, session_id: int, startup: bool = False) -> None:
        """Make the stored jobs of one session equal its plan.

        At start-up, jobs already due are left to the misfire rule and due jobs that were never
        stored are not invented: what runs after a restart is exactly what was persisted.
        """
        assert self.scheduler is not None
        desired = {job.id: job for job in await self.planned(session_id)}
        now = self.clock()
        jobs = await self.scheduler.call(self.scheduler.get_jobs)
        existing = {j.id: j for j in jobs if j.id.startswith(job_prefix(session_id))}
        for jid, job in existing.items():
            due = job.next_run_time is not None and job.next_run_time <= now
            if jid not in desired and not (startup and due):
                await self.scheduler.call(self.remove, jid)
        oldest = now - timedelta(seconds=self.settings.misfire_grace_seconds)
        for plan in desired.values():
            job = existing.get(plan.id)
            if job is None and plan.run_at < oldest:
                continue  # it could only be reported missed, and was (or is being) already
            if job is not None and job.next_run_time is not None and abs(job.next_run_time - plan.run_at) < timedelta(milliseconds=5):
                continue
            if startup and (plan.run_at <= now or (job is not None and job.next_run_time is not None and job.next_run_time <= now)):
                continue
            await self.scheduler.call(self.add, plan)

    def remove(self, jid: str) -> None:
        assert self.scheduler is not None
        try:
            self.scheduler.remove_job(jid)
        except JobLookupError:
            pass  # it just ran

    def add(self, plan: PlannedJob) -> None:
        assert self.scheduler is not None
        self.scheduler.add_job(fire, trigger=DateTrigger(run_date=plan.run_at, timezone=UTC), id=plan.id,
                               name=f"{KIND_NAMES[plan.kind]} 场次{plan.session_id}", args=(plan.kind, plan.session_id, plan.ref),
                               replace_existing=True)

    async def reconcile_all(self, startup: bool = False) -> None:
        assert self.scheduler is not None
        sessions = {row.id for row in await store.list_sessions(self.app[DATABASE], statuses=("scheduled", "live"))}
        for job in await self.scheduler.call(self.scheduler.get_jobs):
            parsed = parse_job_id(job.id)
            if parsed is not None:
                sessions.add(parsed[0])
        for session_id in sorted(sessions):
            await self.reconcile(session_id, startup=startup)

    async def stored_jobs(self, session_id: int | None = None) -> list[dict[str, Any]]:
        """The jobs in the store (any instance may read them)."""
        assert self.scheduler is not None
        result = []
        for job in await self.scheduler.call(self.scheduler.get_jobs):
            parsed = parse_job_id(job.id)
            if parsed is None or (session_id is not None and parsed[0] != session_id):
                continue
            result.append({"id": job.id, "kind": parsed[1], "session_id": parsed[0], "ref": parsed[2],
                           "name": job.name, "run_at": job.next_run_time.isoformat() if job.next_run_time else None,
                           "when": job.next_run_time})
        return sorted(result, key=lambda j: j["run_at"] or "")

    @staticmethod
    def public(job: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in job.items() if k != "when"}

    # ---- running --------------------------------------------------------------------------------

    async def execute(self, jid: str, args: Sequence[Any], run_times: Sequence[datetime]) -> list[JobExecutionEvent]:
        """Run a due job once per run time, or record it missed when later than the grace time."""
        events = []
        kind, session_id, ref = str(args[0]), int(args[1]), str(args[2]) if len(args) > 2 else ""
        grace = timedelta(seconds=self.settings.misfire_grace_seconds)
        for run_time in run_times:
            late = self.clock() - run_time
            if late > grace:
                await self.record_missed(jid, kind, session_id, ref, run_time, late)
                events.append(JobExecutionEvent(EVENT_JOB_MISSED, jid, "default", run_time))
                continue
            outcome = await self.fire(jid, kind, session_id, ref, run_time)
            events.append(JobExecutionEvent(EVENT_JOB_EXECUTED, jid, "default", run_time, retval=outcome))
        return events

    async def claim(self, jid: str, kind: str, session_id: int, run_time: datetime) -> int | None:
        """Insert the (job, planned time) row; None when some instance already did."""
        try:
            async with self.app[DATABASE].sessions() as s:
                row = JobRun(job_id=jid, session_id=session_id, kind=kind, planned_at=run_time, ran_at=self.clock(),
                             outcome="running", instance=self.instance)
                s.add(row)
                await s.commit()
                return row.id
        except IntegrityError:
            logger.info("job=%s planned=%s already run by another instance", jid, run_time.isoformat())
            return None

    async def finish(self, run_id: int, outcome: str, detail: str) -> None:
        async with self.app[DATABASE].sessions() as s:
            await s.execute(update(JobRun).where(JobRun.id == run_id).values(outcome=outcome, detail=detail[:2000]))
            await s.commit()

    async def fire(self, jid: str, kind: str, session_id: int, ref: str, run_time: datetime) -> str:
        """Do what a job is for, at most once per (job, planned time); returns the outcome."""
        run_id = await self.claim(jid, kind, session_id, run_time)
        if run_id is None:
            return "duplicate"
        late_ms = int((self.clock() - run_time).total_seconds() * 1000)
        try:
            outcome, detail = await self.perform(kind, session_id, ref)
        except LivebotError as err:
            outcome, detail = "failed", str(err)
            logger.warning("job=%s session=%s failed: %s", jid, session_id, err)
        except Exception as err:  # a job must never take the scheduler down
            outcome, detail = "failed", f"{type(err).__name__}: {err}"
            logger.exception("job=%s session=%s crashed", jid, session_id)
        await self.finish(run_id, outcome, f"{detail}（延迟 {late_ms} 毫秒）")
        logger.info("job=%s session=%s %s late_ms=%d: %s", jid, session_id, outcome, late_ms, detail)
        await live.publish(self.app, JobNews(session_id=session_id, type="job", job_id=jid, kind=kind, outcome=outcome,
                                             detail=detail, planned_at=run_time.isoformat()))
        return outcome

    async def perform(self, kind: str, session_id: int, ref: str) -> tuple[str, str]:
        session = await store.get_session(self.app[DATABASE], session_id)
        if kind == "golive":
            if session.status != "scheduled":
                return "skipped", f"场次状态为 {session.status}，未开播"
            await live.transition(self.app, session_id, "live", SCHEDULER)
            return "fired", "已开播"
        if kind == "end":
            if session.status != "live":
                return "skipped", f"场次状态为 {session.status}"
            await live.transition(self.app, session_id, "ended", SCHEDULER)
            return "fired", "已自动结束"
        if kind == "reminder":
            if session.status != "scheduled":
                return "skipped", f"场次状态为 {session.status}，不再提醒"
            assert self.http is not None
            return "fired", await send_reminder(self.app, self.http, session_id, int(ref))
        if kind == "segment":
            return await self.segment_change(session, int(ref))
        return "skipped", f"未知任务类型 {kind}"

    async def segment_change(self, session: LiveSession, segment_id: int) -> tuple[str, str]:
        ctl = await store.control(self.app[DATABASE], session.id)
        if session.status != "live" or ctl.mode != "auto":
            return "skipped", "不在自动模式的直播中"
        segs = await store.segments(self.app[DATABASE], session.id)
        ids = [g.id for g in segs]
        if segment_id not in ids:
            return "skipped", "段落已删除"
        if ctl.current_segment_id == segment_id:
            return "skipped", "该段已在播出"
        if not live.ahead(segs, ctl.current_segment_id, segment_id):
            return "skipped", "该段已播过"
        moved = await live.advance(self.app, session.id, SCHEDULER, segment_id, expected_current=ctl.current_segment_id)
        if moved is None:
            return "skipped", "段落刚被手动切换"
        return "fired", f"切换到“{moved['title']}”"

    async def record_missed(self, jid: str, kind: str, session_id: int, ref: str, run_time: datetime,
                            late: timedelta) -> None:
        """Log and store a missed job; a missed segment change puts the session in manual mode."""
        detail = f"{KIND_NAMES.get(kind, kind)}错过了 {int(late.total_seconds())} 秒（超过宽限 {self.settings.misfire_grace_seconds} 秒），未执行"
        logger.warning("job=%s session=%s missed by %s (grace %ss): not run", jid, session_id, late,
                       self.settings.misfire_grace_seconds)
        try:
            async with self.app[DATABASE].sessions() as s:
                exists = await s.get(LiveSession, session_id)
                s.add(JobRun(job_id=jid, session_id=session_id if exists else None, kind=kind, planned_at=run_time,
                             ran_at=self.clock(), outcome="missed", instance=self.instance, detail=detail))
                await s.commit()
        except IntegrityError:
            return
        if kind == "segment":
            async with self.app[DATABASE].sessions() as s:
                await s.execute(update(SessionControl).where(SessionControl.session_id == session_id).values(mode="manual"))
                await s.commit()
        await live.publish(self.app, JobNews(session_id=session_id, type="job", job_id=jid, kind=kind, outcome="missed",
                                             detail=detail, planned_at=run_time.isoformat()))

