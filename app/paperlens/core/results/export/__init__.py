"""Results out: a parsed document written as Markdown, HTML, plain text, JSON, CSV, XLSX, Word or searchable PDF.

Each format is one module here that registers itself in `registry` (see its docstring for adding one); this module
imports them all, so `import paperlens.core.results.export` gives the complete list. `export` writes files through
`files.write_atomically` (all or nothing); `render` gives a text format as a string, e.g. for stdout.
"""

from __future__ import annotations

import contextlib
from pathlib import Path

# The writers register themselves on import, in the order the CLI and the window list them. A new format: one
# module, one line here.
# isort: off
from paperlens.core.results.export import markdown  # noqa: F401
from paperlens.core.results.export import json_format  # noqa: F401
from paperlens.core.results.export import html  # noqa: F401
from paperlens.core.results.export import text  # noqa: F401
from paperlens.core.results.export import docx  # noqa: F401
from paperlens.core.results.export import xlsx  # noqa: F401
from paperlens.core.results.export import csv  # noqa: F401
from paperlens.core.results.export import pdf  # noqa: F401

# isort: on
from paperlens.core.errors import ExportError
from paperlens.core.results.export.csv import csv_bytes, csv_paths
from paperlens.core.results.export.files import name_problem, safe_stem, write_atomically
from paperlens.core.results.export.html import render_html
from paperlens.core.results.export.json_format import JSON_FORMAT_VERSION, to_json, to_json_data
from paperlens.core.results.export.markdown import close_open_blocks, render_markdown
from paperlens.core.results.export.registry import (
    ExportFormat,
    formats,
    get,
    guess_format,
    normalize_format,
    register,
    unregister,
)
from paperlens.core.results.export.shared import (
    PageTable,
    cell_value,
    doc_title,
    document_tables,
    no_tables_error,
    spreadsheet_text,
    table_merging,
)
from paperlens.core.results.export.text import render_text, table_to_text
from paperlens.core.results.sanitize import sanitize_html
from paperlens.core.runs import DocumentResult

__all__ = [
    "JSON_FORMAT_VERSION",
    "ExportFormat",
    "PageTable",
    "cell_value",
    "close_open_blocks",
    "csv_bytes",
    "csv_paths",
    "document_tables",
    "export",
    "formats",
    "get",
    "guess_format",
    "name_problem",
    "normalize_format",
    "register",
    "spreadsheet_text",
    "render",
    "render_html",
    "render_markdown",
    "render_text",
    "sanitize_html",
    "table_merging",
    "table_to_text",
    "to_json",
    "to_json_data",
    "unregister",
    "write_atomically",
]


def render(doc: DocumentResult, fmt: str, *, merge_tables: bool = True) -> str:
    """A text format (md, json, html, txt) as a string, e.g. for stdout. `merge_tables`: as for `export`."""
    spec = get(fmt)
    if spec.render is None:
        raise ExportError(
            f"The {spec.name} format is a file, not text.",
            hint=f"Give it a file name, such as OUT{spec.extension}.",
        )
    with table_merging(merge_tables):
        return spec.render(doc)


def export(doc: DocumentResult, fmt: str, out_path: Path | str, *, merge_tables: bool = True) -> list[Path]:
    """Writes `doc` in format `fmt` to `out_path` and returns the files written.

    `out_path` is a file name, or an existing folder, in which case the file is named after the document
    (`<title>.<ext>`). CSV writes one file per table, named as `csv_paths` says. XLSX and CSV need at least one table.
    Raises `ExportError` with a sentence for the user; on any error no file is left half-written.
    `merge_tables=False` keeps a table that continues on the next page as one table per page (see `tables.merge`).
    """
    spec = get(fmt)
    out = Path(out_path).expanduser()
    with contextlib.suppress(OSError):  # a name the system rejects is reported by files.check_target
        if out.is_dir():
            out = out / f"{safe_stem(doc_title(doc))}{spec.extension}"
    with table_merging(merge_tables):
        if spec.needs_tables and not document_tables(doc):
            raise no_tables_error(doc, spec.name)
        files = spec.files(doc, out)
    write_atomically(files)
    return [p for p, _ in files]
