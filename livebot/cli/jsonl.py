"""The JSON-lines filter behind ``faq suggest`` and ``sentiment``: one answer per input line.

A bad line gets an ``{"error": ...}`` line in its place, so a caller pairing answers with its
inputs by position never loses step.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Iterable
from typing import IO, Any

import orjson

Answer = Callable[[str], dict[str, Any]]


def add_input_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--jsonl", action="store_true", help='read {"text": ...} lines on stdin')
    parser.add_argument("text", nargs="*", help="messages (without --jsonl)")


def answer_line(answer: Answer, line: bytes | str) -> dict[str, Any]:
    """The answer for one line, or an error object naming what is wrong with it."""
    if not line.strip():
        return {"error": "empty line"}
    try:
        message = orjson.loads(line)
    except orjson.JSONDecodeError as err:
        return {"error": f"invalid JSON: {err}"}
    if not isinstance(message, dict) or not isinstance(message.get("text"), str):
        return {"error": 'expected an object with a string "text"'}
    return answer(message["text"])


def run_filter(
    args: argparse.Namespace, answer: Answer, stdin: IO[bytes] | IO[str] | None = None, stdout: IO[bytes] | None = None
) -> int:
    """Answer stdin (``--jsonl``) or the positional texts, flushing after every line."""
    out = stdout or sys.stdout.buffer
    # Bytes in: orjson validates UTF-8 itself, so a badly encoded line becomes an error line.
    lines: Iterable[bytes | str] = (stdin or sys.stdin.buffer) if args.jsonl else (orjson.dumps({"text": t}) for t in args.text)
    for line in lines:
        out.write(orjson.dumps(answer_line(answer, line)) + b"\n")
        out.flush()
    return 0
