"""Per-advisor figures for the session report: answers, response times, claims, dismissals, cases, compliance.

The console and the cases area own the facts; this module only reads them through their front doors
(``livebot.console.api_internal``, ``livebot.cases.api_internal``, the compliance log) and keeps the ids behind each figure so a
marketer can drill down from a number to the questions and cases it counts.
"""

from __future__ import annotations

import statistics
from datetime import datetime
from typing import Any

from livebot.cases.api_internal import advisor_cases
from livebot.compliance import store as compliance_store
from livebot.console.api_internal import AdvisorActivity, advisor_activity
from livebot.engagement.figures import nearest_rank
from livebot.storage.engine import Database

CARD_FIGURES = ("answered", "claims", "released", "expired", "dismissed", "escalated")
CASE_FIGURES = ("opened", "resolved", "overdue")
COMPLIANCE_ACTIONS = ("blocked", "warned", "overridden")
"""What the compliance guard did to an advisor's own texts in the session."""
SYSTEM = "system"


def response_figures(seconds: list[float]) -> tuple[float | None, float | None]:
    """(median, p90) first-response time in whole seconds; None without answers."""
    if not seconds:
        return None, None
    ordered = sorted(seconds)
    return round(statistics.median(ordered), 1), round(nearest_rank(ordered, 0.9), 1)


def advisor_row(person: AdvisorActivity, cases: dict[str, list[int]], findings: dict[str, int]) -> dict[str, Any]:
    median, p90 = response_figures(person.response_seconds)
    cards = {name: sorted(set(getattr(person, name))) for name in CARD_FIGURES}
    return {
        "username": person.username, "name": person.display or person.username,
        **{name: len(ids) for name, ids in cards.items()},
        "asks_answered": len(person.response_seconds), "frt_median_s": median, "frt_p90_s": p90,
        **{f"cases_{name}": len(cases.get(name, [])) for name in CASE_FIGURES},
        **{f"compliance_{action}": findings.get(action, 0) for action in COMPLIANCE_ACTIONS},
        "cards": cards, "cases": {name: sorted(cases.get(name, [])) for name in CASE_FIGURES},
    }


async def advisor_rows(db: Database, session_id: int, now: datetime) -> list[dict[str, Any]]:
    """One row per advisor who touched a card or a case of the session, most answers first."""
    people = await advisor_activity(db, session_id)
    cases = await advisor_cases(db, session_id, now)
    findings: dict[str, dict[str, int]] = {}
    for event in await compliance_store.session_log(db, session_id):
        if event.action in COMPLIANCE_ACTIONS and event.actor != SYSTEM:
            mine = findings.setdefault(event.actor, {})
            mine[event.action] = mine.get(event.action, 0) + 1
    for name in (*cases, *findings):
        people.setdefault(name, AdvisorActivity(name, name))
    rows = [advisor_row(person, cases.get(name, {}), findings.get(name, {})) for name, person in people.items() if name != SYSTEM]
    return sorted(rows, key=lambda r: (-r["answered"], r["name"]))
