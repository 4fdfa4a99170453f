"""The command-line contract of docs/cli.md: ``faq suggest --jsonl``, ``sentiment --jsonl``, ``faq eval``."""

from __future__ import annotations

import argparse
import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

from livebot.cli import faq as faq_cli
from livebot.cli import sentiment as sentiment_cli
from livebot.faq.kb import sample_kb_path
from tests.faq.support import FIXTURES

INPUT = "\n".join(
    [
        json.dumps({"text": "请问你们家奶圆在哪里"}, ensure_ascii=False),
        json.dumps({"text": "冲冲冲"}, ensure_ascii=False),
        "this is not json",
        json.dumps({"txt": "wrong key"}),
        json.dumps({"text": 42}),
        "",
        json.dumps({"text": "你们公司是上市公司吗"}, ensure_ascii=False),
    ]
)


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="livebot")
    commands = parser.add_subparsers(dest="command", required=True)
    faq_cli.register(commands)
    sentiment_cli.register(commands)
    return parser.parse_args(argv)


def run_lines(argv: list[str], stdin: str) -> list[dict[str, object]]:
    args = parse(argv)
    out = io.BytesIO()
    assert args.func(args, stdin=io.BytesIO(stdin.encode()), stdout=out) == 0
    return [json.loads(line) for line in out.getvalue().decode().splitlines()]


def test_suggest_jsonl_contract() -> None:
    lines = run_lines(["faq", "suggest", "--kb", str(sample_kb_path()), "--jsonl"], INPUT + "\n")
    assert len(lines) == 7
    assert lines[0]["is_question"] is True
    assert lines[0]["suggestions"][0]["id"] == "milk-source-location"  # type: ignore[index]
    assert 0 < lines[0]["suggestions"][0]["score"] <= 1  # type: ignore[index]
    assert lines[1] == {"is_question": False, "suggestions": []}
    assert all("error" in line for line in lines[2:6])
    assert lines[6] == {"is_question": True, "suggestions": []}


def test_sentiment_jsonl_contract() -> None:
    stdin = "\n".join(json.dumps({"text": t}, ensure_ascii=False) for t in ("太贵了", "👍", "几点开播")) + "\n[1]\n"
    lines = run_lines(["sentiment", "--jsonl"], stdin)
    assert [line.get("label") for line in lines[:3]] == ["negative", "positive", "neutral"]
    assert all(-1 <= line["score"] <= 1 for line in lines[:3])  # type: ignore[operator]
    assert "error" in lines[3]


def test_eval_prints_every_metric() -> None:
    args = parse(
        [
            "faq",
            "eval",
            "--kb",
            str(sample_kb_path()),
            "--cases",
            str(FIXTURES / "questions_dev.jsonl"),
            "--sentiment",
            str(FIXTURES / "sentiment_dev.jsonl"),
        ]
    )
    out = io.StringIO()
    assert args.func(args, stdout=out) == 0
    report = out.getvalue()
    for label in ("top-1", "top-3", "abstention", "question precision", "question recall", "question F1", "sentiment macro-F1"):
        assert label in report


def test_eval_json(tmp_path: Path) -> None:
    args = parse(["faq", "eval", "--cases", str(FIXTURES / "questions_dev.jsonl"), "--json"])
    out = io.StringIO()
    args.func(args, stdout=out)
    report = json.loads(out.getvalue())
    assert set(report["faq"]) >= {"top1", "top3", "abstention", "qd_precision", "qd_recall", "qd_f1"}


def test_bad_kb_is_reported_not_raised(tmp_path: Path) -> None:
    bad = tmp_path / "kb.toml"
    bad.write_text('[[faq]]\nid = "x"\nquestion = "q"\n', encoding="utf-8")
    result = subprocess.run(
        [sys.executable, "-m", "livebot", "faq", "suggest", "--kb", str(bad), "--jsonl"],
        input="",
        capture_output=True,
        text=True,
    )
    assert result.returncode == 1
    assert "faq[0].answer" in result.stderr


def livebot_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "livebot", *args]


@pytest.mark.parametrize("command", ["faq", "sentiment"])
def test_subprocess_streaming(command: str) -> None:
    argv = ["faq", "suggest", "--jsonl"] if command == "faq" else ["sentiment", "--jsonl"]
    stdin = json.dumps({"text": "乳铁蛋白含量多少"}, ensure_ascii=False) + "\nnot json\n"
    result = subprocess.run(livebot_command(*argv), input=stdin, capture_output=True, text=True, check=True)
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(lines) == 2 and "error" in lines[1]
    if command == "faq":
        assert lines[0]["suggestions"][0]["id"] == "lactoferrin"
    else:
        assert lines[0]["label"] == "neutral"


def test_eval_several_sets_halves_and_baselines(tmp_path: Path) -> None:
    tiny = tmp_path / "tiny.jsonl"
    rows = [
        {"text": "奶源是哪里的", "faq_id": "milk-source-location", "is_question": True},
        {"text": "冲冲冲", "faq_id": None, "is_question": False},
        {"text": "<script>alert(1)</script>\u202e多少钱", "faq_id": None, "is_question": True},
        {"text": "奶源是哪里的", "faq_id": "milk-source-location", "is_question": True},  # duplicate line
    ]
    tiny.write_text("\n".join(json.dumps(row, ensure_ascii=False) for row in rows) + "\n", encoding="utf-8")
    sentiment = tmp_path / "s.jsonl"
    sentiment.write_text('{"text": "👍👍", "label": "positive"}\n{"text": "又是摆拍吧", "label": "negative"}\n', encoding="utf-8")
    args = parse(
        ["faq", "eval", "--cases", str(tiny), str(FIXTURES / "questions_dev2.jsonl") + ":held",
         "--sentiment", str(sentiment), "--baselines", "--json"]
    )
    out = io.StringIO()
    assert args.func(args, stdout=out) == 0
    report = json.loads(out.getvalue())
    assert set(report["sets"]) == {"tiny", "questions_dev2:held", "s"}
    assert report["faq"] == report["sets"]["tiny"]["faq"]
    assert report["sets"]["tiny"]["faq"]["cases"] == 4
    assert 0 <= report["sets"]["questions_dev2:held"]["jieba_bm25_top1"] <= 1
    assert report["sets"]["questions_dev2:held"]["faq"]["cases"] < 392
    assert 0 <= report["sets"]["s"]["snownlp_macro_f1"] <= 1
    assert report["sentiment"]["cases"] == 2
    table = faq_cli.format_report(report)
    assert "jieba+rank_bm25" in table and "SnowNLP" in table and "== questions_dev2:held" in table


@pytest.mark.parametrize(
    "content",
    ["not json\n", '{"txt": 1}\n', "[" * 5000 + "\n", '{"text": "x", "faq_id": null}\n{"text"\n'],
)
def test_eval_rejects_malformed_cases(tmp_path: Path, content: str) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text(content, encoding="utf-8")
    result = subprocess.run(livebot_command("faq", "eval", "--cases", str(bad)), capture_output=True, text=True)
    assert result.returncode == 1
    assert "bad.jsonl" in result.stderr
