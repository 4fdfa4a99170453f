"""``livebot sentiment``: label chat messages positive, neutral or negative.

``--jsonl`` reads ``{"text": ...}`` lines and writes ``{"label": ..., "score": ...}`` lines
(score in -1..1, negative to positive); a bad line gets ``{"error": ...}``.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterable, Sequence
from typing import IO, Any

import orjson

from livebot.errors import LivebotError
from livebot.sentiment.model import SentimentModel


def register(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add ``sentiment``."""
    sentiment = commands.add_parser("sentiment", help="sentiment of chat messages")
    sentiment.add_argument("--jsonl", action="store_true", help='read {"text": ...} lines on stdin')
    sentiment.add_argument("text", nargs="*", help="messages to analyse (without --jsonl)")
    sentiment.set_defaults(func=run_sentiment)


def run_sentiment(args: argparse.Namespace, stdin: IO[bytes] | IO[str] | None = None, stdout: IO[bytes] | None = None) -> int:
    """Write one sentiment line per input message."""
    model = SentimentModel()
    out = stdout or sys.stdout.buffer
    # Bytes in: orjson validates UTF-8 itself, so a badly encoded line becomes an error line.
    lines: Iterable[bytes | str] = (stdin or sys.stdin.buffer) if args.jsonl else (orjson.dumps({"text": t}) for t in args.text)
    for line in lines:
        out.write(orjson.dumps(sentiment_line(model, line)) + b"\n")
        out.flush()
    return 0


def sentiment_line(model: SentimentModel, line: bytes | str) -> dict[str, Any]:
    """The contract's answer to one input line."""
    if not line.strip():
        return {"error": "empty line"}
    try:
        message = orjson.loads(line)
    except orjson.JSONDecodeError as err:
        return {"error": f"invalid JSON: {err}"}
    if not isinstance(message, dict) or not isinstance(message.get("text"), str):
        return {"error": 'expected an object with a string "text"'}
    result = model.analyze(message["text"])
    return {"label": result.label, "score": result.score}


def main(argv: Sequence[str] | None = None) -> int:
    """Standalone entry (``python -m livebot.cli.sentiment --jsonl``)."""
    parser = argparse.ArgumentParser(prog="livebot")
    register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["sentiment", *(sys.argv[1:] if argv is None else argv)])
    try:
        return int(args.func(args))
    except LivebotError as err:
        print(f"livebot: error: {err}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    raise SystemExit(main())
