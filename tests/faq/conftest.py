"""Shared fixtures for the FAQ engine: the bundled sample knowledge base and one Enricher.

jieba loads once per test session (~1 s); the Enricher built on the sample knowledge base
is session-scoped for the same reason. Tests that change a knowledge base build their own.
"""

from __future__ import annotations

import pytest

from livebot.faq.enrich import Enricher
from livebot.faq.kb import FaqEntry, load_kb, sample_kb_path


@pytest.fixture(scope="session")
def sample_entries() -> list[FaqEntry]:
    return load_kb(sample_kb_path())


@pytest.fixture(scope="session")
def enricher(sample_entries: list[FaqEntry]) -> Enricher:
    engine = Enricher(sample_entries)
    engine.warm_up()
    return engine
