"""The table model: `Table`, a rectangular grid of strings with its merged cells (`Span`), and its plain forms."""

from __future__ import annotations

import csv
import html
import io
from dataclasses import dataclass, field
from typing import NamedTuple


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
