"""Benchmark of the compliance guard: average time to check a 2,000-character text.

Run ``python bench/compliance.py`` (``--rounds N``). Texts are built from the FAQ sample
knowledge base's answers and the dev set's sentences (clean and offending), cut to 2,000
characters, each checked with the shipped rule set. Numbers only; nothing here asserts timing.

On a loaded machine CPU time is indicative only; for a load-independent comparison count
instructions: run a script checking N texts under ``valgrind --tool=callgrind`` for N = 0 and
N = 100 and divide the difference of the "Collected" totals by 100 (docs/compliance.md).
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from livebot.compliance.engine import default_rules
from livebot.faq.kb import load_kb, sample_kb_path

DEV = Path("/work/shared/eval/compliance_dev.jsonl")
LENGTH = 2000


def corpus(verdicts: tuple[str, ...]) -> list[str]:
    """KB answers plus the dev sentences with the given verdicts."""
    sentences = [entry.answer for entry in load_kb(sample_kb_path())]
    if DEV.exists():
        for line in DEV.read_text("utf-8").splitlines():
            case = json.loads(line) if line.strip() else None
            if case and case["verdict"] in verdicts:
                sentences.append(case["text"])
    return sentences


def texts(sentences: list[str], count: int, rng: random.Random) -> list[str]:
    out = []
    for _ in range(count):
        parts: list[str] = []
        while sum(map(len, parts)) < LENGTH:
            parts.append(rng.choice(sentences))
        out.append("".join(parts)[:LENGTH])
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=500)
    args = parser.parse_args()
    rules = default_rules()
    rng = random.Random(20261207)
    patterns = sum(len(rule.patterns) for rule in rules.rules)
    print(f"compliance check of {LENGTH}-character texts, {len(rules.rules)} rules, {patterns} patterns (rule file {rules.version})")
    for label, verdicts in (("clean (KB answers + allowed dev lines)", ("ok",)), ("mixed (every dev line, most texts hit)", ("ok", "warn", "block"))):
        sample = texts(corpus(verdicts), args.rounds, rng)
        for text in sample[:20]:  # warm caches (pinyin, OpenCC, word list)
            rules.check(text)
        timings = []
        cpu_started = time.process_time()
        for text in sample:
            started = time.perf_counter()
            rules.check(text)
            timings.append(time.perf_counter() - started)
        cpu = (time.process_time() - cpu_started) / len(sample)
        timings.sort()
        median, p95 = timings[len(timings) // 2], timings[int(len(timings) * 0.95)]
        print(f"  {label}: CPU {cpu * 1000:.3f} ms per text · wall median {median * 1000:.3f} ms · wall p95 {p95 * 1000:.3f} ms "
              f"({len(sample)} texts)")
    started = time.process_time()
    for _ in range(50):
        sum(range(20_000))
    reference = (time.process_time() - started) / 50
    print(f"  reference: sum(range(20000)) takes {reference * 1000:.3f} ms CPU here (about 0.1 ms on an idle modern core);")
    print("  CPU time is the cost without waiting; wall time includes waiting for the CPU on a busy machine")


if __name__ == "__main__":
    main()
