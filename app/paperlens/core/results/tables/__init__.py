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

The package's modules: `model` (`Table`, `Span`), `text` (plain text of inline tokens and HTML fragments),
`pipe_reader` and `html_reader` (a pipe table or HTML tables to `Table`s) and `fold` (the walk, `parse_blocks`).
"""

from paperlens.core.results.tables.fold import extract_tables, parse_blocks
from paperlens.core.results.tables.model import Span, Table
from paperlens.core.results.tables.text import html_to_text, inline_text

__all__ = ["Span", "Table", "extract_tables", "html_to_text", "inline_text", "parse_blocks"]
