"""Instruction-count probe for the compliance guard: check N bench texts of one mix, after a fixed warm-up.

Run under ``valgrind --tool=callgrind`` with N = 0 and N = 100 and divide the difference of the
"Collected" totals by 100 for the instructions one 2,000-character text costs (docs/compliance.md):
``valgrind --tool=callgrind --callgrind-out-file=/dev/null python bench/compliance_callgrind.py mixed 100``.
"""

from __future__ import annotations

import random
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.compliance import corpus, texts
from livebot.compliance.engine import default_rules

MIXES = {"clean": ("ok",), "mixed": ("ok", "warn", "block")}


def main() -> None:
    mix, count = sys.argv[1], int(sys.argv[2])
    rules = default_rules()
    sample = texts(corpus(MIXES[mix]), 120, random.Random(20261207))
    for text in sample[100:]:  # warm caches (pinyin, OpenCC, word list, translate tables)
        rules.check(text)
    for text in sample[:count]:
        rules.check(text)


if __name__ == "__main__":
    main()
