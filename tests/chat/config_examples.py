"""Read the commented example sections of config.example.toml, so tests keep them valid.

A block runs from ``# >>> example: NAME`` to ``# <<< example: NAME``. Inside it, ``#key = ...``
and ``#[[table]]`` lines are configuration (uncommented here), ``##`` and ``# `` lines prose.
"""

from __future__ import annotations

import tomllib
from typing import Any

from tests.support import REPO


def example_block(name: str) -> dict[str, Any]:
    """The TOML document of one example block with its configuration lines uncommented."""
    text = (REPO / "config.example.toml").read_text(encoding="utf-8")
    start = text.index(f"# >>> example: {name}\n")
    end = text.index(f"# <<< example: {name}\n", start)
    lines = []
    for line in text[start:end].splitlines()[1:]:
        if line.startswith("##") or line.startswith("# ") or line == "#":
            continue
        lines.append(line[1:] if line.startswith("#") else line)
    return tomllib.loads("\n".join(lines))
