"""Bad lines on the JSON-lines filters (``faq suggest --jsonl``, ``sentiment --jsonl``): one
answer per input line, an error line in place of a bad one, never a crash or a lost step."""

from __future__ import annotations

import io
import json

import orjson
import pytest

from livebot.cli import build_parser
from livebot.faq.kb import sample_kb_path

BAD_LINES = [
    b"not json",
    b"[1, 2]",
    b'{"text": 5}',
    b'{"txt": "\xe5\xa5\xb6\xe6\xba\x90"}',
    b'{"text": "\\ud800"}',
    b"\xff\xfe\x00",
    b'{"text": ' + b"[" * 5000 + b"]" * 5000 + b"}",
]
HOSTILE = ["<script>alert(1)</script>奶源是哪里的？", "'; DROP TABLE faq_entries;-- 奶粉多少钱", "奶源\u202e在哪😀𠮷",
           "\x00\x07\x1b[31m几段适合", "长" * 200_000 + "？"]


def run(argv: list[str], lines: list[bytes]) -> list[dict[str, object]]:
    args = build_parser().parse_args(argv)
    out = io.BytesIO()
    assert args.func(args, stdin=io.BytesIO(b"\n".join(lines) + b"\n"), stdout=out) == 0
    return [json.loads(line) for line in out.getvalue().splitlines()]


@pytest.mark.parametrize("argv", [["faq", "suggest", "--kb", str(sample_kb_path()), "--jsonl"], ["sentiment", "--jsonl"]])
def test_bad_hostile_huge_and_repeated_lines_keep_step(argv: list[str]) -> None:
    good = orjson.dumps({"text": "奶源是哪里的？"})
    lines = [good, *BAD_LINES, *(orjson.dumps({"text": t}) for t in HOSTILE), good]
    answers = run(argv, lines)
    assert len(answers) == len(lines)
    assert all("error" in a for a in answers[1:1 + len(BAD_LINES)])
    for answer in answers[1 + len(BAD_LINES):]:
        assert "error" not in answer, answer
    assert answers[0] == answers[-1]
