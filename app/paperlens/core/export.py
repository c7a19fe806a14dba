"""Results out: a parsed document written as Markdown, HTML, plain text, JSON, CSV, XLSX or Word.

Every export is rendered in memory first and then written atomically (a temporary file in the target folder, then
`os.replace`), so a full disk, a missing folder or a crash never leaves a half-written file where the user looks,
and an existing file is either replaced whole or left alone. Failures become an `ExportError` whose sentence says
what went wrong and what to do.

Tables come from `tables.extract_tables`, the same code the table view uses, so what the user sees in the window is
what a spreadsheet gets.
"""

from __future__ import annotations

import contextlib
import errno
import html
import io
import json
import os
import secrets
import sys
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from paperlens.core.blocks import Block, Run, markdown_blocks
from paperlens.core.errors import ExportError
from paperlens.core.runs import DocumentResult, Finish, PageResult
from paperlens.core.tables import TABLE_TOKEN, Table, extract_tables, markdown_parser, parse_blocks

FORMATS: tuple[str, ...] = ("md", "json", "html", "txt", "docx", "xlsx", "csv")
TEXT_FORMATS: tuple[str, ...] = ("md", "json", "html", "txt")  # these can also go to stdout (`render`)
EXTENSIONS = {"md": ".md", "json": ".json", "html": ".html", "txt": ".txt", "docx": ".docx", "xlsx": ".xlsx"}
EXTENSIONS["csv"] = ".csv"
_ALIASES = {"markdown": "md", "htm": "html", "text": "txt", "word": "docx", "excel": "xlsx"}

JSON_FORMAT_VERSION = 1


def normalize_format(fmt: str) -> str:
    """The canonical format name for a name or file extension ("Markdown", ".htm" -> "md", "html")."""
    name = fmt.strip().lower().lstrip(".")
    name = _ALIASES.get(name, name)
    if name not in FORMATS:
        raise ExportError(
            f"PaperLens cannot export to {fmt!r}.", hint=f"Choose one of: {', '.join(FORMATS)}."
        )
    return name


def guess_format(path: Path | str) -> str | None:
    """The format a file name asks for by its extension, or None."""
    suffix = Path(path).suffix
    if not suffix:
        return None
    try:
        return normalize_format(suffix)
    except ExportError:
        return None


# --- which tables, where ---------------------------------------------------------------------------------------------
@dataclass
class PageTable:
    """A table with where it came from: the page and its 1-based index on that page."""

    page: int
    index: int
    table: Table

    @property
    def name(self) -> str:
        return f"Page {self.page} Table {self.index}"


def document_tables(doc: DocumentResult) -> list[PageTable]:
    """Every table of every page that produced text (failed pages have none), in page order."""
    out = []
    for page in doc.pages:
        if page.error or not page.markdown:
            continue
        for k, table in enumerate(extract_tables(page.markdown), 1):
            out.append(PageTable(page.page, k, table))
    return out


def _stop_reason(page: PageResult) -> str | None:
    """Why a page's text may be incomplete, or None when the model finished it."""
    if page.error:
        return None
    return {
        Finish.CANCELLED: "it was cancelled",
        Finish.LENGTH: "the model reached its token limit",
        Finish.REPETITION: "the model started repeating itself",
    }.get(page.finish)


def _doc_title(doc: DocumentResult) -> str:
    return doc.title or (Path(doc.source).stem if doc.source else "") or "Document"


# --- Markdown --------------------------------------------------------------------------------------------------------
def _comment(text: str) -> str:
    """An HTML comment that no text can end early."""
    return "<!-- " + text.replace("--", "- -").replace(">", "›") + " -->"


_END_MARK = "<!-- paperlens-end -->"


def close_open_blocks(markdown: str) -> str:
    """Closes a code fence, math block or raw HTML block a stopped run left open.

    Pages are joined into one file; an unclosed ``` on page 2 would otherwise turn every later page into code. The
    check is the parser's own: append a marker and see whether it still parses as a top-level block.
    """
    text = markdown.rstrip()
    for _ in range(3):
        probe = f"{text}\n\n{_END_MARK}\n"
        tokens = markdown_parser().parse(probe)
        if any(t.type == "html_block" and t.content.strip() == _END_MARK and t.level == 0 for t in tokens):
            return text
        closing = _closing_for(tokens, text)
        if not closing:
            return text
        text = f"{text}\n{closing}"
    return text


def _closing_for(tokens, text: str) -> str:
    lines = text.split("\n")
    for tok in reversed(tokens):
        if tok.type == "fence" and tok.map:
            opener = lines[tok.map[0]] if tok.map[0] < len(lines) else ""
            prefix = opener[: max(0, opener.find(tok.markup))]
            return f"{prefix}{tok.markup}"
        if tok.type == "html_block":
            head = tok.content.lstrip().lower()
            for start, end in (("<!--", "-->"), ("<?", "?>"), ("<![cdata[", "]]>"), ("<!", ">")):
                if head.startswith(start):
                    return end
            for tag in ("pre", "script", "style", "textarea"):
                if head.startswith(f"<{tag}"):
                    return f"</{tag}>"
            return ""
    return ""


def render_markdown(doc: DocumentResult) -> str:
    """The whole document as one Markdown text, each page opened by a `<!-- Page N -->` marker.

    The markers are HTML comments: invisible in any Markdown viewer, easy to find for a script. A page that failed
    or stopped early says so in a comment of its own, so the file never silently claims to be complete.
    """
    parts: list[str] = []
    for page in doc.pages:
        parts.append(_comment(f"Page {page.page}"))
        if page.error:
            parts.append(_comment(f"Page {page.page} could not be converted: {page.error}"))
            continue
        body = close_open_blocks(page.markdown.strip())
        if body:
            parts.append(body)
        reason = _stop_reason(page)
        if reason:
            parts.append(
                _comment(f"Page {page.page} stopped early because {reason}; its text may be incomplete.")
            )
    return "\n\n".join(parts) + "\n" if parts else ""


# --- JSON ------------------------------------------------------------------------------------------------------------
def document_stats(doc: DocumentResult) -> dict:
    """Totals over the document's pages (each page keeps its own run stats)."""
    pages = doc.pages
    return {
        "pages": len(pages),
        "pages_from_cache": sum(1 for p in pages if p.cached),
        "pages_failed": sum(1 for p in pages if p.error),
        "pages_incomplete": sum(1 for p in pages if _stop_reason(p)),
        "image_tokens": sum(p.stats.image_tokens for p in pages),
        "prompt_tokens": sum(p.stats.prompt_tokens for p in pages),
        "generated_tokens": sum(p.stats.generated_tokens for p in pages),
        "wall_s": round(sum(p.stats.wall_s for p in pages if not p.cached), 3),
    }


def to_json_data(doc: DocumentResult) -> dict:
    """The JSON export as a dict: source, title, totals, pages (Markdown + stats each), the joined Markdown, tables."""
    return {
        "format": "paperlens-document",
        "version": JSON_FORMAT_VERSION,
        "source": doc.source,
        "title": doc.title,
        "stats": document_stats(doc),
        "pages": [p.to_dict() for p in doc.pages],
        "markdown": render_markdown(doc),
        "tables": [{"page": t.page, "index": t.index, **t.table.to_dict()} for t in document_tables(doc)],
    }


def to_json(doc: DocumentResult) -> str:
    return json.dumps(to_json_data(doc), ensure_ascii=False, indent=2) + "\n"


# --- HTML ------------------------------------------------------------------------------------------------------------
_INLINE_TAGS = {
    "b",
    "strong",
    "i",
    "em",
    "u",
    "s",
    "del",
    "sup",
    "sub",
    "br",
    "code",
    "mark",
    "small",
    "span",
}
_BLOCK_TAGS = {"p", "div", "ul", "ol", "li", "blockquote", "pre", "hr", "h1", "h2", "h3", "h4", "h5", "h6"}
_DROP_CONTENT = {
    "script",
    "style",
    "iframe",
    "object",
    "embed",
    "template",
    "noscript",
    "svg",
    "math",
    "head",
}

_CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; max-width: 52rem; margin: 2rem auto;
       padding: 0 1rem; line-height: 1.5; color: #1b1b1b; }
table { border-collapse: collapse; margin: 1rem 0; }
th, td { border: 1px solid #999; padding: .25rem .5rem; vertical-align: top; }
th { background: #f0f0f0; }
caption { font-weight: bold; padding: .25rem; }
pre { background: #f6f6f6; padding: .5rem; overflow-x: auto; }
.page-label { color: #777; font-size: .85rem; border-top: 1px solid #ccc; padding-top: .5rem; margin-top: 2rem; }
.note { color: #9a3d00; font-style: italic; }
.math { font-family: "Cambria Math", "STIX Two Math", serif; }
@media print { section.page { break-after: page; } .page-label { display: none; } }
"""


class _Sanitizer:
    """Lets through the model's harmless formatting tags, without attributes; drops everything else.

    The model's output comes from a scanned page, which anyone can write: an exported HTML file must not run a
    script or load anything from the network because a document said `<script>` or `<img src=...>`.
    """

    def __init__(self, allowed: set[str]) -> None:
        from html.parser import HTMLParser

        outer = self

        class _P(HTMLParser):
            def handle_starttag(self, tag, attrs):
                outer._start(tag)

            def handle_startendtag(self, tag, attrs):
                outer._start(tag)

            def handle_endtag(self, tag):
                outer._end(tag)

            def handle_data(self, data):
                if not outer.drop:
                    outer.out.append(html.escape(data))

        self.allowed = allowed
        self.out: list[str] = []
        self.drop = 0
        self.parser = _P(convert_charrefs=True)

    def _start(self, tag: str) -> None:
        if tag in _DROP_CONTENT:
            self.drop += 1
        elif not self.drop and tag in self.allowed:
            self.out.append(f"<{tag}>")

    def _end(self, tag: str) -> None:
        if tag in _DROP_CONTENT:
            self.drop = max(0, self.drop - 1)
        elif not self.drop and tag in self.allowed and tag not in ("br", "hr"):
            self.out.append(f"</{tag}>")

    def run(self, fragment: str) -> str:
        try:
            self.parser.feed(fragment)
            self.parser.close()
        except Exception:
            return html.escape(fragment)
        return "".join(self.out)


def sanitize_html(fragment: str, *, inline: bool = False) -> str:
    return _Sanitizer(_INLINE_TAGS if inline else _INLINE_TAGS | _BLOCK_TAGS).run(fragment)


@lru_cache(maxsize=1)
def _html_renderer():
    """A markdown-it renderer for exports: our table markup for tables, raw HTML sanitised."""
    from markdown_it import MarkdownIt
    from mdit_py_plugins.dollarmath import dollarmath_plugin

    md = MarkdownIt("commonmark", {"html": True})
    md.use(dollarmath_plugin, allow_space=False, allow_digits=False, double_inline=True)

    def table_rule(self, tokens, idx, options, env):
        return tokens[idx].meta["table"].to_html() + "\n"

    def html_block_rule(self, tokens, idx, options, env):
        return sanitize_html(tokens[idx].content) + "\n"

    def html_inline_rule(self, tokens, idx, options, env):
        return sanitize_html(tokens[idx].content, inline=True)

    def math_inline_rule(self, tokens, idx, options, env):
        return f'<span class="math">\\({html.escape(tokens[idx].content)}\\)</span>'

    def math_block_rule(self, tokens, idx, options, env):
        return f'<div class="math">\\[{html.escape(tokens[idx].content.strip())}\\]</div>\n'

    md.add_render_rule(TABLE_TOKEN, table_rule)
    # LaTeX kept with its \( \) and \[ \] delimiters: readable as is, and what MathJax or KaTeX look for
    for name in ("math_inline", "math_inline_double"):
        md.add_render_rule(name, math_inline_rule)
    for name in ("math_block", "math_block_label"):
        md.add_render_rule(name, math_block_rule)
    md.add_render_rule("html_block", html_block_rule)
    md.add_render_rule("html_inline", html_inline_rule)
    return md


def markdown_to_html(markdown: str) -> str:
    """One page's Markdown as an HTML fragment (tables rebuilt from their grids, other raw HTML sanitised)."""
    md = _html_renderer()
    return md.renderer.render(parse_blocks(markdown), md.options, {})


def render_html(doc: DocumentResult) -> str:
    """A standalone HTML file: one <section> per page, a small stylesheet, no scripts and no remote resources."""
    title = html.escape(_doc_title(doc))
    body: list[str] = []
    for page in doc.pages:
        body.append(f'<section class="page" id="page-{page.page}">')
        body.append(f'<p class="page-label">Page {page.page}</p>')
        if page.error:
            body.append(f'<p class="note">This page could not be converted: {html.escape(page.error)}</p>')
        else:
            body.append(markdown_to_html(close_open_blocks(page.markdown)))
            reason = _stop_reason(page)
            if reason:
                body.append(
                    f'<p class="note">This page stopped early because {reason}; its text may be incomplete.</p>'
                )
        body.append("</section>")
    csp = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"
    return (
        '<!DOCTYPE html>\n<html>\n<head>\n<meta charset="utf-8">\n'
        f'<meta http-equiv="Content-Security-Policy" content="{csp}">\n'
        '<meta name="generator" content="PaperLens">\n'
        f"<title>{title}</title>\n<style>{_CSS}</style>\n</head>\n<body>\n"
        + "\n".join(body)
        + "\n</body>\n</html>\n"
    )


# --- plain text ------------------------------------------------------------------------------------------------------
def _width(text: str) -> int:
    """Display width in a monospaced font: East Asian wide characters take two columns."""
    return sum(2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1 for ch in text)


def table_to_text(table: Table) -> str:
    """A table as aligned columns (two spaces apart), with a rule under the header rows."""
    rows = [[" ".join(c.split()) for c in row] for row in table.rows]
    widths = [max((_width(r[c]) for r in rows if c < len(r)), default=0) for c in range(table.n_cols)]

    def line(row: list[str]) -> str:
        return "  ".join(cell + " " * (widths[c] - _width(cell)) for c, cell in enumerate(row)).rstrip()

    out = [table.title] if table.title else []
    for r, row in enumerate(rows):
        out.append(line(row))
        if r == table.header_rows - 1:
            out.append("  ".join("-" * w for w in widths))
    return "\n".join(out)


def blocks_to_text(blocks: list[Block]) -> str:
    out: list[str] = []
    prev: Block | None = None
    for b in blocks:
        indent = "   " * max(0, b.list_depth - 1) if b.list_kind else "   " * b.list_depth
        quote = "> " * b.quote
        if b.kind in ("heading", "paragraph"):
            bullet = ""
            if b.list_kind == "bullet":
                bullet = "- "
            elif b.list_kind == "ordered":
                bullet = f"{b.list_number}. "
            lines = b.plain.split("\n")
            hang = " " * len(bullet)
            text = "\n".join(
                quote + indent + (bullet if i == 0 else hang) + line for i, line in enumerate(lines)
            )
        elif b.kind == "code":
            text = "\n".join(quote + indent + line for line in b.text.split("\n"))
        elif b.kind == "math":
            text = f"{quote}{indent}$$ {b.text} $$"
        elif b.kind == "rule":
            text = quote + "-" * 40
        elif b.kind == "table" and b.table is not None:
            text = table_to_text(b.table)
            if b.table.truncated:
                text += "\n(The table is cut off: the text ended before the table did.)"
        else:
            continue
        # items of a tight list stay on consecutive lines, as the Markdown had them
        tight_item = bool(
            b.list_kind and b.tight and prev is not None and prev.kind == "paragraph" and prev.list_depth
        )
        if out:
            out.append("\n" if tight_item else "\n\n")
        out.append(text)
        prev = b
    return "".join(out)


def render_text(doc: DocumentResult) -> str:
    """Plain UTF-8 text: Markdown marks removed, lists and tables laid out, `[Page N]` before each page."""
    parts = []
    for page in doc.pages:
        chunk = [f"[Page {page.page}]"]
        if page.error:
            chunk.append(f"(This page could not be converted: {page.error})")
        else:
            text = blocks_to_text(markdown_blocks(page.markdown))
            if text:
                chunk.append(text)
            reason = _stop_reason(page)
            if reason:
                chunk.append(f"(This page stopped early because {reason}; its text may be incomplete.)")
        parts.append("\n\n".join(chunk))
    return "\n\n\n".join(parts) + "\n" if parts else ""


def render(doc: DocumentResult, fmt: str) -> str:
    """A text format (md, json, html, txt) as a string, e.g. for stdout."""
    fmt = normalize_format(fmt)
    if fmt == "md":
        return render_markdown(doc)
    if fmt == "json":
        return to_json(doc)
    if fmt == "html":
        return render_html(doc)
    if fmt == "txt":
        return render_text(doc)
    raise ExportError(
        f"The {fmt} format is a file, not text.", hint=f"Give it a file name, such as OUT.{fmt}."
    )


# --- CSV and XLSX ----------------------------------------------------------------------------------------------------
def _no_tables_error(doc: DocumentResult, fmt: str) -> ExportError:
    return ExportError(
        f"{_doc_title(doc)} has no tables, so there is nothing to put in a {fmt.upper()} file.",
        hint="Export it as Markdown, Word or text instead.",
    )


def csv_bytes(table: Table) -> bytes:
    """UTF-8 with a byte-order mark: Excel reads a CSV without one as the local code page and garbles accents.

    Python's csv module reads it back with encoding="utf-8-sig"; LibreOffice and Numbers take it either way.
    """
    return b"\xef\xbb\xbf" + table.to_csv_text().encode("utf-8")


_ILLEGAL_XML = {c for c in range(32) if c not in (9, 10, 13)} | {0xFFFE, 0xFFFF}


def xml_safe(text: str) -> str:
    """Text XML (and so XLSX and DOCX) can hold: control characters dropped, lone surrogates replaced."""
    if any(ord(ch) in _ILLEGAL_XML or 0xD800 <= ord(ch) <= 0xDFFF for ch in text):
        return "".join(
            "\ufffd" if 0xD800 <= ord(ch) <= 0xDFFF else ch for ch in text if ord(ch) not in _ILLEGAL_XML
        )
    return text


def cell_value(text: str) -> str | int | float:
    """A cell's value for a spreadsheet: plain numbers become numbers (so they sum), everything else stays text.

    Only unambiguous forms count: 12, -3.5, 1,204, 1,388.75. Leading zeros (postcodes, IDs), more than 15 digits
    (Excel would round them), decimal commas, currency signs and percentages stay text: a wrong number is worse than
    a string the user can convert.
    """
    s = text.strip()
    if not s or len(s) > 24:
        return text
    sign = ""
    if s[0] in "+-\u2212":
        sign, s = ("-" if s[0] != "+" else ""), s[1:]
    whole, dot, frac = s.partition(".")
    if dot and (not frac or not frac.isdigit()):
        return text
    groups = whole.split(",")
    if not all(g.isascii() and g.isdigit() for g in groups):
        return text
    if len(groups) > 1 and (not 1 <= len(groups[0]) <= 3 or any(len(g) != 3 for g in groups[1:])):
        return text
    digits = "".join(groups)
    if (len(digits) > 1 and digits[0] == "0") or len(digits) + len(frac) > 15:
        return text
    if dot:
        return float(f"{sign}{digits}.{frac}")
    return int(f"{sign}{digits}")


def _sheet_title(name: str, used: set[str]) -> str:
    base = "".join("_" if ch in "[]:*?/\\" else ch for ch in name)[:31].strip("'") or "Table"
    title, n = base, 2
    while title.lower() in used:
        suffix = f" ({n})"
        title = base[: 31 - len(suffix)] + suffix
        n += 1
    used.add(title.lower())
    return title


def xlsx_bytes(tables: list[PageTable], title: str = "") -> bytes:
    """One sheet per table, named "Page P Table K" ("(cut)" when truncated); merged cells merged again, the header
    rows bold and frozen, numbers stored as numbers and no text ever stored as a formula."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font
    from openpyxl.utils import get_column_letter

    wb = Workbook()
    wb.remove(wb.active)
    if title:
        wb.properties.title = xml_safe(title)
    wb.properties.creator = "PaperLens"
    used: set[str] = set()
    bold = Font(bold=True)
    wrap = Alignment(wrap_text=True, vertical="top")
    for pt in tables:
        table = pt.table
        ws = wb.create_sheet(_sheet_title(pt.name + (" (cut)" if table.truncated else ""), used))
        regions = table.merged_regions()
        covered = table.covered_cells()
        for r, row in enumerate(table.rows):
            for c, text in enumerate(row):
                if (r, c) in covered:
                    continue
                cell = ws.cell(row=r + 1, column=c + 1)
                value = cell_value(text) if r >= table.header_rows else text
                cell.value = xml_safe(value) if isinstance(value, str) else value
                if isinstance(value, str):
                    # openpyxl reads "=..." as a formula; text from a scanned page must never run as one
                    cell.data_type = "s"
                    if "\n" in value:
                        cell.alignment = wrap
                if r < table.header_rows:
                    cell.font = bold
        for s in regions:
            ws.merge_cells(
                start_row=s.row + 1,
                start_column=s.col + 1,
                end_row=s.row + s.rowspan,
                end_column=s.col + s.colspan,
            )
        if 0 < table.header_rows < table.n_rows:
            ws.freeze_panes = ws.cell(row=table.header_rows + 1, column=1)
        for c in range(table.n_cols):
            longest = max(
                (max(map(_width, row[c].split("\n") or [""])) for row in table.rows if c < len(row)),
                default=0,
            )
            ws.column_dimensions[get_column_letter(c + 1)].width = min(max(8, longest + 2), 60)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


# --- DOCX ------------------------------------------------------------------------------------------------------------
def docx_bytes(doc: DocumentResult) -> bytes:
    """A Word file: headings as Heading 1-6, lists in Word's list styles (numbering restarted per list), tables as
    Word tables with merged cells, formulas as their LaTeX source, a page break between pages."""
    import docx
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.shared import Pt

    document = docx.Document()
    document.core_properties.title = xml_safe(_doc_title(doc))
    document.core_properties.author = "PaperLens"
    writer = _DocxWriter(document, WD_ALIGN_PARAGRAPH, Pt)
    for i, page in enumerate(doc.pages):
        if i:
            document.add_page_break()
        if page.error:
            writer.note(f"Page {page.page} could not be converted: {page.error}")
            continue
        for block in markdown_blocks(page.markdown):
            writer.block(block)
        reason = _stop_reason(page)
        if reason:
            writer.note(f"Page {page.page} stopped early because {reason}; its text may be incomplete.")
    buf = io.BytesIO()
    document.save(buf)
    return buf.getvalue()


class _DocxWriter:
    MONO = "Consolas"
    MATH = "Cambria Math"

    def __init__(self, document, align, pt) -> None:
        self.doc = document
        self.align = align
        self.pt = pt
        self.list_nums: dict[tuple[int, str], int] = {}  # (list id, style) -> w:numId restarting at 1

    def note(self, text: str) -> None:
        p = self.doc.add_paragraph()
        run = p.add_run(xml_safe(text))
        run.italic = True

    def runs(self, paragraph, runs: list[Run]) -> None:
        for r in runs:
            run = paragraph.add_run(xml_safe(r.text))
            run.bold = r.bold or None
            run.italic = r.italic or None
            run.underline = r.underline or None
            if r.strike:
                run.font.strike = True
            if r.sup:
                run.font.superscript = True
            if r.sub:
                run.font.subscript = True
            if r.code:
                run.font.name = self.MONO
            if r.math:
                run.font.name = self.MATH

    def block(self, b: Block) -> None:
        if b.kind == "heading":
            p = self.doc.add_heading(level=min(max(b.level, 1), 9))
            self.runs(p, b.runs)
        elif b.kind == "paragraph":
            style = self._style(b)
            p = self.doc.add_paragraph(style=style)
            if b.list_kind == "ordered":
                self._number(p, b, style)
            elif b.list_depth and not b.list_kind:
                p.paragraph_format.left_indent = self.pt(18 * b.list_depth)
            self.runs(p, b.runs)
        elif b.kind == "code":
            p = self.doc.add_paragraph(style="No Spacing")
            run = p.add_run(xml_safe(b.text))
            run.font.name = self.MONO
            run.font.size = self.pt(9)
        elif b.kind == "math":
            p = self.doc.add_paragraph()
            p.alignment = self.align.CENTER
            run = p.add_run(xml_safe(b.text))
            run.font.name = self.MATH
        elif b.kind == "rule":
            self.doc.add_paragraph()
        elif b.kind == "table" and b.table is not None:
            self.table(b.table)

    def _style(self, b: Block) -> str | None:
        if b.list_kind:
            base = "List Bullet" if b.list_kind == "bullet" else "List Number"
            depth = min(b.list_depth, 3)
            return base if depth <= 1 else f"{base} {depth}"
        if b.quote:
            return "Quote"
        return None

    def _number(self, paragraph, b: Block, style: str) -> None:
        """Word continues numbering across every list of one style; give each Markdown list its own count."""
        try:
            key = (b.list_id, style)
            num_id = self.list_nums.get(key)
            if num_id is None:
                num_id = self._new_num(style, start=b.list_number)
                self.list_nums[key] = num_id
            if num_id is None:
                return
            ppr = paragraph._p.get_or_add_pPr()
            numpr = ppr.get_or_add_numPr()
            numpr.get_or_add_ilvl().val = 0
            numpr.get_or_add_numId().val = num_id
        except Exception:  # the numbering is cosmetic; the style's own numbering remains
            return

    def _new_num(self, style: str, start: int) -> int | None:
        st = self.doc.styles[style]
        ppr = st.element.pPr
        if ppr is None or ppr.numPr is None or ppr.numPr.numId is None:
            return None
        numbering = self.doc.part.numbering_part.element
        old = numbering.num_having_numId(ppr.numPr.numId.val)
        num = numbering.add_num(old.abstractNumId.val)
        override = num.add_lvlOverride(ilvl=0)
        override.add_startOverride(max(1, start))
        return num.numId

    def table(self, table: Table) -> None:
        if not table.rows or not table.n_cols:
            return
        if table.title:
            p = self.doc.add_paragraph()
            p.add_run(xml_safe(table.title)).bold = True
        t = self.doc.add_table(rows=table.n_rows, cols=table.n_cols)
        t.style = "Table Grid"
        regions = table.merged_regions()
        covered = table.covered_cells()
        for r, row in enumerate(table.rows):
            cells = t.rows[r].cells
            for c, text in enumerate(row):
                if (r, c) in covered or not text:
                    continue
                cells[c].text = xml_safe(text)
                if r < table.header_rows:
                    for run in cells[c].paragraphs[0].runs:
                        run.bold = True
            if r < table.header_rows:
                _repeat_header(t.rows[r])
        for s in regions:
            first = t.cell(s.row, s.col)
            first.merge(t.cell(s.row + s.rowspan - 1, s.col + s.colspan - 1))
        if table.truncated:
            self.note("The table is cut off: the text ended before the table did.")


def _repeat_header(row) -> None:
    """Marks a table row as a header row that Word repeats on every page the table spans."""
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn

    tr_pr = row._tr.get_or_add_trPr()
    el = OxmlElement("w:tblHeader")
    el.set(qn("w:val"), "true")
    tr_pr.append(el)


# --- writing files ---------------------------------------------------------------------------------------------------
_WINDOWS_FORBIDDEN = set('<>:"/\\|?*')
_WINDOWS_RESERVED = (
    {"CON", "PRN", "AUX", "NUL"} | {f"COM{i}" for i in range(1, 10)} | {f"LPT{i}" for i in range(1, 10)}
)


def name_problem(name: str, *, windows: bool | None = None) -> str | None:
    """Why a file name cannot be used on this system (or on Windows), or None when it can.

    Checked before anything is written, so the user hears about a bad character in plain words rather than as an
    operating-system error code. Letters of any script, spaces, quotes and emoji are fine everywhere but Windows'
    short list.
    """
    windows = sys.platform == "win32" if windows is None else windows
    if name in ("", ".", ".."):
        return "is not a file name"
    if "\x00" in name or "/" in name:
        return "contains a character no file name may have"
    try:
        encoded = os.fsencode(name) if not windows else name.encode("utf-16-le")
    except UnicodeError:
        return "contains characters this system cannot store in a file name"
    if len(encoded) > (510 if windows else 255):
        return "is too long"
    if windows:
        bad = sorted({ch for ch in name if ch in _WINDOWS_FORBIDDEN or ord(ch) < 32})
        if bad:
            shown = " ".join(repr(ch)[1:-1] for ch in bad)
            return f"contains characters Windows does not allow in file names ({shown})"
        if name.split(".")[0].strip().upper() in _WINDOWS_RESERVED:
            return "is a name Windows reserves for a device"
        if name[-1] in " .":
            return "ends with a space or a dot, which Windows does not allow"
    return None


def _check_target(path: Path) -> None:
    """Refuses a target that cannot work, before anything is rendered or written."""
    folder = path.parent
    problem = name_problem(path.name)
    if problem:
        raise ExportError(
            f"The file name {path.name!r} {problem}.", hint="Choose another name; nothing was written."
        )
    try:
        if path.is_dir():
            raise ExportError(f"{path} is a folder.", hint="Give a file name inside it; nothing was written.")
        if not folder.exists():
            raise ExportError(
                f"The folder {folder} does not exist.",
                hint="Create it or choose another folder; nothing was written.",
            )
        if not folder.is_dir():
            raise ExportError(
                f"{folder} is not a folder.", hint="Choose a folder to save into; nothing was written."
            )
    except OSError as exc:
        raise _os_error(exc, path) from exc


def _os_error(exc: OSError, path: Path) -> ExportError:
    """An operating-system failure while writing, as a sentence: what happened, what to do."""
    folder = path.parent
    code = exc.errno
    nothing = "nothing was written."
    if code in (errno.ENOSPC, getattr(errno, "EDQUOT", -1)):
        return ExportError(
            f"The disk holding {folder} is full.", hint=f"Free some space or save to another disk; {nothing}"
        )
    if code == errno.EROFS:
        return ExportError(f"{folder} is on a read-only disk.", hint=f"Choose another folder; {nothing}")
    if code in (errno.EACCES, errno.EPERM):
        return ExportError(
            f"PaperLens may not write to {path}: the folder or file is read-only, belongs to another user, "
            "or the file is open in another program.",
            hint=f"Close the file or choose another folder; {nothing}",
        )
    if code == errno.ENOENT:
        return ExportError(
            f"The folder {folder} does not exist.", hint=f"Create it or choose another folder; {nothing}"
        )
    if code == errno.ENOTDIR:
        return ExportError(f"{folder} is not a folder.", hint=f"Choose a folder to save into; {nothing}")
    if code == errno.EISDIR:
        return ExportError(f"{path} is a folder.", hint=f"Give a file name inside it; {nothing}")
    if code == errno.ENAMETOOLONG:
        return ExportError(
            f"The file name {path.name!r} is too long for this disk.", hint=f"Choose a shorter one; {nothing}"
        )
    if code in (errno.EINVAL, getattr(errno, "EILSEQ", -1)):
        return ExportError(
            f"This disk does not accept the file name {path.name!r}.",
            hint=f"Choose a name with plain letters, digits and dashes; {nothing}",
        )
    reason = exc.strerror or str(exc)
    return ExportError(f"Could not write {path}: {reason}.", hint=f"Try another folder; {nothing}")


_CHUNK = 1 << 20


def _write_bytes(fd: int, data: bytes) -> None:
    """Writes all of `data` (os.write may write less than asked)."""
    view = memoryview(data)
    while view:
        n = os.write(fd, view[:_CHUNK])
        view = view[n:]


def _write_temp(path: Path, data: bytes) -> Path:
    """Writes `data` to a new hidden file next to `path` and syncs it; removes it again on any failure."""
    tmp = path.with_name(f".{path.name[:40]}.{secrets.token_hex(4)}.partial")
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    fd = os.open(tmp, flags, 0o666)  # 0o666 minus the umask: the same mode a plain open() gives
    try:
        try:
            _write_bytes(fd, data)
            os.fsync(fd)
        finally:
            os.close(fd)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    return tmp


def _sync_folder(folder: Path) -> None:
    """Makes the rename itself durable (POSIX); best effort."""
    if os.name != "posix":
        return
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def write_atomically(files: list[tuple[Path, bytes]]) -> None:
    """Writes every file or none: all temporary files first, then each renamed over its target.

    A failure while writing (full disk, permission, a bad name) removes the temporary files and leaves every target
    as it was.
    """
    for path, _ in files:
        _check_target(path)
    temps: list[tuple[Path, Path]] = []
    current = files[0][0] if files else Path()
    try:
        for path, data in files:
            current = path
            temps.append((_write_temp(path, data), path))
        for tmp, path in temps:
            current = path
            os.replace(tmp, path)
    except OSError as exc:
        raise _os_error(exc, current) from exc
    except UnicodeError as exc:
        raise ExportError(
            f"This system cannot store the file name {current.name!r}.",
            hint="Choose a name with plain letters and digits; nothing was written.",
        ) from exc
    finally:
        for tmp, _ in temps:
            with contextlib.suppress(OSError):
                if tmp.exists():
                    tmp.unlink()
    for folder in {p.parent for p, _ in files}:
        _sync_folder(folder)


def _safe_stem(doc: DocumentResult) -> str:
    stem = _doc_title(doc)
    stem = "".join("_" if ch in _WINDOWS_FORBIDDEN or ord(ch) < 32 else ch for ch in stem).strip(" .")
    return stem[:120] or "document"


def csv_paths(out_path: Path, tables: list[PageTable]) -> list[Path]:
    """Where the CSV export puts each table.

    One table: exactly `out_path`. Several: `<stem>-p<page>-<k><suffix>` beside it (report.csv ->
    report-p1-1.csv, report-p1-2.csv, report-p3-1.csv), k counting the tables on that page from 1.
    """
    if len(tables) == 1:
        return [out_path]
    suffix = out_path.suffix or ".csv"
    return [out_path.with_name(f"{out_path.stem}-p{t.page}-{t.index}{suffix}") for t in tables]


def export(doc: DocumentResult, fmt: str, out_path: Path | str) -> list[Path]:
    """Writes `doc` in format `fmt` to `out_path` and returns the files written.

    `out_path` is a file name, or an existing folder, in which case the file is named after the document
    (`<title>.<ext>`). CSV writes one file per table, named as `csv_paths` says. XLSX and CSV need at least one table.
    Raises `ExportError` with a sentence for the user; on any error no file is left half-written.
    """
    fmt = normalize_format(fmt)
    out = Path(out_path).expanduser()
    with contextlib.suppress(OSError):  # a name the system rejects is reported by _check_target
        if out.is_dir():
            out = out / f"{_safe_stem(doc)}{EXTENSIONS[fmt]}"
    files: list[tuple[Path, bytes]]
    if fmt in TEXT_FORMATS:
        files = [(out, render(doc, fmt).encode("utf-8"))]
    elif fmt == "docx":
        _check_target(out)
        files = [(out, docx_bytes(doc))]
    else:
        tables = document_tables(doc)
        if not tables:
            raise _no_tables_error(doc, fmt)
        if fmt == "xlsx":
            _check_target(out)
            files = [(out, xlsx_bytes(tables, title=_doc_title(doc)))]
        else:
            files = [(p, csv_bytes(t.table)) for p, t in zip(csv_paths(out, tables), tables, strict=True)]
    write_atomically(files)
    return [p for p, _ in files]
