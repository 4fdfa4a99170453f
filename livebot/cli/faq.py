"""``livebot faq suggest`` and ``livebot faq eval``: the FAQ engine from the command line.

``faq import`` and ``faq export`` (knowledge base in and out of the database) are added from
``livebot.cli.faq_kb``.

``suggest --jsonl`` is a stable contract (docs/cli.md): one JSON line out per line in, a bad
line answered with ``{"error": ...}`` and never a crash, so scripts can stream chat through it.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import IO, Any

import orjson

from livebot.cli.faq_calibrate import register as register_calibrate
from livebot.cli.faq_kb import register_kb_commands
from livebot.cli.jsonl import run_filter
from livebot.faq.enrich import Enricher, Enrichment
from livebot.faq.evaluation import evaluate_faq, read_split_cases
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
    evaluate.add_argument(
        "--cases", required=True, nargs="+", help="JSON lines {text, faq_id, is_question}; PATH:tune or PATH:held for one half"
    )
    evaluate.add_argument("--sentiment", nargs="+", help="JSON lines {text, label}; PATH:tune or PATH:held for one half")
    evaluate.add_argument("--baselines", action="store_true", help="also jieba + rank_bm25 and SnowNLP on the same lines")
    evaluate.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    evaluate.set_defaults(func=run_eval)

    register_kb_commands(actions)  # faq import / export (livebot.cli.faq_kb)
    register_calibrate(actions)  # faq calibrate (livebot.cli.faq_calibrate)


def run_suggest(args: argparse.Namespace, stdin: IO[bytes] | IO[str] | None = None, stdout: IO[bytes] | None = None) -> int:
    """Write one suggestion line per input message."""
    enricher = Enricher(load_kb(args.kb))
    return run_filter(args, lambda text: suggestion_payload(enricher.enrich(text)), stdin, stdout)


def suggestion_payload(result: Enrichment) -> dict[str, Any]:
    """``{"is_question": ..., "suggestions": [...]}`` as docs/cli.md specifies."""
    return {
        "is_question": result.is_question,
        "suggestions": [{"id": s.id, "score": s.score} for s in result.suggestions],
    }


def run_eval(args: argparse.Namespace, stdout: IO[str] | None = None) -> int:
    """Print FAQ (and optionally sentiment) metrics per labelled set, with baselines if asked.

    ``report["faq"]`` / ``report["sentiment"]`` are the first set's figures (the original
    contract); ``report["sets"]`` has every set by name, baselines beside livebot's figures.
    """
    from livebot.faq import baselines
    from livebot.sentiment.evaluation import evaluate_sentiment
    from livebot.sentiment.model import SentimentModel

    out = stdout or sys.stdout
    entries = load_kb(args.kb)
    enricher = Enricher(entries)
    sets: dict[str, dict[str, Any]] = {}
    for spec in args.cases:
        cases = read_split_cases(spec, ("text",))
        row: dict[str, Any] = {"faq": evaluate_faq(enricher, cases).as_dict()}
        if args.baselines:
            row["jieba_bm25_top1"] = baselines.bm25_top1(entries, cases)
        sets[set_name(spec)] = row
    model = SentimentModel()
    for spec in args.sentiment or ():
        cases = read_split_cases(spec, ("text", "label"))
        row = sets.setdefault(set_name(spec), {})
        row["sentiment"] = evaluate_sentiment(lambda text: model.analyze(text).label, cases).as_dict()
        if args.baselines:
            row["snownlp_macro_f1"] = baselines.snownlp_macro_f1(cases)
    report: dict[str, Any] = {"faq": sets[set_name(args.cases[0])]["faq"], "sets": sets}
    if args.sentiment:
        report["sentiment"] = sets[set_name(args.sentiment[0])]["sentiment"]
    out.write(orjson.dumps(report).decode() + "\n" if args.json else format_report(report))
    return 0


def set_name(spec: str) -> str:
    """A set's short name: ``tests/fixtures/faq/questions_dev2.jsonl:held`` → ``questions_dev2:held``."""
    path, _, half = spec.rpartition(":") if spec.endswith((":tune", ":held")) else (spec, "", "")
    stem = Path(path).name.removesuffix(".jsonl")
    return f"{stem}:{half}" if half else stem


FAQ_ROWS = (("top-1", "top1"), ("top-3", "top3"), ("abstention (null cases)", "abstention"),
            ("question precision", "qd_precision"), ("question recall", "qd_recall"), ("question F1", "qd_f1"))
SENTIMENT_ROWS = (("sentiment accuracy", "accuracy"), ("sentiment macro-F1", "macro_f1"))


def format_report(report: dict[str, Any]) -> str:
    """Human-readable metrics: one block per set, baselines beside livebot's figures."""
    lines: list[str] = []
    for name, row in report["sets"].items():
        lines.append(f"== {name}")
        if faq := row.get("faq"):
            lines.append(f"{'cases':<25}{faq['cases']} ({faq['answerable']} answerable)")
            baseline = {"top1": f"   (jieba+rank_bm25 {row['jieba_bm25_top1']:.3f})"} if "jieba_bm25_top1" in row else {}
            lines += [f"{label:<25}{faq[key]:.3f}{baseline.get(key, '')}" for label, key in FAQ_ROWS]
        if sentiment := row.get("sentiment"):
            lines.append(f"{'sentiment cases':<25}{sentiment['cases']}")
            baseline = {"macro_f1": f"   (SnowNLP {row['snownlp_macro_f1']:.3f})"} if "snownlp_macro_f1" in row else {}
            lines += [f"{label:<25}{sentiment[key]:.3f}{baseline.get(key, '')}" for label, key in SENTIMENT_ROWS]
    return "\n".join(lines) + "\n"
