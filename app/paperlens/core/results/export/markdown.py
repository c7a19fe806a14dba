"""The Markdown export: the model's Markdown as one file, each page opened by a `<!-- Page N -->` marker."""

from __future__ import annotations

from paperlens.core.results import markdown as dialect
from paperlens.core.results.export.registry import ExportFormat, register
from paperlens.core.results.export.shared import missing_note, skip_note, stop_reason
from paperlens.core.runs import DocumentResult


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
        tokens = dialect.tokens(probe)
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
    or stopped early says so in a comment of its own, and pages never parsed are named in a comment at the top, so
    the file never silently claims to be complete.
    """
    missing = missing_note(doc)
    parts: list[str] = [_comment(missing)] if missing else []
    for page in doc.pages:
        parts.append(_comment(f"Page {page.page}" + (" (edited by hand)" if page.edited else "")))
        if page.error:
            parts.append(_comment(f"Page {page.page} could not be converted: {page.error}"))
            continue
        if page.skipped:
            parts.append(_comment(skip_note(page) or ""))
            continue
        body = close_open_blocks(page.markdown.strip())
        if body:
            parts.append(body)
        reason = stop_reason(page)
        if reason:
            parts.append(
                _comment(f"Page {page.page} stopped early because {reason}; its text may be incomplete.")
            )
    return "\n\n".join(parts) + "\n" if parts else ""


FORMAT = register(ExportFormat("md", "Markdown", (".md",), render=render_markdown, aliases=("markdown",)))
