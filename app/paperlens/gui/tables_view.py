"""The Tables tab: every table of the page as a grid, each with "Copy as TSV" for pasting into a spreadsheet.

The tables come from the page's Markdown through the core's `extract_tables`, the same code the exports use, so what
the grid shows is what an XLSX or CSV export writes.
"""

from __future__ import annotations

import html
import logging

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QFont, QGuiApplication
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QScrollArea,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

log = logging.getLogger(__name__)


def extract(markdown: str) -> list:
    """The page's tables, or [] when there are none or the text cannot be read as tables."""
    if not markdown.strip():
        return []
    from paperlens.core.results.tables import extract_tables

    try:
        return list(extract_tables(markdown))
    except Exception:
        log.debug("table extraction failed", exc_info=True)
        return []


def column_name(index: int) -> str:
    """A, B, ..., Z, AA, AB, ...: the column names a spreadsheet would show after pasting the TSV."""
    name = ""
    index += 1
    while index:
        index, rem = divmod(index - 1, 26)
        name = chr(65 + rem) + name
    return name


def table_rows(table) -> list[list[str]]:
    rows = getattr(table, "rows", None) or []
    return [[("" if c is None else str(getattr(c, "text", c))) for c in row] for row in rows]


def table_tsv(table) -> str:
    """Tab-separated text for the clipboard. Tabs and line breaks in a cell become spaces (pasted text has no quoting
    a spreadsheet honours), and a text cell that would paste as a formula (=, +, -, @) gets a leading apostrophe."""
    from paperlens.core.results.export.shared import spreadsheet_text

    return "\n".join(
        "\t".join(
            spreadsheet_text(" ".join(c.replace("\t", " ").replace("\r", " ").split("\n"))) for c in row
        )
        for row in table_rows(table)
    )


class TableGrid(QWidget):
    """One table: a caption, a read-only grid with header rows in bold, and a Copy as TSV button."""

    copied = Signal(str)  # what was copied, in a sentence for the status bar

    def __init__(self, index: int, table, parent=None) -> None:
        super().__init__(parent)
        self.table = table
        self.index = index
        rows = table_rows(table)
        n_cols = max((len(r) for r in rows), default=0)
        header_rows = int(getattr(table, "header_rows", 1) or 0)
        caption = getattr(table, "caption", "") or getattr(table, "title", "") or ""
        title = f"Table {index}: {len(rows)} rows × {n_cols} columns"
        # the caption is the model's text: escaped, never rich text of its own
        self.label = QLabel(f"<b>{title}</b>" + (f" — {html.escape(caption)}" if caption else ""))
        self.copy_button = QPushButton("Copy as TSV")
        self.copy_button.setToolTip(
            "Copy this table as tab-separated values, ready to paste into a spreadsheet"
        )
        self.copy_button.clicked.connect(self.copy_tsv)

        self.grid = QTableWidget(len(rows), n_cols)
        self.grid.setHorizontalHeaderLabels(
            [column_name(c) for c in range(n_cols)]
        )  # as a spreadsheet names them
        self.grid.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.grid.setSelectionMode(QAbstractItemView.SelectionMode.ContiguousSelection)
        self.grid.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        self.grid.setWordWrap(True)
        self.grid.setAccessibleName(title)
        bold = QFont(self.font())
        bold.setBold(True)
        for r, row in enumerate(rows):
            for c, text in enumerate(row):
                item = QTableWidgetItem(text)
                if r < header_rows:
                    item.setFont(bold)
                self.grid.setItem(r, c, item)
        for r, c, rs, cs in self._spans(table):
            if rs > 1 or cs > 1:
                self.grid.setSpan(r, c, rs, cs)
        self.grid.resizeColumnsToContents()
        for c in range(n_cols):
            self.grid.setColumnWidth(c, min(self.grid.columnWidth(c), 320))
        self.grid.resizeRowsToContents()
        height = self.grid.horizontalHeader().height() + 6
        height += sum(self.grid.rowHeight(r) for r in range(min(len(rows), 14)))
        self.grid.setMinimumHeight(min(height, 420))

        head = QHBoxLayout()
        head.addWidget(self.label, 1)
        head.addWidget(self.copy_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 12)
        layout.addLayout(head)
        layout.addWidget(self.grid)

    @staticmethod
    def _spans(table) -> list[tuple[int, int, int, int]]:
        spans = getattr(table, "spans", None) or []
        out = []
        for s in spans:
            try:
                r, c, rs, cs = (int(v) for v in s)
            except (TypeError, ValueError):
                continue
            out.append((r, c, rs, cs))
        return out

    def copy_tsv(self) -> None:
        QGuiApplication.clipboard().setText(table_tsv(self.table))
        rows = len(table_rows(self.table))
        self.copied.emit(f"Copied table {self.index} ({rows} row{'' if rows == 1 else 's'}) as TSV.")


class TablesPane(QWidget):
    """All tables of the shown page, stacked in a scroll area; a plain sentence when there are none.

    Emits `copied(sentence)` when a table is copied as TSV (the window shows it in the status bar)."""

    copied = Signal(str)

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.message = QLabel()
        self.message.setWordWrap(True)
        self.message.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        self.message.setContentsMargins(8, 8, 8, 8)
        self._inner = QWidget()
        self._inner_layout = QVBoxLayout(self._inner)
        self._inner_layout.setContentsMargins(8, 8, 8, 8)
        self._inner_layout.addWidget(self.message)
        self._inner_layout.addStretch(1)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(self._inner)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(scroll)
        self.grids: list[TableGrid] = []
        self._shown: str | None = None

    def show_markdown(self, markdown: str, *, empty_message: str = "") -> None:
        """Show the tables found in `markdown` (skipped when the text has not changed since the last call)."""
        if markdown == self._shown and self.grids:
            return
        self._shown = markdown
        for grid in self.grids:
            self._inner_layout.removeWidget(grid)
            grid.deleteLater()
        self.grids = []
        tables = extract(markdown)
        for i, table in enumerate(tables, 1):
            if not table_rows(table):
                continue
            grid = TableGrid(i, table)
            grid.copied.connect(self.copied)
            self._inner_layout.insertWidget(self._inner_layout.count() - 1, grid)
            self.grids.append(grid)
        if self.grids:
            self.message.hide()
        else:
            self.message.setText(empty_message or "No tables on this page.")
            self.message.show()
