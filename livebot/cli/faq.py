"""``livebot faq suggest`` and ``livebot faq eval``: the FAQ engine from the command line.

``faq import`` and ``faq export`` (knowledge base in and out of the database) are added from
``livebot.cli.faq_kb``.

``suggest --jsonl`` is a stable contract (DESIGN.md): one JSON line out per line in, a bad
line answered with ``{"error": ...}`` and never a crash, so scripts can stream chat through it.
"""

from __future__ import annotations

import argparse
import sys
from typing import IO, Any

import orjson

from livebot.cli.faq_kb import register_kb_commands
from livebot.cli.jsonl import run_filter
from livebot.faq.enrich import Enricher, Enrichment
from livebot.faq.evaluation import evaluate_faq, read_cases
from livebot.faq.kb import load_kb, sample_kb_path


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``faq suggest``, ``faq eval`` (and ``faq import``/``faq export``)."""
    faq = commands.add_parser("faq", help="FAQ suggestions and their evaluation")
    actions = faq.add_subparsers(dest="faq_command", metavar="ACTION", required=True)

    suggest = actions.add_parser("suggest", help="suggest FAQ entries for chat messages")
    suggest.add_argument("--kb", default=str(sample_kb_path()), help="knowledge base (.toml, .json or .csv)")
    suggest.add_argument("--jsonl", action="store_true", help='read {"text": ...} lines on stdin')
    suggest.add_argument("text", nargs="*", help="messages to analyse (without --jsonl)")
    suggest.set_defaults(func=run_suggest)

    evaluate = actions.add_parser("eval", help="measure ranking, abstention, question detection, sentiment")
    evaluate.add_argument("--kb", default=str(sample_kb_path()), help="knowledge base (.toml, .json or .csv)")
    evaluate.add_argument("--cases", required=True, help="JSON lines {text, faq_id, is_question}")
    evaluate.add_argument("--sentiment", help="JSON lines {text, label}")
    evaluate.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    evaluate.set_defaults(func=run_eval)

    register_kb_commands(actions)  # faq import / export (livebot.cli.faq_kb)


def run_suggest(args: argparse.Namespace, stdin: IO[bytes] | IO[str] | None = None, stdout: IO[bytes] | None = None) -> int:
    """Write one suggestion line per input message."""
    enricher = Enricher(load_kb(args.kb))
    return run_filter(args, lambda text: suggestion_payload(enricher.enrich(text)), stdin, stdout)


def suggestion_payload(result: Enrichment) -> dict[str, Any]:
    """``{"is_question": ..., "suggestions": [...]}`` as DESIGN.md specifies."""
    return {
        "is_question": result.is_question,
        "suggestions": [{"id": s.id, "score": s.score} for s in result.suggestions],
    }


def run_eval(args: argparse.Namespace, stdout: IO[str] | None = None) -> int:
    """Print FAQ (and optionally sentiment) metrics for labelled cases."""
    from livebot.sentiment.evaluation import evaluate_sentiment
    from livebot.sentiment.model import SentimentModel

    out = stdout or sys.stdout
    enricher = Enricher(load_kb(args.kb))
    report: dict[str, Any] = {"faq": evaluate_faq(enricher, read_cases(args.cases, ("text",))).as_dict()}
    if args.sentiment:
        model = SentimentModel()
        cases = read_cases(args.sentiment, ("text", "label"))
        report["sentiment"] = evaluate_sentiment(lambda text: model.analyze(text).label, cases).as_dict()
    if args.json:
        out.write(orjson.dumps(report).decode() + "\n")
    else:
        out.write(format_report(report))
    return 0


def format_report(report: dict[str, Any]) -> str:
    """Human-readable metrics table."""
    faq = report["faq"]
    lines = [
        f"cases                    {faq['cases']} ({faq['answerable']} answerable)",
        f"top-1                    {faq['top1']:.3f}",
        f"top-3                    {faq['top3']:.3f}",
        f"abstention (null cases)  {faq['abstention']:.3f}",
        f"question precision       {faq['qd_precision']:.3f}",
        f"question recall          {faq['qd_recall']:.3f}",
        f"question F1              {faq['qd_f1']:.3f}",
    ]
    if "sentiment" in report:
        sentiment = report["sentiment"]
        lines += [
            f"sentiment cases          {sentiment['cases']}",
            f"sentiment accuracy       {sentiment['accuracy']:.3f}",
            f"sentiment macro-F1       {sentiment['macro_f1']:.3f}",
        ]
    return "\n".join(lines) + "\n"
