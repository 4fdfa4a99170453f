"""``[schedule]`` settings: reminders, scheduler timing, leader lock and calendar feeds."""

from __future__ import annotations

from dataclasses import dataclass

from livebot.config import secret
from livebot.errors import ConfigError


@dataclass(frozen=True)
class ScheduleSettings:
    # WeCom group robot webhook URLs that get every pre-show reminder (a session may add its own).
    reminder_robot_urls: tuple[str, ...] = ()
    # Hours/minutes before the planned start at which reminders go out.
    reminder_leads_minutes: tuple[int, ...] = (24 * 60, 60, 10)
    # A job found late by at most this many seconds (e.g. after a restart) still runs; later ones are reported missed.
    misfire_grace_seconds: int = 300
    # Run the scheduler in this instance at all (one instance at a time runs it; others stand by).
    scheduler_enabled: bool = True
    # Leader lock lifetime; the holder renews it every third of this.
    lock_ttl_seconds: float = 15.0
    # Secret for the per-feed calendar tokens (?token=...); defaults to one derived from auth.session_secret.
    calendar_secret: str = secret("")
    # The leader re-plans every session this often, in case a change notice was lost.
    replan_seconds: float = 60.0
    # Seconds a robot POST may take.
    robot_timeout_seconds: float = 5.0

    def __post_init__(self) -> None:
        for index, url in enumerate(self.reminder_robot_urls):
            if not url.startswith(("https://", "http://")):
                raise ConfigError(f"schedule.reminder_robot_urls[{index}]", "must be an http(s) URL")
        if any(m <= 0 for m in self.reminder_leads_minutes):
            raise ConfigError("schedule.reminder_leads_minutes", "every lead must be a positive number of minutes")
        if self.misfire_grace_seconds < 1:
            raise ConfigError("schedule.misfire_grace_seconds", "must be at least 1")
        if not 1 <= self.lock_ttl_seconds <= 600:
            raise ConfigError("schedule.lock_ttl_seconds", "must be 1..600")
        if self.robot_timeout_seconds <= 0:
            raise ConfigError("schedule.robot_timeout_seconds", "must be positive")
