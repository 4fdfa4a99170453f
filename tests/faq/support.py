"""Helpers of the FAQ tests: the fixture rows in tests/fixtures/faq/ (fixtures live in conftest.py)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "faq"


def read_jsonl(name: str) -> list[dict[str, Any]]:
    """Rows of a fixture file in tests/fixtures/faq/."""
    lines = (FIXTURES / name).read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]
