"""The demo's own texts pass the guard: the sample knowledge base's answers and every demo string."""

from __future__ import annotations

import ast
from pathlib import Path

from livebot.compliance.engine import default_rules
from livebot.faq.kb import load_kb, sample_kb_path

DEMO = Path(__file__).resolve().parents[2] / "livebot" / "demo"


def test_demo_knowledge_base_answers_pass() -> None:
    rules = default_rules()
    flagged = {entry.id: rules.check(entry.answer).findings for entry in load_kb(sample_kb_path())}
    assert {key: value for key, value in flagged.items() if value} == {}


def test_demo_texts_pass() -> None:
    rules = default_rules()
    flagged = []
    for path in sorted(DEMO.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and rules.check(node.value).verdict != "ok":
                flagged.append((path.name, node.lineno, node.value))
    assert flagged == []
