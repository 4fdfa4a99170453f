"""Which segment and which site were on air at a moment, from the session's actual timeline.

Chat is attributed by its own timestamp to what viewers were watching then: the segment and
on-air site recorded in ``session_timeline`` (``segment``/``site`` entries, ``status`` ended).
A switch applies from its own instant on (an event at exactly the switch time belongs to the
new segment). Before the first switch and after the show ended nothing was on air: 0, 0.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

NONE = 0
"""Stored for "no segment" / "no site", so the key columns never hold NULL."""


@dataclass(frozen=True, slots=True)
class Change:
    """One recorded transition, reduced to what attribution needs."""

    at: datetime
    kind: str
    segment_id: int | None
    site_id: int | None
    ended: bool = False


@dataclass(frozen=True, slots=True)
class OnAir:
    segment_id: int
    site_id: int


class Attributor:
    """``on_air(ts)`` for one session; built once per recompute from the timeline."""

    def __init__(self, changes: Iterable[Change]) -> None:
        self.times: list[datetime] = []
        self.states: list[OnAir] = []
        segment, site = NONE, NONE
        for change in changes:
            if change.kind == "segment":
                segment = change.segment_id or NONE
                if change.site_id is not None:
                    site = change.site_id
            elif change.kind == "site":
                site = change.site_id or NONE
            elif change.kind == "status" and change.ended:
                segment, site = NONE, NONE
            else:
                continue
            self.times.append(change.at)
            self.states.append(OnAir(segment, site))

    def on_air(self, ts: datetime) -> OnAir:
        """The segment and site on air at ``ts`` (0, 0 when nothing was)."""
        index = bisect.bisect_right(self.times, ts) - 1
        return self.states[index] if index >= 0 else OnAir(NONE, NONE)

    def signature(self) -> tuple[tuple[datetime, int, int], ...]:
        """Comparable content: a changed signature means stored figures may need re-attribution."""
        return tuple((t, s.segment_id, s.site_id) for t, s in zip(self.times, self.states, strict=True))

    def first_difference(self, other: Attributor) -> datetime | None:
        """The earliest instant from which ``other`` attributes differently (None if it never does)."""
        mine, theirs = self.signature(), other.signature()
        for a, b in zip(mine, theirs, strict=False):
            if a != b:
                return min(a[0], b[0])
        if len(mine) == len(theirs):
            return None
        longer = mine if len(mine) > len(theirs) else theirs
        return longer[min(len(mine), len(theirs))][0]

    def bands(self) -> list[tuple[datetime, datetime | None, OnAir]]:
        """Consecutive on-air intervals: (start, end or None for "until now", state)."""
        out: list[tuple[datetime, datetime | None, OnAir]] = []
        for index, (start, state) in enumerate(zip(self.times, self.states, strict=True)):
            end = self.times[index + 1] if index + 1 < len(self.times) else None
            if end is not None and end == start:
                continue
            out.append((start, end, state))
        return out


def change_of(kind: str, at: datetime, segment_id: int | None, site_id: int | None, payload: dict[str, object]) -> Change:
    """A timeline row as an attribution :class:`Change`."""
    return Change(at=at, kind=kind, segment_id=segment_id, site_id=site_id,
                  ended=kind == "status" and payload.get("to") in ("ended", "cancelled"))
