"""Tables across pages: a table that runs off the bottom of one page and goes on at the top of the next becomes one.

The model reads one page at a time, so a long table comes back as one piece per page. The rule that joins the
pieces is deterministic and looks only at the text (no second model call):

A table U on page N+1 continues the table T that ends page N when all of these hold:

1. T is the **last block** of page N and U the **first block** of page N+1 (only blank lines around them), and the
   two pages are consecutive pages of the result (a failed, skipped or missing page in between breaks the chain);
2. T and U have the **same number of columns**;
3. T is not cut off (`truncated`: the model stopped inside it, so rows are missing between the pieces);
4. and either
   a. U **repeats T's header**: U's first rows equal T's header rows (cell by cell, ignoring case and runs of
      spaces); the repeated rows are dropped; or
   b. U's first row **does not look like a header**: U has no header rows at all, or some cell of its first row is
      a number (12, -3.5, 1,204.50, $5, 12%, 2024-03-01) where T's header cell in that column is not. A pipe table
      always has a header row in Markdown, so this is how a continuation the model wrote without a header shows
      up; a first row of words only is taken for a new table's header, and the two tables stay apart.

Chains run over any number of pages (a page that holds nothing but the middle of the table is both its first and
its last block). The joined table keeps T's header, title and alignment, every row in order, and `row_pages`
says which page each row came from.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from paperlens.core.results.markdown import TABLE_TOKEN
from paperlens.core.results.tables.fold import parse_blocks
from paperlens.core.results.tables.model import Span, Table


@dataclass
class PlacedTable:
    """A table with where it sits: its page, its 1-based index on that page, and whether it opens or ends the page.

    After `merge_across_pages`, `table` may hold the rows of several pages; `row_pages` gives each row's page and
    `pages` the pages it spans.
    """

    page: int
    index: int
    table: Table
    first_block: bool = False
    last_block: bool = False
    row_pages: list[int] = field(default_factory=list)
    end_page: int = 0  # the page of the last piece joined in (the page itself when nothing was)
    end_last_block: bool = False  # that last piece ends its page
    # the page of every piece joined into this table, in order
    pieces: list[int] = field(default_factory=list)

    def __post_init__(self) -> None:
        if not self.pieces:
            self.pieces = [self.page]
        if not self.row_pages:
            self.row_pages = [self.page] * self.table.n_rows
        if not self.end_page:
            self.end_page = self.page
            self.end_last_block = self.last_block

    @property
    def pages(self) -> list[int]:
        """The pages the table's rows come from, in order (just its own page unless pieces were joined)."""
        return sorted(set(self.row_pages)) or [self.page]

    @property
    def merged(self) -> bool:
        return len(self.pages) > 1


def page_tables(page: int, markdown: str) -> list[PlacedTable]:
    """The tables of one page's Markdown, each knowing whether it is the page's first and/or last block."""
    tokens = parse_blocks(markdown)
    # the page's blocks: the open and close tokens of nested ones are at level > 0
    top = [t for t in tokens if t.level == 0]
    first = top[0] if top else None
    last = top[-1] if top else None
    out: list[PlacedTable] = []
    # every table, nested ones (in a list, a quote) included, as `extract_tables` counts them
    for tok in tokens:
        if tok.type == TABLE_TOKEN:
            out.append(
                PlacedTable(
                    page, len(out) + 1, tok.meta["table"], first_block=tok is first, last_block=tok is last
                )
            )
    return out


def merge_across_pages(tables: list[PlacedTable]) -> list[PlacedTable]:
    """`tables` (in page order) with every continued table joined to the one it continues (see the module's rule)."""
    out: list[PlacedTable] = []
    for t in tables:
        prev = out[-1] if out else None
        drop = continuation(prev, t) if prev is not None else None
        if prev is None or drop is None:
            out.append(t)
            continue
        out[-1] = _join(prev, t, drop)
    return out


def continuation(prev: PlacedTable, nxt: PlacedTable) -> int | None:
    """How many repeated header rows to drop when `nxt` continues `prev` (0 for none), or None when it does not."""
    if not (prev.end_last_block and nxt.first_block and nxt.page == prev.end_page + 1):
        return None
    a, b = prev.table, nxt.table
    if a.truncated or a.n_cols != b.n_cols or not b.rows:
        return None
    header = a.rows[: a.header_rows]
    if (
        header
        and len(b.rows) >= len(header)
        and all(_same_row(h, r) for h, r in zip(header, b.rows[: len(header)], strict=True))
    ):
        return len(header)
    if b.header_rows == 0:
        return 0
    first = b.rows[0]
    top = header[-1] if header else [""] * a.n_cols
    if any(looks_numeric(c) and not looks_numeric(h) for c, h in zip(first, top, strict=False)):
        return 0
    return None


_NUMBER = re.compile(r"[+\-\u2212]?\d[\d.,:/\- ]*")


def looks_numeric(cell: str) -> bool:
    """A number, amount, percentage or date: what a data cell holds and a header cell almost never does."""
    s = cell.strip().strip("()").strip()
    s = s.strip("$€£¥%").strip()
    return bool(s) and _NUMBER.fullmatch(s) is not None


def _norm(cell: str) -> str:
    return " ".join(cell.split()).casefold()


def _same_row(a: list[str], b: list[str]) -> bool:
    return len(a) == len(b) and all(_norm(x) == _norm(y) for x, y in zip(a, b, strict=True))


def _join(prev: PlacedTable, nxt: PlacedTable, drop: int) -> PlacedTable:
    a, b = prev.table, nxt.table
    offset = a.n_rows - drop
    spans = list(a.spans) + [
        Span(s.row + offset, s.col, s.rowspan, s.colspan) for s in b.spans if s.row >= drop
    ]
    table = Table(
        rows=[list(r) for r in a.rows] + [list(r) for r in b.rows[drop:]],
        header_rows=a.header_rows,
        title=a.title or b.title,
        source_kind=a.source_kind,
        truncated=b.truncated,
        spans=spans,
        align=list(a.align),
    )
    return PlacedTable(
        prev.page,
        prev.index,
        table,
        first_block=prev.first_block,
        last_block=prev.last_block,
        row_pages=prev.row_pages + nxt.row_pages[drop:],
        end_page=nxt.page,
        end_last_block=nxt.last_block,
        pieces=prev.pieces + [nxt.page],
    )
