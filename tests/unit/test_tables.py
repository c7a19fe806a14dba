"""Tables as data: golden grids for hand-written model outputs, and the odd cases a model produces."""

from __future__ import annotations

import csv
import io
import json
from html.parser import HTMLParser
from pathlib import Path

import pytest

from paperlens.core.results.markdown import TABLE_TOKEN
from paperlens.core.results.tables import Span, Table, extract_tables, html_to_text, parse_blocks

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "model_outputs"
GOLDEN = sorted(FIXTURES.glob("*.md"))


@pytest.mark.parametrize("source", GOLDEN, ids=lambda p: p.stem)
def test_golden_grids(source: Path) -> None:
    # GIVEN a model output written by hand and the grids a person expects from it
    expected = json.loads(source.with_suffix(".tables.json").read_text(encoding="utf-8"))
    # WHEN its tables are extracted
    got = [t.to_dict() for t in extract_tables(source.read_text(encoding="utf-8"))]
    # THEN they are exactly those grids
    assert got == expected


def test_fixture_set_covers_the_issue() -> None:
    names = {p.stem for p in GOLDEN}
    assert {"pipe_tables", "html_spans", "cut_pipe_table", "cut_html_table", "formulas_lists"} <= names


@pytest.mark.parametrize("name", ["cut_pipe_table", "cut_html_table", "html_spans", "pipe_tables"])
def test_a_run_stopped_anywhere_never_crashes(name: str) -> None:
    # GIVEN a model output cut at (nearly) every position, as a stopped run would leave it
    text = (FIXTURES / f"{name}.md").read_text(encoding="utf-8")
    for end in range(0, len(text), 3):
        # WHEN tables are extracted THEN no error, and every grid is rectangular
        for table in extract_tables(text[:end]):
            assert len({len(r) for r in table.rows}) == 1
            assert 0 <= table.header_rows <= table.n_rows


def test_escaped_pipes_code_and_emphasis_become_plain_cell_text() -> None:
    md = "| a | b |\n|---|---|\n| x \\| y | **bold** `c\\|d` *it* |\n"
    (table,) = extract_tables(md)
    assert table.rows == [["a", "b"], ["x | y", "bold c|d it"]]


def test_pipe_table_keeps_alignment_and_pads_short_rows() -> None:
    md = "| L | R | C |\n|:--|--:|:-:|\n| 1 |\n| 1 | 2 | 3 | 4 |\n\nafter\n"
    (table,) = extract_tables(md)
    assert table.align == ["left", "right", "center"]
    assert table.rows == [["L", "R", "C"], ["1", "", ""], ["1", "2", "3"]]
    assert not table.truncated  # it ended where the text goes on


def test_an_empty_header_line_is_no_header() -> None:
    md = "| | |\n|---|---|\n| a | b |\n"
    (table,) = extract_tables(md)
    assert table.header_rows == 0
    assert table.rows == [["a", "b"]]


def test_cut_in_the_delimiter_row() -> None:
    # a delimiter row with fewer cells than the header is no table (markdown-it's rule): the text stays text
    assert extract_tables("| a | b |\n|--") == []
    # one that is complete enough gives the header alone, marked as cut off
    (table,) = extract_tables("| a | b |\n|---|-")
    assert table.rows == [["a", "b"]] and table.truncated


def test_html_header_from_th_cells_without_thead() -> None:
    md = "<table><tr><th>A</th><th>B</th></tr><tr><td>1</td><td>2</td></tr></table>"
    (table,) = extract_tables(md)
    assert table.header_rows == 1
    assert table.source_kind == "html"


def test_rowspan_past_the_last_row_stops_there_and_zero_means_to_the_end() -> None:
    md = (
        "<table><tr><td rowspan=9>a</td><td rowspan=0>z</td><td>1</td></tr>"
        "<tr><td>2</td></tr><tr><td>3</td></tr></table>"
    )
    (table,) = extract_tables(md)
    assert table.rows == [["a", "z", "1"], ["a", "z", "2"], ["a", "z", "3"]]
    assert table.merged_regions() == [Span(0, 0, 3, 1), Span(0, 1, 3, 1)]


def test_absurd_colspan_is_clamped_and_bad_values_count_as_one() -> None:
    md = '<table><tr><td colspan="100000">w</td></tr><tr><td colspan="x">a</td><td colspan="-2">b</td></tr></table>'
    (table,) = extract_tables(md)
    assert table.n_cols == 1000
    assert table.rows[1][:3] == ["a", "b", ""]


def test_nested_html_table_comes_after_its_parent() -> None:
    md = "<table><tr><td>outer<table><tr><td>inner</td></tr></table></td><td>x</td></tr></table>"
    outer, inner = extract_tables(md)
    assert outer.rows == [["outer", "x"]]
    assert inner.rows == [["inner"]]


def test_unclosed_html_table_does_not_swallow_the_text_after_it() -> None:
    md = "<table><tr><td>a</td></tr>\n\nThe text goes on here.\n"
    blocks = parse_blocks(md)
    assert [b.type for b in blocks][:2] == [TABLE_TOKEN, "paragraph_open"]
    assert blocks[0].meta["table"].truncated
    assert any(b.type == "inline" and b.content == "The text goes on here." for b in blocks)


def test_html_around_a_table_is_kept_as_html() -> None:
    md = "<div><p>Before</p><table><tr><td>1</td></tr></table><p>After</p></div>\n"
    kinds = [(b.type, b.content) for b in parse_blocks(md)]
    assert kinds[0] == ("html_block", "<div><p>Before</p>")
    assert kinds[1][0] == TABLE_TOKEN
    assert kinds[2] == ("html_block", "<p>After</p></div>\n")


def test_two_tables_in_one_html_block() -> None:
    md = "<table><tr><td>1</td></tr></table><p>mid</p><table><tr><td>2</td></tr></table>\n"
    types = [b.type for b in parse_blocks(md)]
    assert types == [TABLE_TOKEN, "html_block", TABLE_TOKEN]


def test_tables_inside_code_fences_are_code() -> None:
    md = "```html\n<table><tr><td>1</td></tr></table>\n```\n\n```\n| a | b |\n|---|---|\n```\n"
    assert extract_tables(md) == []


def test_table_in_a_list_item_and_a_blockquote() -> None:
    md = "- item\n\n  | a | b |\n  |---|---|\n  | 1 | 2 |\n\n> <table><tr><td>q</td></tr></table>\n"
    tables = extract_tables(md)
    assert [t.rows for t in tables] == [[["a", "b"], ["1", "2"]], [["q"]]]


def test_cell_whitespace_is_collapsed_but_br_kept() -> None:
    md = "<table><tr><td>\n  two\n  words <br/> next   line\n</td></tr></table>"
    (table,) = extract_tables(md)
    assert table.rows == [["two words\nnext line"]]


def test_empty_and_garbage_input() -> None:
    for text in ["", "   ", "<table>", "<table></table>", "<tr><td>no table</td></tr>", "|", "<table><tr><"]:
        for t in extract_tables(text):
            assert t.rows


def _table() -> Table:
    return Table(
        rows=[["Name", "Note"], ["a\tb", "line1\nline2"], ['say "hi"', "x,y"]],
        header_rows=1,
    )


def test_tsv_is_one_line_per_row_with_tabs_between() -> None:
    tsv = _table().to_tsv()
    assert tsv.split("\n") == ["Name\tNote", "a b\tline1 line2", 'say "hi"\tx,y']


def test_csv_text_round_trips_through_the_csv_module() -> None:
    rows = list(csv.reader(io.StringIO(_table().to_csv_text(), newline="")))
    assert rows == _table().rows


class _Grid(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.cells: list[tuple[str, dict]] = []

    def handle_starttag(self, tag, attrs):
        if tag in ("td", "th"):
            self.cells.append((tag, dict(attrs)))


def test_to_html_merges_spans_and_escapes() -> None:
    table = Table(
        rows=[["h", "h"], ["<b>", "x"]],
        header_rows=1,
        spans=[Span(0, 0, 1, 2)],
        title="T & C",
    )
    markup = table.to_html()
    parser = _Grid()
    parser.feed(markup)
    assert parser.cells == [("th", {"colspan": "2"}), ("td", {}), ("td", {})]
    assert "&lt;b&gt;" in markup and "<caption>T &amp; C</caption>" in markup


def test_html_roundtrip_through_our_own_reader() -> None:
    md = (FIXTURES / "html_spans.md").read_text(encoding="utf-8")
    for table in extract_tables(md):
        (again,) = extract_tables(table.to_html())
        assert again.rows == table.rows
        assert again.header_rows == table.header_rows
        assert again.merged_regions() == table.merged_regions()


def test_dict_roundtrip() -> None:
    (table,) = extract_tables((FIXTURES / "cut_html_table.md").read_text(encoding="utf-8"))
    assert Table.from_dict(json.loads(json.dumps(table.to_dict()))).to_dict() == table.to_dict()


def test_html_to_text_drops_scripts_and_tags() -> None:
    assert (
        html_to_text("<p>One <b>two</b></p><script>x()</script><p>three<br>four</p>")
        == "One two\nthree\nfour"
    )


def test_markup_that_makes_html_parser_give_up_does_not_break_the_page() -> None:
    # found by hypothesis: Python's html.parser raises AssertionError on "<![a" inside a table
    from paperlens.core.results.markdown import markdown_to_html
    from paperlens.core.results.tables import extract_tables

    text = "<table><![a](/dev/zero)"
    assert isinstance(extract_tables(text), list)
    assert isinstance(markdown_to_html(text), str)
