"""``livebot sentiment``: label chat messages positive, neutral or negative.

``--jsonl`` reads ``{"text": ...}`` lines and writes ``{"label": ..., "score": ...}`` lines
(score in -1..1, negative to positive); a bad line gets ``{"error": ...}``.
"""

from __future__ import annotations

import argparse
from typing import IO, Any

from livebot.cli.jsonl import run_filter
from livebot.sentiment.model import SentimentModel


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``sentiment``."""
    sentiment = commands.add_parser("sentiment", help="sentiment of chat messages")
    sentiment.add_argument("--jsonl", action="store_true", help='read {"text": ...} lines on stdin')
    sentiment.add_argument("text", nargs="*", help="messages to analyse (without --jsonl)")
    sentiment.set_defaults(func=run_sentiment)


def run_sentiment(args: argparse.Namespace, stdin: IO[bytes] | IO[str] | None = None, stdout: IO[bytes] | None = None) -> int:
    """Write one sentiment line per input message."""
    model = SentimentModel()

    def answer(text: str) -> dict[str, Any]:
        result = model.analyze(text)
        return {"label": result.label, "score": result.score}

    return run_filter(args, answer, stdin, stdout)
