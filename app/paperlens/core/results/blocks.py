"""The model's Markdown as a flat list of blocks (headings, paragraphs, list items, code, math, tables).

Word and plain text are not trees of nested containers the way HTML is: a Word document is a sequence of paragraphs,
each with a style and an indent. So the Word and text writers do not walk markdown-it's nested tokens themselves;
they draw this flat list, where every paragraph already knows its list depth, bullet or number, and quote depth.
Tables come from `tables.parse_blocks` (the dialect of `results.markdown`), so they are the same tables the spreadsheet exports write.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from markdown_it.token import Token

from paperlens.core.results.markdown import TABLE_TOKEN
from paperlens.core.results.tables import Table, html_to_text, parse_blocks
from paperlens.core.results.tables.text import tag_name


@dataclass
class Run:
    """A stretch of text with one formatting."""

    text: str
    bold: bool = False
    italic: bool = False
    strike: bool = False
    underline: bool = False
    code: bool = False
    math: bool = False
    sup: bool = False
    sub: bool = False


@dataclass
class Block:
    """One paragraph-level thing. `kind` is heading, paragraph, code, math, rule or table."""

    kind: str
    runs: list[Run] = field(default_factory=list)
    level: int = 0  # heading level 1-6
    text: str = ""  # code and math blocks: their source
    table: Table | None = None
    list_kind: str = ""  # "bullet" or "ordered" when this paragraph starts a list item
    list_depth: int = 0  # how many lists this block sits in (0: none); sets the indent
    list_number: int = 0  # the item's number in an ordered list
    list_id: int = 0  # which list the item belongs to (Word restarts numbering per list)
    quote: int = 0  # blockquote depth
    tight: bool = False  # an item of a tight list: no blank line before it in plain text

    @property
    def plain(self) -> str:
        return "".join(r.text for r in self.runs)


@dataclass
class _List:
    kind: str
    number: int
    ident: int
    tight: bool


def markdown_blocks(markdown: str, *, keep_line_breaks: bool = False) -> list[Block]:
    """The page's Markdown as blocks, in reading order. `keep_line_breaks`: a line break inside a paragraph stays a
    line break (as if hard) instead of a space; the searchable PDF lays out the model's lines as it wrote them."""
    tokens = parse_blocks(markdown)
    if keep_line_breaks:
        for tok in tokens:
            for child in tok.children or []:
                if child.type == "softbreak":
                    child.type = "hardbreak"
    return _Walker().walk(tokens)


class _Walker:
    def __init__(self) -> None:
        self.blocks: list[Block] = []
        self.lists: list[_List] = []
        self.quote = 0
        self.heading = 0
        self.item_fresh = False  # the next paragraph is the first of a list item: it carries the bullet
        self._ids = 0

    def walk(self, tokens: list[Token]) -> list[Block]:
        for tok in tokens:
            name = "table" if tok.type == TABLE_TOKEN else tok.type
            handler = getattr(self, f"_on_{name}", None)
            if handler is not None:
                handler(tok)
        return self.blocks

    # -- containers -------------------------------------------------------------------------------------------------
    def _open_list(self, kind: str, tok: Token) -> None:
        self._ids += 1
        start = tok.attrs.get("start", 1) if kind == "ordered" else 1
        try:
            number = int(start) - 1
        except (TypeError, ValueError):
            number = 0
        self.lists.append(_List(kind, number, self._ids, tight=False))

    def _on_bullet_list_open(self, tok: Token) -> None:
        self._open_list("bullet", tok)

    def _on_ordered_list_open(self, tok: Token) -> None:
        self._open_list("ordered", tok)

    def _on_bullet_list_close(self, tok: Token) -> None:
        if self.lists:
            self.lists.pop()

    _on_ordered_list_close = _on_bullet_list_close

    def _on_list_item_open(self, tok: Token) -> None:
        if self.lists:
            self.lists[-1].number += 1
            if tok.info and tok.info.isdigit() and self.lists[-1].kind == "ordered":
                self.lists[-1].number = int(tok.info)
        self.item_fresh = True

    def _on_list_item_close(self, tok: Token) -> None:
        self.item_fresh = False

    def _on_blockquote_open(self, tok: Token) -> None:
        self.quote += 1

    def _on_blockquote_close(self, tok: Token) -> None:
        self.quote = max(0, self.quote - 1)

    def _on_heading_open(self, tok: Token) -> None:
        self.heading = int(tok.tag[1:]) if tok.tag[1:].isdigit() else 1

    def _on_heading_close(self, tok: Token) -> None:
        self.heading = 0

    def _on_paragraph_open(self, tok: Token) -> None:
        # markdown-it hides the paragraphs of tight list items; remember for plain text spacing
        if self.lists and tok.hidden:
            self.lists[-1].tight = True

    # -- leaves -----------------------------------------------------------------------------------------------------
    def _on_inline(self, tok: Token) -> None:
        runs = inline_runs(tok.children)
        if self.heading:
            self.blocks.append(Block("heading", runs, level=self.heading, quote=self.quote))
            return
        self._add(Block("paragraph", runs))

    def _on_fence(self, tok: Token) -> None:
        self._add(Block("code", text=tok.content.rstrip("\n")))

    _on_code_block = _on_fence

    def _on_math_block(self, tok: Token) -> None:
        self._add(Block("math", text=tok.content.strip()))

    _on_math_block_label = _on_math_block

    def _on_hr(self, tok: Token) -> None:
        self._add(Block("rule"))

    def _on_html_block(self, tok: Token) -> None:
        text = html_to_text(tok.content)
        for line in text.split("\n"):
            if line.strip():
                self._add(Block("paragraph", [Run(line)]))

    def _on_table(self, tok: Token) -> None:
        self._add(Block("table", table=tok.meta["table"]))

    def _add(self, block: Block) -> None:
        block.quote = self.quote
        block.list_depth = len(self.lists)
        if self.lists and self.item_fresh and block.kind == "paragraph":
            lst = self.lists[-1]
            block.list_kind = lst.kind
            block.list_number = lst.number
            block.list_id = lst.ident
            block.tight = lst.tight
        self.item_fresh = False
        self.blocks.append(block)


def inline_runs(children: list[Token] | None) -> list[Run]:
    """Formatted runs of an inline token's children. Emphasis, code, math, <sup>/<sub>/<br> are kept."""
    runs: list[Run] = []
    state = {"bold": 0, "italic": 0, "strike": 0, "underline": 0, "sup": 0, "sub": 0}

    def add(text: str, **extra: bool) -> None:
        if not text:
            return
        runs.append(
            Run(
                text,
                bold=state["bold"] > 0,
                italic=state["italic"] > 0,
                strike=state["strike"] > 0,
                underline=state["underline"] > 0,
                sup=state["sup"] > 0,
                sub=state["sub"] > 0,
                **extra,
            )
        )

    html_flags = {
        "b": "bold",
        "strong": "bold",
        "i": "italic",
        "em": "italic",
        "u": "underline",
        "s": "strike",
    }
    html_flags.update({"del": "strike", "sup": "sup", "sub": "sub"})
    for tok in children or ():
        t = tok.type
        if t in ("text", "text_special"):
            add(tok.content)
        elif t == "code_inline":
            add(tok.content, code=True)
        elif t == "math_inline":
            add(f"${tok.content}$", math=True)
        elif t == "math_inline_double":
            add(f"$${tok.content}$$", math=True)
        elif t == "softbreak":
            add(" ")
        elif t == "hardbreak":
            add("\n")
        elif t == "image":
            add("".join(r.text for r in inline_runs(tok.children)))
        elif t in ("strong_open", "strong_close"):
            state["bold"] += 1 if t.endswith("open") else -1
        elif t in ("em_open", "em_close"):
            state["italic"] += 1 if t.endswith("open") else -1
        elif t in ("s_open", "s_close"):
            state["strike"] += 1 if t.endswith("open") else -1
        elif t == "html_inline":
            name = tag_name(tok.content)
            if name == "br":
                add("\n")
            elif name in html_flags:
                closing = tok.content.lstrip().startswith("</")
                key = html_flags[name]
                state[key] = max(0, state[key] + (-1 if closing else 1))
    return runs
