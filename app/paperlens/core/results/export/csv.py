"""The CSV export: one UTF-8 file per table (Excel, LibreOffice and Python's csv module all read it)."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from paperlens.core.results.export.registry import ExportFormat, register
from paperlens.core.results.export.shared import PageTable, document_tables, spreadsheet_text
from paperlens.core.results.tables import Table
from paperlens.core.runs import DocumentResult


def csv_bytes(table: Table) -> bytes:
    """UTF-8 with a byte-order mark: Excel reads a CSV without one as the local code page and garbles accents.

    Python's csv module reads it back with encoding="utf-8-sig"; LibreOffice and Numbers take it either way. RFC 4180
    (quoted where needed, CRLF line ends); a text cell a spreadsheet would run as a formula gets a leading apostrophe
    (`spreadsheet_text`).
    """
    buf = io.StringIO()
    csv.writer(buf).writerows([[spreadsheet_text(c) for c in row] for row in table.rows])
    return b"\xef\xbb\xbf" + buf.getvalue().encode("utf-8")


def csv_paths(out_path: Path, tables: list[PageTable]) -> list[Path]:
    """Where the CSV export puts each table.

    One table: exactly `out_path`. Several: `<stem>-p<page>-<k><suffix>` beside it (report.csv ->
    report-p1-1.csv, report-p1-2.csv, report-p3-1.csv), k counting the tables on that page from 1.
    """
    if len(tables) == 1:
        return [out_path]
    suffix = out_path.suffix or ".csv"
    return [out_path.with_name(f"{out_path.stem}-p{t.page}-{t.index}{suffix}") for t in tables]


def write_csv(doc: DocumentResult, path: Path) -> list[tuple[Path, bytes]]:
    tables = document_tables(doc)
    return [(p, csv_bytes(t.table)) for p, t in zip(csv_paths(path, tables), tables, strict=True)]


FORMAT = register(
    ExportFormat(
        "csv", "CSV (tables)", (".csv",), write=write_csv, needs_tables=True, notes_missing_pages=False
    )
)
