"""One retry/backoff policy for every reconnect and redelivery (the shape blivedm and aiogram use):
a policy object maps the number of the retry to a delay; it is built where the delays are
configured and injected where the retries happen, so tests swap in a zero-delay policy."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass

RetryPolicy = Callable[[int], float]
"""Seconds to wait before retry number ``n`` (1 for the first retry; 0 or less: no wait)."""


@dataclass(frozen=True, slots=True)
class Backoff:
    """Exponential backoff, capped: ``base``, 2×``base``, 4×``base`` … up to ``cap`` seconds.

    ``jitter`` is the share of each delay that is random: 0.5 is "equal jitter" (half fixed, half
    random), so instances that failed together do not retry in step; 0 gives fixed delays.
    """

    base: float
    cap: float
    jitter: float = 0.5

    def __post_init__(self) -> None:
        if not (self.base > 0 and self.cap >= self.base and 0 <= self.jitter <= 1):
            raise ValueError(f"bad backoff: base={self.base} cap={self.cap} jitter={self.jitter}")

    def __call__(self, retry: int) -> float:
        if retry <= 0:
            return 0.0
        ceiling = min(self.cap, self.base * 2 ** min(retry - 1, 30))
        return ceiling * (1 - self.jitter) + random.uniform(0, ceiling * self.jitter)
