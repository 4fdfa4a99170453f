"""Knowledge base: FAQ entries, validation, and TOML/CSV/JSON import and export.

Everything here is a pure function on text or on lists of entries; storing entries in the
database belongs to the storage layer. A file is validated completely before any entry is
returned, so a bad file never half-imports.
"""

from __future__ import annotations

import csv
import io
import json
import re
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from livebot.faq.errors import KnowledgeBaseError, UnknownEntryError

FIELDS = ("id", "question", "aliases", "answer", "tags", "needs_human")
CSV_LIST_SEPARATOR = "|"
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
"""A spreadsheet runs a cell starting with one of these as a formula (CSV injection)."""
_ID_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,99}$")
_TRUE_WORDS = frozenset({"true", "1", "yes", "y", "是", "需要"})
_FALSE_WORDS = frozenset({"false", "0", "no", "n", "否", "不需要", ""})


@dataclass(frozen=True, slots=True)
class FaqEntry:
    """One question the advisors have an approved answer for."""

    id: str
    question: str
    aliases: tuple[str, ...] = ()
    answer: str = ""
    tags: tuple[str, ...] = ()
    needs_human: bool = False

    def phrasings(self) -> tuple[str, ...]:
        """The canonical question followed by every alias: what viewers might type."""
        return (self.question, *self.aliases)

    def with_alias(self, alias: str) -> FaqEntry:
        """A copy with ``alias`` appended (unchanged when it is already a phrasing)."""
        alias = alias.strip()
        if not alias:
            raise KnowledgeBaseError("alias must not be empty", entry_id=self.id, field="aliases")
        if alias in self.phrasings():
            return self
        return replace(self, aliases=(*self.aliases, alias))

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-friendly mapping in the knowledge-base field order."""
        return {
            "id": self.id,
            "question": self.question,
            "aliases": list(self.aliases),
            "answer": self.answer,
            "tags": list(self.tags),
            "needs_human": self.needs_human,
        }


# ───────────── validation ─────────────


def entries_from_records(records: Sequence[Any]) -> list[FaqEntry]:
    """Validate raw mappings (from any format) into entries; raise on the first bad one."""
    entries: list[FaqEntry] = []
    seen: dict[str, int] = {}
    for index, record in enumerate(records):
        entry = _entry_from_record(index, record)
        if entry.id in seen:
            raise KnowledgeBaseError(
                f"duplicate id, already used by faq[{seen[entry.id]}]", index=index, entry_id=entry.id, field="id"
            )
        seen[entry.id] = index
        entries.append(entry)
    return entries


def _entry_from_record(index: int, record: Any) -> FaqEntry:
    if not isinstance(record, Mapping):
        raise KnowledgeBaseError(f"expected a table, got {type(record).__name__}", index=index)
    raw_id = record.get("id")
    entry_id = raw_id if isinstance(raw_id, str) else None
    unknown = sorted(str(key) for key in record if key not in FIELDS)
    if unknown:
        raise KnowledgeBaseError("unknown field", index=index, entry_id=entry_id, field=unknown[0])

    def fail(field: str, problem: str) -> KnowledgeBaseError:
        return KnowledgeBaseError(problem, index=index, entry_id=entry_id, field=field)

    entry_id_value = _required_text(record, "id", fail)
    if not _ID_PATTERN.match(entry_id_value):
        raise fail("id", "must be letters, digits, '-', '_', '.' or ':' (at most 100), no spaces")
    return FaqEntry(
        id=entry_id_value,
        question=_required_text(record, "question", fail),
        aliases=_text_list(record, "aliases", fail),
        answer=_required_text(record, "answer", fail),
        tags=_text_list(record, "tags", fail),
        needs_human=_flag(record, "needs_human", fail),
    )


def _required_text(record: Mapping[str, Any], field: str, fail: Any) -> str:
    if field not in record:
        raise fail(field, "missing required field")
    value = record[field]
    if not isinstance(value, str):
        raise fail(field, f"expected a string, got {type(value).__name__}")
    value = value.strip()
    if not value:
        raise fail(field, "must not be empty")
    return value


def _text_list(record: Mapping[str, Any], field: str, fail: Any) -> tuple[str, ...]:
    value = record.get(field, [])
    if not isinstance(value, list | tuple):
        raise fail(field, f"expected a list of strings, got {type(value).__name__}")
    items: list[str] = []
    for position, item in enumerate(value):
        if not isinstance(item, str):
            raise fail(f"{field}[{position}]", f"expected a string, got {type(item).__name__}")
        item = item.strip()
        if not item:
            raise fail(f"{field}[{position}]", "must not be empty")
        if item not in items:
            items.append(item)
    return tuple(items)


def _flag(record: Mapping[str, Any], field: str, fail: Any) -> bool:
    value = record.get(field, False)
    if not isinstance(value, bool):
        raise fail(field, f"expected true or false, got {type(value).__name__}")
    return value


# ───────────── TOML ─────────────


def parse_toml(text: str) -> list[FaqEntry]:
    """Parse the ``[[faq]]`` TOML format (docs/knowledge-base.md)."""
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise KnowledgeBaseError(f"invalid TOML: {err}") from err
    except RecursionError as err:
        raise KnowledgeBaseError("invalid TOML: nested too deeply") from err
    records = document.get("faq")
    if records is None:
        raise KnowledgeBaseError("no [[faq]] entries found", field="faq")
    if not isinstance(records, list):
        raise KnowledgeBaseError("expected an array of tables [[faq]]", field="faq")
    return entries_from_records(records)


def dump_toml(entries: Iterable[FaqEntry]) -> str:
    """Serialise entries to the ``[[faq]]`` TOML format (round-trips through parse_toml)."""
    blocks = []
    for entry in entries:
        lines = [
            "[[faq]]",
            f"id = {_toml_string(entry.id)}",
            f"question = {_toml_string(entry.question)}",
            f"aliases = {_toml_list(entry.aliases)}",
            f"answer = {_toml_string(entry.answer)}",
            f"tags = {_toml_list(entry.tags)}",
            f"needs_human = {'true' if entry.needs_human else 'false'}",
        ]
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks) + "\n"


def _toml_string(value: str) -> str:
    # JSON string escaping is valid TOML basic-string escaping for every code point.
    return json.dumps(value, ensure_ascii=False)


def _toml_list(values: Sequence[str]) -> str:
    return "[" + ", ".join(_toml_string(value) for value in values) + "]"


# ───────────── JSON ─────────────


def parse_json(text: str) -> list[FaqEntry]:
    """Parse a JSON list of entries, or an object ``{"faq": [...]}``."""
    try:
        document = json.loads(text)
    except json.JSONDecodeError as err:
        raise KnowledgeBaseError(f"invalid JSON: {err}") from err
    except RecursionError as err:
        raise KnowledgeBaseError("invalid JSON: nested too deeply") from err
    records = document.get("faq") if isinstance(document, dict) else document
    if not isinstance(records, list):
        raise KnowledgeBaseError("expected a list of entries or an object with a 'faq' list", field="faq")
    return entries_from_records(records)


def dump_json(entries: Iterable[FaqEntry]) -> str:
    """Serialise entries as ``{"faq": [...]}`` (UTF-8 text, readable indentation)."""
    return json.dumps({"faq": [entry.to_dict() for entry in entries]}, ensure_ascii=False, indent=2) + "\n"


# ───────────── CSV ─────────────


def parse_csv(text: str) -> list[FaqEntry]:
    """Parse CSV with a header row of FIELDS; list cells are '|'-separated or a JSON array."""
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    header = reader.fieldnames or []
    missing = [field for field in ("id", "question", "answer") if field not in header]
    if missing:
        raise KnowledgeBaseError("missing CSV column", field=missing[0])
    records = []
    for index, row in enumerate(reader):
        if None in row:
            raise KnowledgeBaseError("row has more cells than the header", index=index, entry_id=row.get("id"))
        records.append(_record_from_csv_row(index, row))
    return entries_from_records(records)


def _record_from_csv_row(index: int, row: Mapping[str, str | None]) -> dict[str, Any]:
    record: dict[str, Any] = {key: unguard_formula(value or "") for key, value in row.items() if key}
    for field in ("aliases", "tags"):
        if field in record:
            record[field] = _csv_list(index, record, field)
    if "needs_human" in record:
        word = record["needs_human"].strip().lower()
        if word in _TRUE_WORDS:
            record["needs_human"] = True
        elif word in _FALSE_WORDS:
            record["needs_human"] = False
        else:
            raise KnowledgeBaseError(
                f"expected true or false, got {record['needs_human']!r}",
                index=index,
                entry_id=record.get("id"),
                field="needs_human",
            )
    return record


def _csv_list(index: int, record: Mapping[str, Any], field: str) -> list[Any]:
    cell = str(record[field]).strip()
    if not cell:
        return []
    if cell.startswith("["):
        try:
            value = json.loads(cell)
        except json.JSONDecodeError as err:
            raise KnowledgeBaseError(
                f"invalid JSON array: {err}", index=index, entry_id=record.get("id"), field=field
            ) from err
        return value if isinstance(value, list) else [value]
    return [item.strip() for item in cell.split(CSV_LIST_SEPARATOR) if item.strip()]


def dump_csv(entries: Iterable[FaqEntry]) -> str:
    """Serialise entries to CSV (header row first); round-trips through parse_csv."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(FIELDS)
    for entry in entries:
        cells = [entry.id, entry.question, _csv_cell(entry.aliases), entry.answer, _csv_cell(entry.tags)]
        writer.writerow([*(guard_formula(cell) for cell in cells), "true" if entry.needs_human else "false"])
    return out.getvalue()


def guard_formula(cell: str) -> str:
    """Prefix ``'`` (the spreadsheet text marker) to a cell a spreadsheet would run as a formula.

    Aliases learned from viewer chat end up here, so this text is untrusted. A value that
    already starts with apostrophes before such a character gets one more, which makes
    :func:`unguard_formula` restore every value exactly.
    """
    return "'" + cell if cell.lstrip("'").startswith(FORMULA_STARTS) else cell


def unguard_formula(cell: str) -> str:
    """The value :func:`guard_formula` was given (also for ``'=text`` typed in a spreadsheet)."""
    return cell[1:] if cell.startswith("'") and cell.lstrip("'").startswith(FORMULA_STARTS) else cell


def _csv_cell(values: Sequence[str]) -> str:
    # '|' is friendlier to type in a spreadsheet; fall back to JSON when it would be ambiguous.
    if any(CSV_LIST_SEPARATOR in value for value in values) or (values and values[0].startswith("[")):
        return json.dumps(list(values), ensure_ascii=False)
    return CSV_LIST_SEPARATOR.join(values)


# ───────────── files ─────────────

_PARSERS = {".toml": parse_toml, ".json": parse_json, ".csv": parse_csv}


def load_kb(path: str | Path) -> list[FaqEntry]:
    """Load a knowledge-base file; the format follows the suffix (.toml, .json, .csv)."""
    path = Path(path)
    parser = _PARSERS.get(path.suffix.lower())
    if parser is None:
        raise KnowledgeBaseError(f"unsupported knowledge-base format {path.suffix!r} (use .toml, .json or .csv)")
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise KnowledgeBaseError(f"cannot read {path}: {err}") from err
    return parser(text)


def sample_kb_path() -> Path:
    """The bundled sample knowledge base the demo uses."""
    return Path(__file__).with_name("data") / "sample_kb.toml"


def replace_entry(entries: Sequence[FaqEntry], updated: FaqEntry) -> list[FaqEntry]:
    """A new list with the entry of the same id replaced by ``updated``."""
    result = [updated if entry.id == updated.id else entry for entry in entries]
    if all(entry.id != updated.id for entry in entries):
        raise UnknownEntryError(updated.id)
    return result
