"""The XLSX export: one sheet per table, merged cells merged again, numbers as numbers, never a formula."""

from __future__ import annotations

import io
from pathlib import Path

from paperlens.core.results.export.files import check_target
from paperlens.core.results.export.registry import ExportFormat, register
from paperlens.core.results.export.shared import (
    PageTable,
    cell_value,
    display_width,
    doc_title,
    document_tables,
    xml_safe,
)
from paperlens.core.runs import DocumentResult


def _sheet_title(name: str, used: set[str]) -> str:
    base = "".join("_" if ch in "[]:*?/\\" else ch for ch in name)[:31].strip("'") or "Table"
    title, n = base, 2
    while title.lower() in used:
        suffix = f" ({n})"
        title = base[: 31 - len(suffix)] + suffix
        n += 1
    used.add(title.lower())
    return title


def xlsx_bytes(tables: list[PageTable], title: str = "") -> bytes:
    """One sheet per table, named "Page P Table K" ("(cut)" when truncated); merged cells merged again, the header
    rows bold and frozen, numbers stored as numbers and no text ever stored as a formula."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font
    from openpyxl.utils import get_column_letter

    wb = Workbook()
    wb.remove(wb.active)
    if title:
        wb.properties.title = xml_safe(title)
    wb.properties.creator = "PaperLens"
    used: set[str] = set()
    bold = Font(bold=True)
    wrap = Alignment(wrap_text=True, vertical="top")
    for pt in tables:
        table = pt.table
        ws = wb.create_sheet(_sheet_title(pt.name + (" (cut)" if table.truncated else ""), used))
        regions = table.merged_regions()
        covered = table.covered_cells()
        for r, row in enumerate(table.rows):
            for c, text in enumerate(row):
                if (r, c) in covered:
                    continue
                cell = ws.cell(row=r + 1, column=c + 1)
                value = cell_value(text) if r >= table.header_rows else text
                cell.value = xml_safe(value) if isinstance(value, str) else value
                if isinstance(value, str):
                    # openpyxl reads "=..." as a formula; text from a scanned page must never run as one
                    cell.data_type = "s"
                    if "\n" in value:
                        cell.alignment = wrap
                if r < table.header_rows:
                    cell.font = bold
        for s in regions:
            ws.merge_cells(
                start_row=s.row + 1,
                start_column=s.col + 1,
                end_row=s.row + s.rowspan,
                end_column=s.col + s.colspan,
            )
        if 0 < table.header_rows < table.n_rows:
            ws.freeze_panes = ws.cell(row=table.header_rows + 1, column=1)
        for c in range(table.n_cols):
            longest = max(
                (max(map(display_width, row[c].split("\n") or [""])) for row in table.rows if c < len(row)),
                default=0,
            )
            ws.column_dimensions[get_column_letter(c + 1)].width = min(max(8, longest + 2), 60)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def write_xlsx(doc: DocumentResult, path: Path) -> list[tuple[Path, bytes]]:
    check_target(path)  # before the work of building the workbook
    return [(path, xlsx_bytes(document_tables(doc), title=doc_title(doc)))]


FORMAT = register(
    ExportFormat(
        "xlsx",
        "Excel (tables)",
        (".xlsx",),
        write=write_xlsx,
        aliases=("excel",),
        needs_tables=True,
        notes_missing_pages=False,
    )
)
