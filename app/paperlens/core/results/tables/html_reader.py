"""The HTML-table reader: HTML fed in pieces to `Table`s, row and column spans laid out as HTML's table model does."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from html.parser import HTMLParser

from paperlens.core.results.tables.model import Span, Table
from paperlens.core.results.tables.text import BLOCK_TAGS, SKIP_TAGS

# HTML's own limits (https://html.spec.whatwg.org/#attr-tdth-colspan): a model that writes colspan="100000" must
# not make us build a grid of a million cells.
MAX_COLSPAN = 1000
MAX_ROWSPAN = 65534


def find_table_start(text: str, start: int = 0) -> int:
    """Index of the next `<table` tag (not `<tablefoo`) in `text`, or -1."""
    lower = text.lower()
    i = lower.find("<table", start)
    while i >= 0:
        nxt = lower[i + 6 : i + 7]
        if nxt in ("", ">", "/") or nxt.isspace():
            return i
        i = lower.find("<table", i + 1)
    return -1


@dataclass
class _Cell:
    parts: list[str]
    rowspan: int
    colspan: int
    header: bool


@dataclass
class _TableState:
    rows: list[list[_Cell]] = field(default_factory=list)
    row: list[_Cell] | None = None
    cell: _Cell | None = None
    thead_rows: int = 0
    section: str = ""
    caption: list[str] | None = None
    caption_text: str = ""
    index: int = 0  # start order, so a nested table comes after the one it sits in
    unclosed: bool = False  # the text ended before its </table>


def _span_value(attrs: list[tuple[str, str | None]], name: str, limit: int) -> int:
    for key, value in attrs:
        if key == name and value is not None:
            try:
                n = int(value.strip().split()[0].rstrip(";"))
            except (ValueError, IndexError):
                return 1
            if n == 0 and name == "rowspan":
                return 0  # HTML: to the end of the table
            return max(1, min(n, limit))
    return 1


class HtmlTables(HTMLParser):
    """Builds grids from HTML fed in pieces; `done` once the outermost table is closed."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[_TableState] = []
        self.finished: list[_TableState] = []
        self.done = False
        self.fed = ""
        self.end_offset = -1  # offset in `fed` just past the outermost </table>
        self._count = 0
        self._skip = 0  # inside <script>/<style>: not cell text

    # -- driving ----------------------------------------------------------------------------------------------------
    def feed(self, data: str) -> str:  # type: ignore[override]
        """Feeds `data`; returns the part of it after the outermost </table> ("" while the table is open)."""
        before = len(self.fed)
        self.fed += data
        # html.parser gives up on some malformed markup with an AssertionError (`<![a` in Python 3.11): keep what
        # was read; the rest of a model's broken table is not worth losing the page over (found by hypothesis)
        with contextlib.suppress(AssertionError, ValueError):
            super().feed(data)
        if self.done:
            return self.fed[max(self.end_offset, before) :]
        return ""

    def finish(self) -> list[Table]:
        """Closes an unfinished table (the text ended first): what was read is kept, marked truncated."""
        if not self.done:
            with contextlib.suppress(Exception):  # html.parser is lenient; a cut tag must not stop us
                self.close()
        while self.stack:
            state = self.stack.pop()
            state.unclosed = True
            self._close_cell(state)
            self._close_row(state)
            self.finished.append(state)
        self.done = True
        return self.tables

    @property
    def tables(self) -> list[Table]:
        out = []
        for state in sorted(self.finished, key=lambda s: s.index):
            table = _grid(state)
            if table is not None:
                table.truncated = state.unclosed
                out.append(table)
        return out

    # -- events -----------------------------------------------------------------------------------------------------
    def handle_starttag(self, tag, attrs):
        if self.done:
            return
        if tag in SKIP_TAGS:
            self._skip += 1
            return
        if tag == "table":
            self._count += 1
            self.stack.append(_TableState(index=self._count))
            return
        if not self.stack:
            return
        st = self.stack[-1]
        if tag in ("thead", "tbody", "tfoot"):
            self._close_cell(st)
            self._close_row(st)
            st.section = tag
        elif tag == "tr":
            self._close_cell(st)
            self._close_row(st)
            st.row = []
        elif tag in ("td", "th"):
            self._close_cell(st)
            if st.row is None:
                st.row = []
            st.cell = _Cell(
                parts=[],
                rowspan=_span_value(attrs, "rowspan", MAX_ROWSPAN),
                colspan=_span_value(attrs, "colspan", MAX_COLSPAN),
                header=tag == "th",
            )
        elif tag == "caption":
            st.caption = []
        elif tag == "br" or tag in BLOCK_TAGS:
            self._text("\n")

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)

    def handle_endtag(self, tag):
        if self.done or not self.stack:
            return
        if tag in SKIP_TAGS:
            self._skip = max(0, self._skip - 1)
            return
        st = self.stack[-1]
        if tag == "table":
            self._close_cell(st)
            self._close_row(st)
            self.finished.append(self.stack.pop())
            if not self.stack:
                self.done = True
                self.end_offset = self._offset_after_tag()
        elif tag in ("td", "th"):
            self._close_cell(st)
        elif tag == "tr":
            self._close_cell(st)
            self._close_row(st)
        elif tag in ("thead", "tbody", "tfoot"):
            self._close_cell(st)
            self._close_row(st)
            st.section = ""
        elif tag == "caption" and st.caption is not None:
            st.caption_text = " ".join("".join(st.caption).split())
            st.caption = None
        elif tag in BLOCK_TAGS:
            self._text("\n")

    def handle_data(self, data):
        if not self.done and not self._skip:
            self._text(data, raw=True)

    # -- helpers ----------------------------------------------------------------------------------------------------
    def _text(self, text: str, raw: bool = False) -> None:
        if not self.stack:
            return
        st = self.stack[-1]
        if st.caption is not None:
            st.caption.append(text if raw else " ")
        elif st.cell is not None:
            st.cell.parts.append(text if raw else "\x00")  # \x00 marks a real line break (<br>, </p>)

    @staticmethod
    def _close_cell(st: _TableState) -> None:
        if st.cell is not None:
            if st.row is None:
                st.row = []
            st.row.append(st.cell)
            st.cell = None

    @staticmethod
    def _close_row(st: _TableState) -> None:
        if st.row is not None:
            if st.row:
                st.rows.append(st.row)
                if st.section == "thead":
                    st.thead_rows += 1
            st.row = None

    def _offset_after_tag(self) -> int:
        line, col = self.getpos()
        offset = 0
        for _ in range(line - 1):
            offset = self.fed.index("\n", offset) + 1
        offset += col
        close = self.fed.find(">", offset)
        return len(self.fed) if close < 0 else close + 1


def _cell_text(cell: _Cell) -> str:
    lines = "".join(cell.parts).split("\x00")
    return "\n".join(" ".join(line.split()) for line in lines if line.strip())


def _grid(state: _TableState) -> Table | None:
    """HTML's table model, simplified: cells fill the first free position; spans claim the positions they cover;
    a rowspan past the last row stops at it (as browsers do)."""
    rows = state.rows
    if not rows:
        return None
    n = len(rows)
    grid: list[dict[int, str]] = [{} for _ in range(n)]
    spans: list[Span] = []
    for r, row in enumerate(rows):
        c = 0
        for cell in row:
            while c in grid[r]:
                c += 1
            rs = n - r if cell.rowspan == 0 else min(cell.rowspan, n - r)
            cs = cell.colspan
            text = _cell_text(cell)
            for dr in range(rs):
                for dc in range(cs):
                    grid[r + dr].setdefault(c + dc, text)
            if rs > 1 or cs > 1:
                spans.append(Span(r, c, rs, cs))
            c += cs
    width = max((max(g) + 1 for g in grid if g), default=0)
    grid_rows = [[g.get(c, "") for c in range(width)] for g in grid]
    header_rows = state.thead_rows
    if not header_rows:
        for row in rows:
            if row and all(cell.header for cell in row):
                header_rows += 1
            else:
                break
    return Table(
        rows=grid_rows,
        header_rows=min(header_rows, len(grid_rows)),
        title=state.caption_text,
        source_kind="html",
        spans=spans,
    )
