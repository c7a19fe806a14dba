"""The Tables tab: every table of the page as a grid, each with "Copy as TSV" for pasting into a spreadsheet.

The tables come from the page's Markdown through the core's `extract_tables`, the same code the exports use, so what
the grid shows is what an XLSX or CSV export writes. A table that goes on across pages is shown (and copied) whole, as
the exports give it, when "Join tables across pages" is on (`core.results.tables.merge` has the rule); rows from the
other pages are greyed and their page is in the row header.
"""

from __future__ import annotations

import functools
import html
import logging
from collections.abc import Iterable

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QBrush, QFont, QGuiApplication, QPalette
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
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


@functools.lru_cache(maxsize=2048)
def _page_tables(page: int, markdown: str) -> tuple:
    """The tables of one page's Markdown, placed (first/last block known); cached, as every page change asks again."""
    from paperlens.core.results.tables.merge import page_tables

    try:
        return tuple(page_tables(page, markdown))
    except Exception:
        log.debug("table extraction failed on page %d", page, exc_info=True)
        return ()


def tables_on_page(pages: Iterable[tuple[int, str]], page: int, *, join: bool = True) -> list:
    """The tables to show for `page`, as PlacedTables: its own, or (with `join`) each joined with the pieces of the
    neighbouring pages it continues or is continued by, exactly as the exports join them.

    `pages` is (page number, Markdown) of every page with a result, in page order. Only the pages a chain through
    `page` could reach are read (each link needs a table ending one page and one opening the next), so showing a
    page of a long document reads a few pages' Markdown, not all of it (this runs on the GUI thread).
    """
    from paperlens.core.results.tables.merge import merge_across_pages

    text = {n: md for n, md in pages if md.strip()}

    def tables(n: int) -> tuple:
        return _page_tables(n, text[n]) if n in text else ()

    def linked(n: int) -> bool:  # page n ends in a table and page n + 1 opens with one
        a, b = tables(n), tables(n + 1)
        return bool(a and b and a[-1].last_block and b[0].first_block)

    first = last = page
    if join:
        while first - 1 in text and linked(first - 1):
            first -= 1
        while last + 1 in text and linked(last):
            last += 1
    placed = [t for n in range(first, last + 1) for t in tables(n)]
    if join:
        placed = merge_across_pages(placed)
    return [t for t in placed if page in t.pieces and t.table.rows]


def page_span(pages: list[int]) -> str:
    """ "pages 3-5" (or "pages 3, 5" when one is skipped, which the rule never joins but a caller might pass)."""
    if len(pages) > 1 and pages == list(range(pages[0], pages[-1] + 1)):
        return f"pages {pages[0]}–{pages[-1]}"
    return "pages " + ", ".join(str(p) for p in pages)


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

    def __init__(
        self, index: int, table, parent=None, *, row_pages: list[int] | None = None, page: int = 0
    ) -> None:
        super().__init__(parent)
        self.table = table
        self.index = index
        rows = table_rows(table)
        n_cols = max((len(r) for r in rows), default=0)
        header_rows = int(getattr(table, "header_rows", 1) or 0)
        caption = getattr(table, "caption", "") or getattr(table, "title", "") or ""
        self.pages = sorted(set(row_pages or [])) or ([page] if page else [])
        title = f"Table {index}: {len(rows)} rows × {n_cols} columns"
        if len(self.pages) > 1:
            title += f", joined across {page_span(self.pages)}"
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
        if len(self.pages) > 1 and row_pages and len(row_pages) == len(rows):
            # where each row comes from: its page in the row header, rows of the other pages greyed
            self.grid.setVerticalHeaderLabels(
                [("" if r < header_rows else f"p. {row_pages[r]}") for r in range(len(rows))]
            )
            grey = QBrush(self.palette().color(QPalette.ColorGroup.Disabled, QPalette.ColorRole.Text))
            for r in range(header_rows, len(rows)):
                if row_pages[r] != page:
                    for c in range(len(rows[r])):
                        item = self.grid.item(r, c)
                        if item is not None:
                            item.setForeground(grey)
            self.grid.setToolTip(
                f"This table goes on across {page_span(self.pages)}; it is shown, copied and exported whole. "
                "Rows of the other pages are grey."
            )
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
    join_changed = Signal(bool)  # the user switched "Join tables across pages"

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.join = QCheckBox("Join tables across pages")
        self.join.setChecked(True)
        self.join.setToolTip(
            "A table that runs off the bottom of a page and goes on at the top of the next is shown and exported as "
            "one table (same columns; a repeated header is dropped). Switch off to see each page's piece."
        )
        self.join.toggled.connect(self.join_changed)
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
        bar = QHBoxLayout()
        bar.setContentsMargins(8, 4, 8, 0)
        bar.addWidget(self.join)
        bar.addStretch(1)
        layout.addLayout(bar)
        layout.addWidget(scroll)
        self.grids: list[TableGrid] = []
        self._shown: object = None

    def show_markdown(self, markdown: str, *, empty_message: str = "") -> None:
        """Show the tables found in `markdown` alone (no other page to join with)."""
        self.show_document([(1, markdown)] if markdown.strip() else [], 1, empty_message=empty_message)

    def show_document(self, pages: list[tuple[int, str]], page: int, *, empty_message: str = "") -> None:
        """Show `page`'s tables; `pages` is (number, Markdown) of every page with a result, in order, so a table that
        goes on across pages is shown whole when joining is on. Skipped when nothing changed since the last call."""
        join = self.join.isChecked()
        shown = (tuple(pages), page, join)
        if shown == self._shown and self.grids:
            return
        self._shown = shown
        for grid in self.grids:
            self._inner_layout.removeWidget(grid)
            grid.deleteLater()
        self.grids = []
        for i, placed in enumerate(tables_on_page(pages, page, join=join), 1):
            grid = TableGrid(i, placed.table, row_pages=placed.row_pages, page=page)
            grid.copied.connect(self.copied)
            self._inner_layout.insertWidget(self._inner_layout.count() - 1, grid)
            self.grids.append(grid)
        if self.grids:
            self.message.hide()
        else:
            self.message.setText(empty_message or "No tables on this page.")
            self.message.show()
