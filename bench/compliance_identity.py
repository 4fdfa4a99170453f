"""Identity check for compliance engine speed work: the full check output must not change by a byte.

Run ``python bench/compliance_identity.py --reference DIR`` where DIR holds a copy of the
``livebot`` package to compare with (e.g. ``git archive <commit> livebot | tar -x -C DIR``).
Both engines load the same rule file (this tree's, or ``--rules``) and check every text of the
test fixtures, the dev sets (compliance, questions, sentiment), the FAQ knowledge bases, the
2,000-character bench texts of both mixes, spelling variants of the short lines and 4,000
texts packed with anchors, dodge terms, breaks and symbols; each
output (verdict, findings with rule, id, severity, span, excerpt, explanation, rewording,
policy) is one JSON line, and the two runs must be byte-identical. ``--out FILE`` keeps this
tree's output. Prints the first differences and exits 1 when there are any.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EVAL = Path("/work/shared/eval")
BENCH_TEXTS = 400
"""Bench texts per mix (the bench itself draws 200 of each from the same generator)."""


def _jsonl_texts(path: Path) -> list[str]:
    out = []
    for line in path.read_text("utf-8").splitlines():
        if line.strip():
            text = json.loads(line).get("text")
            if isinstance(text, str):
                out.append(text)
    return out


def _kb_texts(path: Path) -> list[str]:
    data = tomllib.loads(path.read_text("utf-8"))
    out: list[str] = []
    for entry in data.get("faq", []):
        out.extend(str(entry[key]) for key in ("answer", "question") if key in entry)
        out.extend(str(alias) for alias in entry.get("aliases", []))
    return out


def _variants(text: str, rng: random.Random) -> list[str]:
    """Spellings a dodger uses: spaced out, full width, upper case, emoji and breaks between characters."""
    spaced = " ".join(text)
    wide = "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in text)
    noisy = "".join(c + (rng.choice(["，", "…", "😀", "\u200b", "·", "*", ". "]) if rng.random() < 0.2 else "") for c in text)
    return [spaced, wide, text.upper(), noisy, "，" + text + "。。", text[::-1]]


def corpus() -> list[str]:
    """Every text the check runs on, in a fixed order."""
    sys.path.insert(0, str(ROOT))
    from bench.compliance import corpus as bench_corpus
    from bench.compliance import texts as bench_texts
    from livebot.faq.kb import sample_kb_path

    texts: list[str] = []
    for path in sorted((ROOT / "tests/compliance/fixtures").glob("*.jsonl")):
        texts.extend(_jsonl_texts(path))
    dev = EVAL / "compliance_dev.jsonl"
    if dev.exists():
        texts.extend(_jsonl_texts(dev))
    for pattern in ("questions_dev*.jsonl", "sentiment_dev*.jsonl"):
        for path in sorted(EVAL.glob(pattern)):
            texts.extend(_jsonl_texts(path))
    for kb in (EVAL / "faq_kb.toml", sample_kb_path()):
        if kb.exists():
            texts.extend(_kb_texts(kb))
    rng = random.Random(20261207)
    texts.extend(bench_texts(bench_corpus(("ok",)), BENCH_TEXTS, rng))
    texts.extend(bench_texts(bench_corpus(("ok", "warn", "block")), BENCH_TEXTS, rng))
    variants = random.Random(17)
    for text in list(texts[:2000]):
        if len(text) < 200:
            texts.extend(_variants(text, variants))
    long = "".join(texts[:400])
    texts.extend(long[start : start + 2000] for start in range(0, len(long), 777))  # cut mid-sentence
    texts.append(long[:30_000])  # beyond MAX_CHARS
    texts.extend(_fuzz(texts, FUZZ_TEXTS, random.Random(99)))
    return texts


FUZZ_TEXTS = 4000
_ODDS = list("，。！？、 \n\t.-%+0123456789abcdefmyly“”（）【】～😀💯❤🧠𠮷\u200bＡＢ１２") + [
    "免役力", "mianyili", "m乳", "卫j委", "過敏", "壹", "%的宝妈", "3万位妈妈", "1段直降", "減價", "送"]


def _fuzz(lines: list[str], count: int, rng: random.Random) -> list[str]:
    """Texts packed with the rules' anchors, dodge terms, breaks, symbols and pieces of real lines."""
    from livebot.compliance.engine import default_rules

    rules = default_rules()
    anchors = sorted({anchor for rule in rules.rules for found in rule.anchors if found for anchor in found})
    terms = sorted(rules.dodges.by_sound.values())
    out = []
    for _ in range(count):
        parts = []
        for _ in range(rng.randrange(1, 80)):
            pick = rng.random()
            if pick < 0.35:
                parts.append(rng.choice(anchors))
            elif pick < 0.6:
                parts.append(rng.choice(_ODDS))
            elif pick < 0.7:
                parts.append(rng.choice(terms))
            else:
                parts.append(rng.choice(lines)[: rng.randrange(1, 30)])
        out.append("".join(parts))
    return out


def dump(texts_file: Path, rules_file: Path, out_file: Path) -> None:
    """Check every text with the ``livebot`` first on sys.path; one JSON line per text."""
    from livebot.compliance.engine import load_rules

    rules = load_rules(rules_file)
    texts = json.loads(texts_file.read_text("utf-8"))
    with out_file.open("w", encoding="utf-8") as out:
        for text in texts:
            out.write(json.dumps(rules.check(text).as_dict(), ensure_ascii=False, sort_keys=True) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--reference", type=Path, help="directory holding the reference livebot package")
    parser.add_argument("--rules", type=Path, default=ROOT / "livebot/compliance/rules.toml")
    parser.add_argument("--out", type=Path, help="keep this tree's output here")
    parser.add_argument("--dump", nargs=2, type=Path, help=argparse.SUPPRESS)  # internal: texts file, out file
    args = parser.parse_args()
    if args.dump:
        dump(args.dump[0], args.rules, args.dump[1])
        return
    texts = corpus()
    with tempfile.TemporaryDirectory(prefix="compliance-identity-") as tmp:
        texts_file = Path(tmp) / "texts.json"
        texts_file.write_text(json.dumps(texts, ensure_ascii=False), "utf-8")
        outputs = {}
        for label, package_root in (("reference", args.reference), ("this tree", ROOT)):
            if package_root is None:
                continue
            out_file = Path(tmp) / f"{label.replace(' ', '-')}.jsonl"
            env = {**os.environ, "PYTHONPATH": str(package_root.resolve())}
            subprocess.run(
                [sys.executable, "-P", __file__, "--rules", str(args.rules), "--dump", str(texts_file), str(out_file)],
                check=True,
                env=env,
                cwd=package_root,
            )
            outputs[label] = out_file.read_text("utf-8").splitlines()
        mine = outputs["this tree"]
        if args.out:
            args.out.write_text("\n".join(mine) + "\n", "utf-8")
        hits = sum(1 for line in mine if not line.startswith('{"findings": []'))
        print(f"{len(texts)} texts, {hits} with findings")
        if "reference" not in outputs:
            return
        differ = [index for index, (a, b) in enumerate(zip(outputs["reference"], mine, strict=True)) if a != b]
        for index in differ[:5]:
            print(f"DIFFERS #{index}: {texts[index][:80]!r}\n  reference: {outputs['reference'][index][:300]}\n  this tree: {mine[index][:300]}")
        print(f"{len(differ)} of {len(texts)} outputs differ from the reference" if differ else "identical to the reference")
        if differ:
            sys.exit(1)


if __name__ == "__main__":
    main()
