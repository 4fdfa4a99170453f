"""``livebot compliance``: check texts against the compliance rules, or score labelled cases.

``check --jsonl`` reads ``{"text": ...}`` lines and writes ``{"verdict", "findings"}`` lines (a
bad line gets ``{"error": ...}``); ``eval --cases FILE`` prints per-verdict precision/recall.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import IO, Any

import orjson

from livebot.cli.jsonl import add_input_options, run_filter
from livebot.compliance.engine import RULES_FILE, RuleSet, load_rules
from livebot.compliance.evaluation import VERDICTS, evaluate, read_cases
from livebot.errors import LivebotError


def register(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg,unused-ignore]
    """Add ``compliance check`` and ``compliance eval``."""
    compliance = commands.add_parser("compliance", help="compliance guard for infant-formula claims")
    sub = compliance.add_subparsers(dest="compliance_command", metavar="ACTION", required=True)
    check = sub.add_parser("check", help="verdict and findings per text")
    add_input_options(check)
    check.add_argument("--rules", type=Path, default=RULES_FILE, help="rule file (default: the shipped rules.toml)")
    check.set_defaults(func=run_check)
    scoring = sub.add_parser("eval", help="precision/recall per verdict on labelled cases")
    scoring.add_argument("--cases", type=Path, required=True, help='JSON lines {"text","verdict","rule"}')
    scoring.add_argument("--rules", type=Path, default=RULES_FILE, help="rule file (default: the shipped rules.toml)")
    scoring.add_argument("--show-misses", action="store_true", help="list the cases judged differently")
    for parser in (check, scoring):
        parser.add_argument("--rules-only", action="store_true", help="without the learned layer (docs/compliance.md)")
    scoring.set_defaults(func=run_eval)


def _rules(args: argparse.Namespace) -> RuleSet:
    try:
        return load_rules(args.rules, learned=not args.rules_only)
    except ValueError as err:
        raise LivebotError(str(err)) from err


def run_check(args: argparse.Namespace, stdin: IO[bytes] | IO[str] | None = None, stdout: IO[bytes] | None = None) -> int:
    """Write one verdict line per input text."""
    rules = _rules(args)

    def answer(text: str) -> dict[str, Any]:
        result = rules.check(text).as_dict()
        result["findings"] = [{k: f[k] for k in ("rule", "severity", "span", "explanation", "id", "rewording")} for f in result["findings"]]
        return result

    return run_filter(args, answer, stdin, stdout)


def run_eval(args: argparse.Namespace, stdout: IO[str] | None = None) -> int:
    """Print precision/recall per verdict and the share of cases passed as allowed."""
    out = stdout or sys.stdout
    rules = _rules(args)
    try:
        with args.cases.open("rb") as lines:
            cases = read_cases(lines)
    except OSError as err:
        raise LivebotError(f"cannot read {args.cases}: {err}") from err
    except ValueError as err:
        raise LivebotError(f"{args.cases}: {err}") from err
    scores = evaluate(rules, cases)
    print(f"rules {rules.version} · {scores.total} cases", file=out)
    print(f"{'verdict':<8}{'precision':>10}{'recall':>8}{'n':>6}", file=out)
    for verdict in VERDICTS:
        print(f"{verdict:<8}{scores.precision[verdict]:>10.3f}{scores.recall[verdict]:>8.3f}{scores.support[verdict]:>6}", file=out)
    print(f"allowed passed (ok recall): {scores.recall['ok']:.3f}", file=out)
    print(f"rule agreement on correct verdicts: {scores.rule_agreement:.3f}", file=out)
    if args.show_misses:
        for case, guess in scores.misses:
            print(orjson.dumps({"text": case.text, "expected": case.verdict, "got": guess, "rule": case.rule}).decode(), file=out)
    return 0
