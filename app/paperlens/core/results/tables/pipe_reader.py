"""The pipe-table reader: a Markdown pipe table, as markdown-it's tokens, to a `Table`."""

from __future__ import annotations

from markdown_it.token import Token

from paperlens.core.results.tables.model import Table
from paperlens.core.results.tables.text import inline_text


def read_pipe_table(tokens: list[Token], open_tok: Token, lines: list[str]) -> Table | None:
    """The table of one `table_open` ... `table_close` run of markdown-it tokens (None when it has no rows).

    `lines` are the source's lines without trailing blank ones: they tell a table cut off mid-row."""
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
    truncated = _truncated(open_tok, lines)
    if truncated:
        while len(rows) > header_rows and all(not c for c in rows[-1]):
            rows.pop()
    if not rows:
        return None
    return Table(rows=rows, header_rows=header_rows, source_kind="pipe", truncated=truncated, align=align)


def _truncated(tok: Token, lines: list[str]) -> bool:
    """A pipe table is cut off when it runs to the end of the text and its last line lacks the closing pipe
    that its header line has (a stopped run ends mid-row)."""
    if not tok.map or tok.map[1] < len(lines) or not lines:
        return False
    header = lines[tok.map[0]].rstrip()
    last = lines[tok.map[1] - 1].rstrip()
    return header.endswith("|") and not last.endswith("|")
