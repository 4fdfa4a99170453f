"""The ``livebot compliance`` contract: check --jsonl lines in, verdict lines out; eval prints precision/recall."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

import orjson
import pytest

from livebot.cli import build_parser, main

DEV = Path(__file__).resolve().parents[1] / "fixtures" / "compliance" / "dev.jsonl"


def run_check(stdin: bytes) -> list[dict]:
    args = build_parser().parse_args(["compliance", "check", "--jsonl"])
    out = io.BytesIO()
    assert args.func(args, stdin=io.BytesIO(stdin), stdout=out) == 0
    return [orjson.loads(line) for line in out.getvalue().splitlines()]


def test_check_jsonl_contract() -> None:
    lines = run_check("\n".join(orjson.dumps({"text": t}).decode() for t in ["北境臻护能提高免疫力", "不含蔗糖", "宝宝爱喝"]).encode() + b"\n")
    assert [line["verdict"] for line in lines] == ["block", "warn", "ok"]
    finding = lines[0]["findings"][0]
    assert {"rule", "severity", "span", "explanation"} <= set(finding)
    assert finding["rule"] == "function-claim" and finding["severity"] == "block"
    start, end = finding["span"]
    assert "北境臻护能提高免疫力"[start:end] == "提高免疫力"
    assert lines[2] == {"verdict": "ok", "findings": []}


def test_bad_lines_get_error_lines_in_place() -> None:
    deep = b"[" * 100_000 + b"]" * 100_000
    stdin = b"\n".join([
        b"not json", b'{"text": 5}', b"[1,2]", deep, b'{"text": "\xff\xfe"}', b"{}",
        orjson.dumps({"text": "<script>alert(1)</script>\u202e\x00最好的奶粉😀"}),
        orjson.dumps({"text": "宝宝爱喝" * 20_000}), orjson.dumps({"text": "最好"}), orjson.dumps({"text": "最好"}),
    ]) + b"\n"
    lines = run_check(stdin)
    assert len(lines) == 10
    assert all("error" in line for line in lines[:6])
    assert lines[6]["verdict"] == "block"
    assert lines[7]["verdict"] == "ok"
    assert lines[8] == lines[9] and lines[8]["verdict"] == "block"  # duplicates answered alike


def test_check_from_the_command_line_subprocess() -> None:
    proc = subprocess.run([sys.executable, "-m", "livebot", "compliance", "check", "--jsonl"],
                          input='{"text": "增強抵抗力"}\n'.encode(), capture_output=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert orjson.loads(proc.stdout)["verdict"] == "block"


def test_eval_prints_per_verdict_precision_and_recall(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["compliance", "eval", "--cases", str(DEV)]) == 0
    out = capsys.readouterr().out
    for verdict in ("block", "warn", "ok"):
        assert any(line.startswith(verdict) for line in out.splitlines())
    assert "precision" in out and "recall" in out and "allowed passed" in out


def test_eval_rejects_malformed_case_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "cases.jsonl"
    bad.write_text('{"text": "x", "verdict": "maybe"}\n', encoding="utf-8")
    assert main(["compliance", "eval", "--cases", str(bad)]) == 1
    assert "line 1" in capsys.readouterr().err
    assert main(["compliance", "eval", "--cases", str(tmp_path / "missing.jsonl")]) == 1
