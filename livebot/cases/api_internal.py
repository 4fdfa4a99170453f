"""The cases area's front door: what other areas (the engagement reports) may read of follow-up cases."""

from livebot.cases.store import advisor_cases, cases_by_id

__all__ = ["advisor_cases", "cases_by_id"]
