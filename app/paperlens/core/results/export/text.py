"""The plain-text export: Markdown marks removed, lists indented, tables laid out in aligned columns."""

from __future__ import annotations

from paperlens.core.results.blocks import Block, markdown_blocks
from paperlens.core.results.export.registry import ExportFormat, register
from paperlens.core.results.export.shared import display_width, missing_note, skip_note, stop_reason
from paperlens.core.results.tables import Table
from paperlens.core.runs import DocumentResult


def table_to_text(table: Table) -> str:
    """A table as aligned columns (two spaces apart), with a rule under the header rows."""
    rows = [[" ".join(c.split()) for c in row] for row in table.rows]
    widths = [max((display_width(r[c]) for r in rows if c < len(r)), default=0) for c in range(table.n_cols)]

    def line(row: list[str]) -> str:
        return "  ".join(
            cell + " " * (widths[c] - display_width(cell)) for c, cell in enumerate(row)
        ).rstrip()

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
    missing = missing_note(doc)
    parts = [f"({missing})"] if missing else []
    for page in doc.pages:
        chunk = [f"[Page {page.page}{', edited by hand' if page.edited else ''}]"]
        if page.error:
            chunk.append(f"(This page could not be converted: {page.error})")
        elif page.skipped:
            chunk.append(f"({skip_note(page)})")
        else:
            text = blocks_to_text(markdown_blocks(page.markdown))
            if text:
                chunk.append(text)
            reason = stop_reason(page)
            if reason:
                chunk.append(f"(This page stopped early because {reason}; its text may be incomplete.)")
        parts.append("\n\n".join(chunk))
    return "\n\n\n".join(parts) + "\n" if parts else ""


FORMAT = register(ExportFormat("txt", "Plain text", (".txt",), render=render_text, aliases=("text",)))
