"""Per-advisor figures for the session report: answers, response times, claims, dismissals and cases.

The console and the cases area own the facts; this module only reads them through their front doors
(``livebot.console.public``, ``livebot.cases.store``) and keeps the ids behind each figure so a
marketer can drill down from a number to the questions and cases it counts.
"""

from __future__ import annotations

import statistics
from datetime import datetime
from typing import Any

from livebot.cases.api_internal import advisor_cases
from livebot.console.public import AdvisorActivity, advisor_activity
from livebot.engagement.figures import nearest_rank
from livebot.storage.engine import Database

CARD_FIGURES = ("answered", "claims", "released", "expired", "dismissed", "escalated")
CASE_FIGURES = ("opened", "resolved", "overdue")
SYSTEM = "system"


def response_figures(seconds: list[float]) -> tuple[float | None, float | None]:
    """(median, p90) first-response time in whole seconds; None without answers."""
    if not seconds:
        return None, None
    ordered = sorted(seconds)
    return round(statistics.median(ordered), 1), round(nearest_rank(ordered, 0.9), 1)


def advisor_row(person: AdvisorActivity, cases: dict[str, list[int]]) -> dict[str, Any]:
    median, p90 = response_figures(person.response_seconds)
    cards = {name: sorted(set(getattr(person, name))) for name in CARD_FIGURES}
    return {
        "username": person.username, "name": person.display or person.username,
        **{name: len(ids) for name, ids in cards.items()},
        "asks_answered": len(person.response_seconds), "frt_median_s": median, "frt_p90_s": p90,
        **{f"cases_{name}": len(cases.get(name, [])) for name in CASE_FIGURES},
        "cards": cards, "cases": {name: sorted(cases.get(name, [])) for name in CASE_FIGURES},
    }


async def advisor_rows(db: Database, session_id: int, now: datetime) -> list[dict[str, Any]]:
    """One row per advisor who touched a card or a case of the session, most answers first."""
    people = await advisor_activity(db, session_id)
    cases = await advisor_cases(db, session_id, now)
    for name in cases:
        people.setdefault(name, AdvisorActivity(name, name))
    rows = [advisor_row(person, cases.get(name, {})) for name, person in people.items() if name != SYSTEM]
    return sorted(rows, key=lambda r: (-r["answered"], r["name"]))
