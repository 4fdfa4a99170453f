"""The one retry policy: exponential, capped, jittered by the share asked for."""

from __future__ import annotations

import pytest

from livebot.retry import Backoff


def test_fixed_delays_double_up_to_the_cap() -> None:
    delay = Backoff(1.0, 30.0, jitter=0.0)
    assert [delay(n) for n in (0, 1, 2, 3, 5, 6, 7, 10_000)] == [0.0, 1.0, 2.0, 4.0, 16.0, 30.0, 30.0, 30.0]
    assert delay(-3) == 0.0


def test_jitter_keeps_each_delay_within_its_share() -> None:
    delay = Backoff(2.0, 300.0, jitter=0.2)
    samples = {delay(1) for _ in range(100)}
    assert all(1.6 <= s <= 2.0 for s in samples) and len(samples) > 1
    assert all(240.0 <= delay(50) <= 300.0 for _ in range(100))


@pytest.mark.parametrize(("base", "cap", "jitter"), [(0.0, 1.0, 0.5), (2.0, 1.0, 0.5), (1.0, 2.0, 1.5), (1.0, 2.0, -0.1)])
def test_nonsense_policies_are_refused(base: float, cap: float, jitter: float) -> None:
    with pytest.raises(ValueError):
        Backoff(base, cap, jitter)
