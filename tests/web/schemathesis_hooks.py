"""schemathesis hooks for tests/web/test_schemathesis.py: the few rules a JSON Schema cannot state.

A time zone must be one the server's tz database knows (an enum of ~600 names would multiply
the run), a session must start in the future and end after its start, a telemetry reading may be at most
five minutes ahead of the server's clock, a GTIN carries a check digit, and an entry's id in a PUT
body must be the one in its path. Generated *valid*
requests get those values made true just before they are sent; invalid (negative) ones are left
alone, so every schema rule is still tested both ways. Loaded through ``SCHEMATHESIS_HOOKS``.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import schemathesis


def check_digit(digits: str) -> int:
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(digits)))
    return (10 - total % 10) % 10


def fix_gtin(item: Any) -> None:
    if isinstance(item, dict) and isinstance(item.get("gtin"), str) and item["gtin"].isdigit():
        item["gtin"] = item["gtin"][:-1] + str(check_digit(item["gtin"][:-1]))


def fix_time_zone(body: dict[str, Any]) -> None:
    if isinstance(body.get("timezone"), str):
        body["timezone"] = "Asia/Shanghai"


def fix_session_times(body: dict[str, Any]) -> None:
    if "planned_start" in body or "planned_end" in body:
        start = datetime.now(UTC).replace(microsecond=0) + timedelta(days=30)
        body["planned_start"] = start.isoformat()
        body["planned_end"] = (start + timedelta(hours=1)).isoformat()


def fix_reading_time(item: Any) -> None:
    if isinstance(item, dict) and isinstance(item.get("at"), str):
        item["at"] = datetime.now(UTC).isoformat()


def printable_terms(body: dict[str, Any]) -> None:
    """schemathesis draws characters outside Unicode's assigned planes for ``\\p{C}``-excluding patterns;
    the schema (and the validator) refuse them, so the generator's slip is undone here."""
    for name in ("terms", "exceptions"):
        if isinstance(body.get(name), list):
            body[name] = [t if not isinstance(t, str) else "".join(c for c in t if c.isprintable()) or "词" for t in body[name]]


@schemathesis.hook
def before_call(context: Any, case: Any, kwargs: dict[str, Any]) -> None:
    meta = case.meta
    if meta is None or not meta.generation.mode.is_positive or not isinstance(case.body, dict):
        return
    path, body = case.operation.path, case.body
    if path in ("/api/v1/schedule/sites", "/api/v1/schedule/sites/{site_id}"):
        fix_time_zone(body)
    elif path in ("/api/v1/schedule/sessions", "/api/v1/schedule/sessions/{session_id}"):
        fix_time_zone(body)
        fix_session_times(body)
    elif path == "/api/v1/faq/entries/{entry_id}" and "id" in body:
        body["id"] = case.path_parameters["entry_id"]  # the id in the body must be the entry's own
    elif path.startswith("/api/v1/compliance/brand-rules"):
        printable_terms(body)
    elif path == "/api/v1/trace/batches":
        for item in body.get("batches", [body]) if isinstance(body.get("batches", [body]), list) else []:
            fix_gtin(item)
    elif path == "/api/v1/telemetry":
        for item in body.get("readings", [body]) if isinstance(body.get("readings", [body]), list) else []:
            fix_reading_time(item)
