"""jieba's general-Chinese IDF table: how common a word is in ordinary text, shared by the FAQ and the guard."""

from __future__ import annotations

import logging
import threading
from pathlib import Path

logger = logging.getLogger(__name__)

_idf_lock = threading.Lock()
_idf_table: dict[str, float] | None = None


def general_idf() -> dict[str, float]:
    """jieba's general-Chinese IDF table (``jieba/analyse/idf.txt``), read once per process.

    Read lazily on first use (~0.15 s, 270k words), never at import; an install without the
    file gives an empty table, so every word then counts as specific (the old behaviour).
    """
    global _idf_table
    table = _idf_table
    if table is None:
        with _idf_lock:
            if _idf_table is None:
                _idf_table = _read_general_idf()
            table = _idf_table
    return table


def _read_general_idf() -> dict[str, float]:
    import importlib.util

    spec = importlib.util.find_spec("jieba")
    if spec is None or spec.origin is None:
        return {}
    path = Path(spec.origin).parent / "analyse" / "idf.txt"
    table: dict[str, float] = {}
    try:
        with path.open(encoding="utf-8") as lines:
            for line in lines:
                word, _, value = line.rstrip("\n").partition(" ")
                try:
                    table[word] = float(value)
                except ValueError:
                    continue
    except OSError:
        logger.warning("jieba IDF table not found at %s: general specificity disabled", path)
        return {}
    return table
