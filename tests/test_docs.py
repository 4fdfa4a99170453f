"""Every document the repository cites exists in it: ``*.md`` names, ``docs/...`` paths and markdown links."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
TEXT_SUFFIXES = frozenset({".py", ".md", ".toml", ".txt", ".html", ".js", ".css", ".ini", ".cfg", ".sh", ".yml", ".yaml", ""})
URL = re.compile(r"[a-z][a-z0-9+.-]*://\S+", re.I)
MD_NAME = re.compile(r"(?<![\w/.-])[\w./-]*\w\.md\b")
DOCS_PATH = re.compile(r"(?<![\w/.-])docs/\w[\w./-]*\w")
MD_LINK = re.compile(r"\]\(([^)\s#?]+)")
LINK_TEXT = re.compile(r"\[[^\]]*\](?=\()")
CODE_SPAN = re.compile(r"`[^`]*`")
README_LINES_MAX = 220


def repo_files(root: Path) -> list[Path]:
    """Tracked and new (not ignored) files; without git, every file outside hidden and build folders."""
    try:
        listed = subprocess.run(["git", "ls-files", "-co", "--exclude-standard", "-z"], cwd=root, capture_output=True,
                                check=True).stdout.decode().split("\0")
        return [root / name for name in listed if name]
    except (OSError, subprocess.CalledProcessError):
        return [p for p in root.rglob("*") if p.is_file()
                and not any(part.startswith(".") or part.endswith(".egg-info") or part == "__pycache__"
                            for part in p.relative_to(root).parts)]


def citations(text: str, markdown: bool) -> list[tuple[int, str]]:
    """(line number, cited path) for each document named in ``text``, URLs left out."""
    found = []
    for number, line in enumerate(text.splitlines(), 1):
        plain = URL.sub(" ", LINK_TEXT.sub("", line) if markdown else line)
        names = MD_NAME.findall(plain) + DOCS_PATH.findall(plain)
        if markdown:  # link targets, outside code spans (a regex in backticks is no link)
            links = MD_LINK.findall(CODE_SPAN.sub(" ", line))
            names += [link for link in links if not URL.match(link) and not link.startswith("mailto:")]
        found += [(number, name) for name in dict.fromkeys(names)]
    return found


def missing_citations(root: Path, skip: frozenset[Path] = frozenset()) -> list[str]:
    """``file:line: cites X`` for each cited path found neither beside the citing file nor at the top of the repo."""
    problems = []
    for path in repo_files(root):
        if path in skip or path.suffix not in TEXT_SUFFIXES or not path.is_file():
            continue
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue
        for number, name in citations(text, path.suffix == ".md"):
            if not ((path.parent / name).exists() or (root / name).exists()):
                problems.append(f"{path.relative_to(root)}:{number}: cites {name}, which is not in the repository")
    return problems


def test_every_cited_document_exists() -> None:
    assert missing_citations(REPO, skip=frozenset({Path(__file__).resolve()})) == []


def test_a_citation_of_a_missing_document_is_found(tmp_path: Path) -> None:
    (tmp_path / "docs" / "guides").mkdir(parents=True)
    (tmp_path / "docs" / "cli.md").write_text("the [format](knowledge-base.md#toml) and [ops](operations.md)\n")
    (tmp_path / "docs" / "operations.md").write_text("![shot](screenshots/x.png) see https://example.com/GONE.md\n")
    (tmp_path / "docs" / "guides" / "advisor.md").write_text("back to [cli](../cli.md)\n")
    (tmp_path / "kb.py").write_text('"""Parse the format of ' + "DESIGN" + '.md; see docs/cli.md and docs/nothing.md."""\n')
    assert sorted(missing_citations(tmp_path)) == [
        "docs/cli.md:1: cites knowledge-base.md, which is not in the repository",
        "docs/operations.md:1: cites screenshots/x.png, which is not in the repository",
        "kb.py:1: cites " + "DESIGN" + ".md, which is not in the repository",
        "kb.py:1: cites docs/nothing.md, which is not in the repository",
    ]


def test_readme_is_a_map() -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    assert len(readme.splitlines()) <= README_LINES_MAX
    for page in ("docs/architecture.md", "docs/operations.md", "docs/sources.md", "docs/benchmarks.md", "docs/cli.md",
                 "docs/guides/advisor.md", "docs/guides/producer.md", "docs/guides/marketing.md"):
        assert f"]({page})" in readme, page
    assert "./scripts/demo" in readme and "./scripts/test-all" in readme
