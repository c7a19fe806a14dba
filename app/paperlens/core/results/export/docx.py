"""The Word export: headings, lists, code, formulas and tables as Word's own paragraphs, styles and tables."""

from __future__ import annotations

import io
from pathlib import Path

from paperlens.core.results.blocks import Block, Run, markdown_blocks
from paperlens.core.results.export.files import check_target
from paperlens.core.results.export.registry import ExportFormat, register
from paperlens.core.results.export.shared import (
    doc_title,
    missing_note,
    skip_note,
    stop_reason,
    table_plan,
    xml_safe,
)
from paperlens.core.results.tables import Table
from paperlens.core.runs import DocumentResult


def docx_bytes(doc: DocumentResult) -> bytes:
    """A Word file: headings as Heading 1-6, lists in Word's list styles (numbering restarted per list), tables as
    Word tables with merged cells, formulas as their LaTeX source, a page break between pages."""
    import docx
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.shared import Pt

    document = docx.Document()
    document.core_properties.title = xml_safe(doc_title(doc))
    document.core_properties.author = "PaperLens"
    writer = _DocxWriter(document, WD_ALIGN_PARAGRAPH, Pt)
    missing = missing_note(doc)
    if missing:
        writer.note(missing)
    plan = table_plan(doc)  # a table continued on the next page is drawn once, whole, where it starts
    for i, page in enumerate(doc.pages):
        if i:
            document.add_page_break()
        if page.error:
            writer.note(f"Page {page.page} could not be converted: {page.error}")
            continue
        if page.skipped:
            writer.note(skip_note(page) or "")
            continue
        if page.edited:
            writer.note(f"Page {page.page} was edited by hand.")
        k = 0
        for block in markdown_blocks(page.markdown):
            if block.kind == "table" and block.table is not None:
                k += 1
                block.table = plan.get((page.page, k), block.table)
                if block.table is None:
                    continue
            writer.block(block)
        reason = stop_reason(page)
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
        self.list_nums: dict[
            tuple[int, str | None], int | None
        ] = {}  # (list id, style) -> w:numId restarting at 1

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

    def _number(self, paragraph, b: Block, style: str | None) -> None:
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

    def _new_num(self, style: str | None, start: int) -> int | None:
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


def write_docx(doc: DocumentResult, path: Path) -> list[tuple[Path, bytes]]:
    check_target(path)  # before the work of building the document
    return [(path, docx_bytes(doc))]


FORMAT = register(ExportFormat("docx", "Word document", (".docx",), write=write_docx, aliases=("word",)))
