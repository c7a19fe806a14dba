"""Tables as data: finds the tables in the model's Markdown and turns each into a plain grid of strings.

The model writes Markdown pipe tables, or HTML tables when cells span rows or columns (its prompt asks for that).
Both are read with real parsers (markdown-it-py for the Markdown, the standard library's `html.parser` for the HTML),
never with regular expressions: the model's output is free text, and only a parser gets escaped pipes, code spans,
entities and nested tags right.

`parse_blocks` is the one walk over a page's Markdown that everything else builds on. It returns markdown-it's block
tokens with every table folded into a single `TABLE_TOKEN` that carries the `Table`, so the exporters (HTML, Word,
text) draw exactly the tables that `extract_tables` reports and the grid view shows.

A run stopped by the user or by the token limit can end in the middle of a table. Such a table is still returned,
with the rows read so far and `truncated=True`; nothing here raises on malformed input.
"""

from __future__ import annotations

import contextlib
import csv
import html
import io
from collections.abc import Iterable
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import NamedTuple

from markdown_it.token import Token

from paperlens.core.results import markdown as dialect
from paperlens.core.results.markdown import TABLE_TOKEN

# HTML's own limits (https://html.spec.whatwg.org/#attr-tdth-colspan): a model that writes colspan="100000" must
# not make us build a grid of a million cells.
MAX_COLSPAN = 1000
MAX_ROWSPAN = 65534


class Span(NamedTuple):
    """A cell that covers more than one grid position: its top-left position and its size."""

    row: int
    col: int
    rowspan: int
    colspan: int


@dataclass
class Table:
    """One table as a rectangular grid of strings.

    `rows` has the spans expanded: a cell that spans two columns appears in both, so every row has the same length
    and a spreadsheet, CSV reader or script gets one value per position. `spans` keeps where the merged cells were,
    for writers that can merge again (XLSX, Word, HTML) and for the grid view.
    """

    rows: list[list[str]]
    header_rows: int = 0
    title: str = ""  # an HTML <caption>; "" when the table has none
    source_kind: str = "pipe"  # "pipe" (Markdown) or "html"
    truncated: bool = False  # the text ended (or the table was left unclosed) before the table did
    spans: list[Span] = field(default_factory=list)
    align: list[str] = field(
        default_factory=list
    )  # per column for pipe tables: "left", "right", "center" or ""

    @property
    def n_rows(self) -> int:
        return len(self.rows)

    @property
    def n_cols(self) -> int:
        return max((len(r) for r in self.rows), default=0)

    @property
    def caption(self) -> str:
        """Alias of `title` (the name HTML uses)."""
        return self.title

    def to_tsv(self) -> str:
        """Tab-separated text, the form spreadsheets accept from the clipboard.

        Tabs and line breaks inside a cell become spaces: pasted text has no quoting a spreadsheet reliably honours.
        """
        return "\n".join("\t".join(_one_line(c) for c in row) for row in self.rows)

    def to_csv_text(self) -> str:
        """RFC 4180 CSV (quoted where needed, CRLF line ends); cells keep their line breaks inside quotes."""
        buf = io.StringIO()
        writer = csv.writer(buf)
        writer.writerows(self.rows)
        return buf.getvalue()

    def to_html(self) -> str:
        """A clean HTML table (spans merged again, header rows in <thead>), escaped: no model HTML passes through."""
        origins, covered = self._layout()
        out = ["<table>"]
        if self.title:
            out.append(f"<caption>{_html_text(self.title)}</caption>")
        for r, row in enumerate(self.rows):
            if r == 0 and self.header_rows:
                out.append("<thead>")
            if r == self.header_rows:
                out.append("<tbody>")
            tag = "th" if r < self.header_rows else "td"
            cells = []
            for c, text in enumerate(row):
                if (r, c) in covered:
                    continue
                attrs = ""
                rs, cs = origins.get((r, c), (1, 1))
                if rs > 1:
                    attrs += f' rowspan="{rs}"'
                if cs > 1:
                    attrs += f' colspan="{cs}"'
                if self.align and c < len(self.align) and self.align[c]:
                    attrs += f' style="text-align:{self.align[c]}"'
                cells.append(f"<{tag}{attrs}>{_html_text(text)}</{tag}>")
            out.append("<tr>" + "".join(cells) + "</tr>")
            if r == self.header_rows - 1:
                out.append("</thead>")
        if self.rows and self.header_rows < len(self.rows):
            out.append("</tbody>")
        out.append("</table>")
        return "\n".join(out)

    def to_dict(self) -> dict:
        return {
            "rows": [list(r) for r in self.rows],
            "header_rows": self.header_rows,
            "title": self.title,
            "source_kind": self.source_kind,
            "truncated": self.truncated,
            "spans": [list(s) for s in self.spans],
        }

    @classmethod
    def from_dict(cls, data: dict) -> Table:
        return cls(
            rows=[list(r) for r in data["rows"]],
            header_rows=int(data.get("header_rows", 0)),
            title=data.get("title", ""),
            source_kind=data.get("source_kind", "pipe"),
            truncated=bool(data.get("truncated", False)),
            spans=[Span(*s) for s in data.get("spans", [])],
        )

    def merged_regions(self) -> list[Span]:
        """The spans clipped to the grid (writers merge exactly these)."""
        out = []
        for s in self.spans:
            rs = min(s.rowspan, self.n_rows - s.row)
            cs = min(s.colspan, self.n_cols - s.col)
            if rs > 1 or cs > 1:
                out.append(Span(s.row, s.col, rs, cs))
        return out

    def covered_cells(self) -> set[tuple[int, int]]:
        """(row, col) of every cell a merged region hides (all but each region's top-left cell)."""
        return {
            (s.row + dr, s.col + dc)
            for s in self.merged_regions()
            for dr in range(s.rowspan)
            for dc in range(s.colspan)
            if dr or dc
        }

    def _layout(self) -> tuple[dict[tuple[int, int], tuple[int, int]], set[tuple[int, int]]]:
        origins: dict[tuple[int, int], tuple[int, int]] = {}
        covered: set[tuple[int, int]] = set()
        for s in self.merged_regions():
            if (s.row, s.col) in covered:
                continue
            origins[(s.row, s.col)] = (s.rowspan, s.colspan)
            for dr in range(s.rowspan):
                for dc in range(s.colspan):
                    if dr or dc:
                        covered.add((s.row + dr, s.col + dc))
        return origins, covered


def _one_line(text: str) -> str:
    return " ".join(text.replace("\t", " ").split("\n")).replace("\r", " ")


def _html_text(text: str) -> str:
    return html.escape(text).replace("\n", "<br>")


# --- entry points ----------------------------------------------------------------------------------------------------
def parse_blocks(markdown: str) -> list[Token]:
    """markdown-it's block tokens for `markdown`, each table replaced by one `TABLE_TOKEN` carrying its `Table`."""
    tokens = dialect.tokens(markdown)
    return _Folder(markdown).fold(tokens)


def extract_tables(markdown: str) -> list[Table]:
    """Every table in the page's Markdown, in reading order (an HTML table nested in another comes after it)."""
    return [t.meta["table"] for t in parse_blocks(markdown) if t.type == TABLE_TOKEN]


# --- inline text -----------------------------------------------------------------------------------------------------
def inline_text(children: Iterable[Token] | None) -> str:
    """The plain text of an inline token's children: emphasis marks dropped, code and math kept (math with its $)."""
    parts: list[str] = []
    for tok in children or ():
        t = tok.type
        if t in ("text", "text_special", "code_inline"):
            parts.append(tok.content)
        elif t == "math_inline":
            parts.append(f"${tok.content}$")
        elif t == "math_inline_double":
            parts.append(f"$${tok.content}$$")
        elif t == "softbreak":
            parts.append(" ")
        elif t == "hardbreak":
            parts.append("\n")
        elif t == "image":
            parts.append(inline_text(tok.children))
        elif t == "html_inline" and _tag_name(tok.content) == "br":
            parts.append("\n")
    return "".join(parts)


def _tag_name(fragment: str) -> str:
    """The tag name of an HTML fragment like "<br/>" or "</sup>" ("" when it is not a tag)."""
    s = fragment.strip()
    if not s.startswith("<"):
        return ""
    s = s[1:].lstrip("/")
    name = []
    for ch in s:
        if ch.isalnum():
            name.append(ch)
        else:
            break
    return "".join(name).lower()


def html_to_text(fragment: str) -> str:
    """The text of an HTML fragment that is not a table: tags dropped, <br> and block ends as line breaks."""
    parser = _TextParser()
    try:
        parser.feed(fragment)
        parser.close()
    except Exception:  # html.parser is lenient, but a fragment must never stop an export
        return fragment
    lines = ["".join(line).strip() for line in parser.lines]
    return "\n".join(" ".join(line.split()) for line in lines if line.strip())


_BLOCK_TAGS = {
    "p",
    "div",
    "li",
    "ul",
    "ol",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "tr",
    "blockquote",
    "pre",
    "section",
}
_SKIP_TAGS = {"script", "style", "head", "title", "template"}


class _TextParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.lines: list[list[str]] = [[]]
        self.skip = 0

    def handle_starttag(self, tag, attrs):
        if tag in _SKIP_TAGS:
            self.skip += 1
        elif tag == "br" or tag in _BLOCK_TAGS:
            self.lines.append([])
        elif tag in ("td", "th"):
            self.lines[-1].append(" ")

    def handle_endtag(self, tag):
        if tag in _SKIP_TAGS:
            self.skip = max(0, self.skip - 1)
        elif tag in _BLOCK_TAGS:
            self.lines.append([])

    def handle_data(self, data):
        if not self.skip:
            self.lines[-1].append(data)


# --- folding tables into single tokens -------------------------------------------------------------------------------
def _table_token(table: Table, map_: list[int] | None, level: int) -> Token:
    tok = Token(TABLE_TOKEN, "table", 0)
    tok.meta = {"table": table}
    tok.map = map_
    tok.level = level
    tok.block = True
    return tok


def _html_token(content: str, like: Token) -> Token:
    tok = Token("html_block", "", 0)
    tok.content = content
    tok.map = like.map
    tok.level = like.level
    tok.block = True
    return tok


def _find_table_start(text: str, start: int = 0) -> int:
    """Index of the next `<table` tag (not `<tablefoo`) in `text`, or -1."""
    lower = text.lower()
    i = lower.find("<table", start)
    while i >= 0:
        nxt = lower[i + 6 : i + 7]
        if nxt in ("", ">", "/") or nxt.isspace():
            return i
        i = lower.find("<table", i + 1)
    return -1


class _Folder:
    """Walks the token stream once, replacing pipe-table token runs and HTML tables by table tokens."""

    def __init__(self, source: str) -> None:
        self.lines = source.splitlines()
        while self.lines and not self.lines[-1].strip():
            self.lines.pop()

    def fold(self, tokens: list[Token]) -> list[Token]:
        out: list[Token] = []
        pending: _HtmlTables | None = None  # an HTML table still open at the end of the previous html_block
        pending_tok: Token | None = None
        i = 0
        while i < len(tokens):
            tok = tokens[i]
            if pending is not None:
                assert pending_tok is not None  # set together with `pending`
                if tok.type == "html_block":
                    rest = pending.feed(tok.content)
                    if pending.done:
                        out.extend(
                            _table_token(t, pending_tok.map, pending_tok.level) for t in pending.tables
                        )
                        pending = pending_tok = None
                        pending, pending_tok = self._html_block(rest, tok, out)
                    i += 1
                    continue
                # Anything but HTML ends an unclosed table: the text after it must not vanish into the table.
                out.extend(_table_token(t, pending_tok.map, pending_tok.level) for t in pending.finish())
                pending = pending_tok = None
            if tok.type == "table_open":
                j = i
                while j < len(tokens) and tokens[j].type != "table_close":
                    j += 1
                table = self._pipe_table(tokens[i : j + 1], tok)
                if table is not None:
                    out.append(_table_token(table, tok.map, tok.level))
                i = j + 1
                continue
            if tok.type == "html_block" and _find_table_start(tok.content) >= 0:
                pending, pending_tok = self._html_block(tok.content, tok, out)
                i += 1
                continue
            out.append(tok)
            i += 1
        if pending is not None and pending_tok is not None:
            out.extend(_table_token(t, pending_tok.map, pending_tok.level) for t in pending.finish())
        return out

    def _html_block(
        self, content: str, tok: Token, out: list[Token]
    ) -> tuple[_HtmlTables | None, Token | None]:
        """Splits an html_block into the HTML around its tables and the tables; returns a table still open."""
        pos = 0
        while True:
            start = _find_table_start(content, pos)
            if start < 0:
                if content[pos:].strip():
                    out.append(_html_token(content[pos:], tok))
                return None, None
            if content[pos:start].strip():
                out.append(_html_token(content[pos:start], tok))
            parser = _HtmlTables()
            rest = parser.feed(content[start:])
            if not parser.done:
                return parser, tok
            out.extend(_table_token(t, tok.map, tok.level) for t in parser.tables)
            content, pos = rest, 0

    def _pipe_table(self, tokens: list[Token], open_tok: Token) -> Table | None:
        rows: list[list[str]] = []
        align: list[str] = []
        header_rows = 0
        in_head = False
        row: list[str] | None = None
        for tok in tokens:
            if tok.type == "thead_open":
                in_head = True
            elif tok.type == "thead_close":
                in_head = False
            elif tok.type == "tr_open":
                row = []
            elif tok.type == "tr_close" and row is not None:
                rows.append(row)
                if in_head:
                    header_rows += 1
                row = None
            elif tok.type in ("th_open", "td_open"):
                if in_head:
                    style = str(tok.attrs.get("style", ""))
                    align.append(style.split(":", 1)[1].strip() if ":" in style else "")
            elif tok.type == "inline" and row is not None:
                row.append(inline_text(tok.children).strip())
        if header_rows and all(not c for c in rows[0]):
            # Models sometimes write an empty header line just to be allowed to write a table: it is no header.
            rows = rows[1:]
            header_rows = 0
        truncated = self._pipe_truncated(open_tok)
        if truncated:
            while len(rows) > header_rows and all(not c for c in rows[-1]):
                rows.pop()
        if not rows:
            return None
        return Table(rows=rows, header_rows=header_rows, source_kind="pipe", truncated=truncated, align=align)

    def _pipe_truncated(self, tok: Token) -> bool:
        """A pipe table is cut off when it runs to the end of the text and its last line lacks the closing pipe
        that its header line has (a stopped run ends mid-row)."""
        if not tok.map or tok.map[1] < len(self.lines) or not self.lines:
            return False
        header = self.lines[tok.map[0]].rstrip()
        last = self.lines[tok.map[1] - 1].rstrip()
        return header.endswith("|") and not last.endswith("|")


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


class _HtmlTables(HTMLParser):
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
        if tag in _SKIP_TAGS:
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
        elif tag == "br" or tag in _BLOCK_TAGS:
            self._text("\n")

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)

    def handle_endtag(self, tag):
        if self.done or not self.stack:
            return
        if tag in _SKIP_TAGS:
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
        elif tag in _BLOCK_TAGS:
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
