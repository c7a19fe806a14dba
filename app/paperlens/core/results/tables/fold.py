"""The one walk over a page's Markdown (`parse_blocks`): markdown-it's block tokens with every table folded into a
single `TABLE_TOKEN` that carries its `Table`; `extract_tables` keeps just the tables."""

from __future__ import annotations

from markdown_it.token import Token

from paperlens.core.results import markdown as dialect
from paperlens.core.results.markdown import TABLE_TOKEN
from paperlens.core.results.tables.html_reader import HtmlTables, find_table_start
from paperlens.core.results.tables.model import Table
from paperlens.core.results.tables.pipe_reader import read_pipe_table


def parse_blocks(markdown: str) -> list[Token]:
    """markdown-it's block tokens for `markdown`, each table replaced by one `TABLE_TOKEN` carrying its `Table`."""
    tokens = dialect.tokens(markdown)
    return _Folder(markdown).fold(tokens)


def extract_tables(markdown: str) -> list[Table]:
    """Every table in the page's Markdown, in reading order (an HTML table nested in another comes after it)."""
    return [t.meta["table"] for t in parse_blocks(markdown) if t.type == TABLE_TOKEN]


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


class _Folder:
    """Walks the token stream once, replacing pipe-table token runs and HTML tables by table tokens."""

    def __init__(self, source: str) -> None:
        self.lines = source.splitlines()
        while self.lines and not self.lines[-1].strip():
            self.lines.pop()

    def fold(self, tokens: list[Token]) -> list[Token]:
        out: list[Token] = []
        pending: HtmlTables | None = None  # an HTML table still open at the end of the previous html_block
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
                table = read_pipe_table(tokens[i : j + 1], tok, self.lines)
                if table is not None:
                    out.append(_table_token(table, tok.map, tok.level))
                i = j + 1
                continue
            if tok.type == "html_block" and find_table_start(tok.content) >= 0:
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
    ) -> tuple[HtmlTables | None, Token | None]:
        """Splits an html_block into the HTML around its tables and the tables; returns a table still open."""
        pos = 0
        while True:
            start = find_table_start(content, pos)
            if start < 0:
                if content[pos:].strip():
                    out.append(_html_token(content[pos:], tok))
                return None, None
            if content[pos:start].strip():
                out.append(_html_token(content[pos:start], tok))
            parser = HtmlTables()
            rest = parser.feed(content[start:])
            if not parser.done:
                return parser, tok
            out.extend(_table_token(t, tok.map, tok.level) for t in parser.tables)
            content, pos = rest, 0
