"""Streaming bulk import of NDJSON or CSV files, in chunks, with per-line errors."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import IO, Any

import marshmallow as ma

from advocacy.customers.service import refresh_statistics
from advocacy.errors import DomainError, Unprocessable
from advocacy.ingest.batch import KINDS, ingest_items
from advocacy.ingest.reading import BoundedLines, RowLimits, buffered
from advocacy.types import DbSession

CHUNK_ROWS = 1000
ANALYZE_FIRST_AT = 5_000
MAX_LISTED_ERRORS = 1000
FORMATS = {
    "application/x-ndjson": "ndjson",
    "application/jsonl": "ndjson",
    "application/ndjson": "ndjson",
    "text/csv": "csv",
}


class UnsupportedMediaType(DomainError):
    status = 415
    slug = "unsupported-media-type"


@dataclass
class ImportReport:
    kind: str
    format: str
    rows: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0
    errors: list[dict[str, Any]] = field(default_factory=list)
    errors_truncated: bool = False

    def reject(self, line: int, errors: dict[str, list[str]]) -> None:
        self.rejected += 1
        for name, messages in errors.items():
            for message in messages:
                if len(self.errors) >= MAX_LISTED_ERRORS:
                    self.errors_truncated = True
                    return
                self.errors.append({"line": line, "field": name, "message": message})


def format_for(content_type: str | None) -> str:
    mimetype = (content_type or "").split(";", 1)[0].strip().lower()
    if mimetype not in FORMATS:
        raise UnsupportedMediaType(
            f"Send NDJSON (application/x-ndjson) or CSV (text/csv), not {mimetype or 'nothing'}."
        )
    return FORMATS[mimetype]


def _ndjson_rows(lines: BoundedLines) -> Iterator[tuple[int, Any, str | None]]:
    for line in lines:
        lines.next_row()
        if not line.strip():
            continue
        try:
            yield lines.line, json.loads(line), None
        except (ValueError, RecursionError):
            yield lines.line, None, "Not valid JSON."


def _coerce(schema: ma.Schema, row: dict[str | None, Any]) -> dict[str, Any]:
    """Give CSV cells the types the schema expects; what fails to convert is left for it."""
    out: dict[str, Any] = {}
    for column, cell in row.items():
        if column is None or cell is None or cell == "":
            continue
        name, _, sub = column.partition(".")
        declared = schema.fields.get(name)
        value: Any = cell
        target = declared
        if (
            sub
            and isinstance(declared, ma.fields.Nested)
            and isinstance(declared.schema, ma.Schema)
        ):
            target = declared.schema.fields.get(sub)
        try:
            if isinstance(target, ma.fields.Boolean):
                lowered = cell.strip().lower()
                value = {
                    "true": True,
                    "1": True,
                    "yes": True,
                    "false": False,
                    "0": False,
                    "no": False,
                }.get(lowered, cell)
            elif isinstance(target, ma.fields.Integer):
                value = int(cell)
            elif isinstance(target, ma.fields.Float):
                value = float(cell)
            elif isinstance(target, ma.fields.Dict):
                value = json.loads(cell)
        except (ValueError, RecursionError):
            value = cell
        if sub:
            out.setdefault(name, {})
            if isinstance(out[name], dict):
                out[name][sub] = value
        else:
            out[name] = value
    return out


def _csv_rows(lines: BoundedLines, schema: ma.Schema) -> Iterator[tuple[int, Any, str | None]]:
    reader = csv.DictReader(lines)
    try:
        for row in reader:
            lines.next_row()
            if None in row:
                yield reader.line_num, None, "More cells than header columns."
                continue
            yield reader.line_num, _coerce(schema, row), None
    except csv.Error as exc:
        raise Unprocessable(f"Malformed CSV near line {reader.line_num}: {exc}") from exc


def run_import(
    session: DbSession,
    *,
    workspace_id: int,
    kind: str,
    content_type: str | None,
    stream: IO[bytes],
    limits: RowLimits,
) -> ImportReport:
    """Apply a file's valid rows; report rejected ones by line. Re-running changes nothing.

    A row over ``limits`` raises (413 or 422) before it is parsed: the caller's transaction
    then commits nothing.
    """
    fmt = format_for(content_type)
    report = ImportReport(kind=kind, format=fmt)
    lines = BoundedLines(buffered(stream), limits, count_cells=fmt == "csv")
    schema = KINDS[kind].schema()
    rows = _ndjson_rows(lines) if fmt == "ndjson" else _csv_rows(lines, schema)
    chunk: list[tuple[int, Any]] = []
    next_analyze = ANALYZE_FIRST_AT

    def flush() -> None:
        nonlocal next_analyze
        if report.rows >= next_analyze:
            # The planner's statistics lag behind a bulk load inside one transaction and
            # lead it to scan whole tables per chunk; refresh them as the tables grow.
            refresh_statistics(session, kind=kind)
            next_analyze *= 4
        results = ingest_items(
            session, workspace_id=workspace_id, kind=kind, raw_items=[item for _, item in chunk]
        )
        for (line, _), result in zip(chunk, results, strict=True):
            if result.errors and result.status == "rejected":
                report.reject(line, result.errors)
            else:
                setattr(report, result.status, getattr(report, result.status) + 1)
        chunk.clear()

    try:
        for line, item, problem in rows:
            report.rows += 1
            if problem:
                report.reject(line, {"_line": [problem]})
                continue
            chunk.append((line, item))
            if len(chunk) >= CHUNK_ROWS:
                flush()
        if chunk:
            flush()
    except UnicodeDecodeError as exc:
        raise Unprocessable("The file is not valid UTF-8.") from exc
    return report
