"""The export formats PaperLens knows, each declared once: its name, label, extensions, aliases and writer.

The CLI's `--format` choices, the window's file-dialog filters, `guess_format` and `export` all read this registry,
so a new format is one new module plus one registration line in `export/__init__.py`. For example, a format that
writes each page's Markdown as a line of JSON::

    # core/results/export/jsonl.py
    import json

    from paperlens.core.results.export.registry import ExportFormat, register


    def render_jsonl(doc) -> str:
        return "".join(json.dumps({"page": p.page, "markdown": p.markdown}) + "\\n" for p in doc.pages)


    register(ExportFormat("jsonl", "JSON lines", (".jsonl",), render=render_jsonl, aliases=("ndjson",)))

    # core/results/export/__init__.py
    from paperlens.core.results.export import jsonl  # noqa: F401  (registers itself)

A text format gives `render` (the document as one string; it can also go to stdout and is written as UTF-8). A file
format gives `write` instead: the files to write for a target path, as (path, bytes) pairs, written together
atomically by `export`. Writers raise `ExportError` for anything the user can fix.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from paperlens.core.errors import ExportError

if TYPE_CHECKING:
    from paperlens.core.runs import DocumentResult

Render = Callable[["DocumentResult"], str]
Write = Callable[["DocumentResult", Path], "list[tuple[Path, bytes]]"]


@dataclass(frozen=True)
class ExportFormat:
    """One export format.

    `name` is the canonical short name ("docx"); `label` what the window's file dialog shows ("Word document");
    `extensions` the file suffixes, the first one used for new files; `aliases` other names users type ("word").
    `needs_tables`: the format holds only tables, so a document without any cannot be exported to it.
    `notes_missing_pages`: the file can say which pages of a partly parsed document it lacks (a spreadsheet cannot;
    the window then says it instead).
    """

    name: str
    label: str
    extensions: tuple[str, ...]
    render: Render | None = None
    write: Write | None = None
    aliases: tuple[str, ...] = ()
    needs_tables: bool = False
    notes_missing_pages: bool = True

    def __post_init__(self) -> None:
        if (self.render is None) == (self.write is None):
            raise ValueError(f"export format {self.name!r}: give exactly one of render or write")
        if not self.extensions or not all(e.startswith(".") for e in self.extensions):
            raise ValueError(f"export format {self.name!r}: extensions start with a dot")

    @property
    def file_only(self) -> bool:
        """True when the format is a file, not text: it needs a target (`-o OUT`) and cannot go to stdout."""
        return self.render is None

    @property
    def extension(self) -> str:
        """The suffix for a new file of this format."""
        return self.extensions[0]

    def files(self, doc: DocumentResult, path: Path) -> list[tuple[Path, bytes]]:
        """The (path, bytes) pairs this format writes for `doc` at `path`."""
        if self.write is not None:
            return self.write(doc, path)
        assert self.render is not None
        return [(path, self.render(doc).encode("utf-8"))]

    @property
    def file_filter(self) -> str:
        """A Qt file-dialog filter, e.g. "Word document (*.docx)"."""
        return f"{self.label} ({' '.join('*' + e for e in self.extensions)})"


_FORMATS: dict[str, ExportFormat] = {}
_NAMES: dict[str, str] = {}  # every name, alias and extension (lower case, no dot) -> canonical name


def _keys(fmt: ExportFormat) -> list[str]:
    return [
        fmt.name.lower(),
        *(a.lower() for a in fmt.aliases),
        *(e.lower().lstrip(".") for e in fmt.extensions),
    ]


def register(fmt: ExportFormat) -> ExportFormat:
    """Adds a format; its name, aliases and extensions must not name another format already. Returns `fmt`."""
    taken = [k for k in _keys(fmt) if _NAMES.get(k, fmt.name) != fmt.name]
    if taken:
        raise ValueError(f"export format {fmt.name!r}: {', '.join(taken)} already name another format")
    _FORMATS[fmt.name] = fmt
    for key in _keys(fmt):
        _NAMES[key] = fmt.name
    return fmt


def unregister(name: str) -> None:
    """Removes a format (for tests that register a throwaway one)."""
    fmt = _FORMATS.pop(name, None)
    if fmt is not None:
        for key in _keys(fmt):
            if _NAMES.get(key) == name:
                del _NAMES[key]


def formats() -> tuple[ExportFormat, ...]:
    """Every registered format, in registration order (the order the CLI and the window list them)."""
    return tuple(_FORMATS.values())


def normalize_format(fmt: str) -> str:
    """The canonical format name for a name, alias or file extension ("Markdown", ".htm" -> "md", "html")."""
    name = _NAMES.get(fmt.strip().lower().lstrip("."))
    if name is None:
        raise ExportError(
            f"PaperLens cannot export to {fmt!r}.", hint=f"Choose one of: {', '.join(_FORMATS)}."
        )
    return name


def get(fmt: str) -> ExportFormat:
    """The format for a name, alias or extension; `ExportError` when there is none."""
    return _FORMATS[normalize_format(fmt)]


def guess_format(path: Path | str) -> str | None:
    """The format a file name asks for by its extension, or None."""
    suffix = Path(path).suffix
    if not suffix:
        return None
    return _NAMES.get(suffix.lower().lstrip("."))
