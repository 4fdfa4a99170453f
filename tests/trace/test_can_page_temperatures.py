"""The public can page keeps milking temperature apart from the cold chain and never claims
"≤ 4 °C" when a reading breaks it."""

from __future__ import annotations

import re
from typing import Any

from aiohttp.test_utils import TestClient

from livebot.trace.views import temperatures
from tests.trace.support import CHAIN_GTIN, CHAIN_LOT

COOLED, START = "2026-11-24T05:40:00+08:00", "2026-11-24T06:55:00+08:00"


def summary(*readings: tuple[str, float], excursions: int = 0, cooled: str | None = COOLED) -> dict[str, Any]:
    return {"readings": [{"at": f"2026-11-24T{at}:00+08:00", "value": v, "unit": "°C"} for at, v in readings],
            "cooled_at": cooled, "processing_start": START, "coldchain_max_c": 4.0, "coldchain_excursions": excursions,
            "cooling_temp_c": 3.6}


def test_milking_temperature_is_not_part_of_the_transport_range() -> None:
    temps = temperatures(summary(("05:10", 33.7), ("05:40", 3.6), ("06:10", 3.4), ("06:40", 3.9)))
    assert temps is not None
    assert temps["milking"] == {"min": 33.7, "max": 33.7}
    assert temps["chain"] == {"min": 3.4, "max": 3.9} and temps["kept"] is True and temps["breaks"] == 0


def test_a_warm_reading_after_cooling_breaks_the_claim_even_without_a_counted_excursion() -> None:
    temps = temperatures(summary(("05:10", 33.7), ("06:10", 3.4), ("06:40", 6.2)))
    assert temps is not None and temps["kept"] is False and temps["breaks"] == 1
    assert temperatures(summary(("06:10", 3.4), excursions=2))["breaks"] == 2  # type: ignore[index]


def test_without_a_cooling_time_nothing_is_called_milking_and_warm_readings_are_not_kept() -> None:
    temps = temperatures(summary(("05:10", 33.7), ("06:10", 3.4), cooled=None))
    assert temps is not None and temps["milking"] is None and temps["chain"] == {"min": 3.4, "max": 33.7}
    assert temps["kept"] is False and temperatures(summary()) is None


async def test_the_can_page_shows_milking_apart_and_no_false_claim(chain: TestClient) -> None:
    resp = await chain.get(f"/01/{CHAIN_GTIN}/10/{CHAIN_LOT}")
    assert resp.status == 200
    html = await resp.text()
    section = html[html.index("冷链温度"):html.index("质检结果")]
    chain_line = re.search(r'class="trace-chain">(.*?)</p>', section, re.S)
    assert chain_line is not None
    low, high = (float(x) for x in re.search(r"([\d.]+)–([\d.]+) °C", chain_line.group(1)).groups())  # type: ignore[union-attr]
    if "≤4 °C" in chain_line.group(1):
        assert high <= 4.0
    assert "挤奶时奶温" in section
    assert "运输与暂存期间" not in section
