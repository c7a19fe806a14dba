"""File > Export: pick a file and a format, then write it on the job pool (never on the GUI thread)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtWidgets import QFileDialog, QStatusBar, QWidget

from paperlens.core.results import export
from paperlens.core.session import DocumentSession
from paperlens.gui.jobs import JobRunner
from paperlens.gui.notice import NoticeBar


def choose_export(parent: QWidget, s: DocumentSession, notice: NoticeBar) -> tuple[Any, str, Path] | None:
    """Ask where and how to export the session: (document result, format, path), or None (nothing, or cancelled)."""
    result = s.to_document_result()
    if not result.pages:
        notice.show_info("Nothing to export yet: parse some pages first.")
        return None
    formats = [f.name for f in export.formats()]
    filters = [f.file_filter for f in export.formats()]
    base = Path(s.path).with_suffix("") if s.path else Path.home() / Path(s.title).stem
    path, chosen = QFileDialog.getSaveFileName(parent, "Export", f"{base}.md", ";;".join(filters))
    if not path:
        return None
    target = Path(path)
    # A typed extension wins over the filter; otherwise the filter's format decides and names the file.
    guess = export.guess_format(target)
    fmt = guess or (formats[filters.index(chosen)] if chosen in filters else "md")
    if guess is None:
        target = target.with_name(f"{target.name}{export.get(fmt).extension}")
    return result, fmt, target


def run_export(
    jobs: JobRunner, result: Any, fmt: str, path: Path, status: QStatusBar, notice: NoticeBar
) -> None:
    """Write the export on the pool; the status bar says what was written, the notice strip why it was not."""

    def done(written) -> None:
        names = ", ".join(str(p) for p in (written or [path]))
        status.showMessage(f"Wrote {names}", 8000)

    status.showMessage(f"Exporting to {path.name}…")
    jobs.submit(
        lambda: export.export(result, fmt, path),
        done,
        lambda msg: notice.show_error(f"Export failed: {msg}"),
    )
