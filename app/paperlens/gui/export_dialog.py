"""File > Export: pick a file and a format, then write it on the job pool (never on the GUI thread).

A document with pages not parsed yet is never exported silently short: the user is asked first (parse the rest
first, export what exists, or cancel), the file itself names the missing pages (`DocumentResult.page_count`), and the
status bar says how many pages went in. "Parse the rest first" queues the missing pages on the model thread and writes
the file when none of them is queued any more; a stopped or failed parse writes nothing and says so.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject
from PySide6.QtWidgets import QFileDialog, QMessageBox, QStatusBar, QWidget

from paperlens.core.results import export
from paperlens.core.runs import DocumentResult, page_ranges
from paperlens.core.session import DocumentSession
from paperlens.gui.jobs import JobRunner
from paperlens.gui.notice import NoticeBar

# What to do about pages that are not parsed (the answer of `ask_missing_dialog`).
PARSE_FIRST, EXPORT_PARTIAL, CANCEL = "parse", "partial", "cancel"

# (parent, session, pages not parsed) -> PARSE_FIRST, EXPORT_PARTIAL or CANCEL
AskMissing = Callable[[QWidget, DocumentSession, list[int]], str]
# (parent, suggested path, file-dialog filters) -> (path, chosen filter), path "" when cancelled
AskTarget = Callable[[QWidget, str, list[str]], tuple[str, str]]


def ask_missing_dialog(parent: QWidget, s: DocumentSession, unparsed: list[int]) -> str:
    """Three choices about the pages not parsed yet: parse them first, export what exists, or cancel."""
    box = QMessageBox(parent)
    box.setIcon(QMessageBox.Icon.Question)
    box.setWindowTitle("Export")
    done = s.page_count - len(unparsed)
    box.setText(f"{done} of {s.page_count} pages of {s.title} are parsed.")
    box.setInformativeText(
        f"{_pages_word(unparsed)} {page_ranges(unparsed)} {'is' if len(unparsed) == 1 else 'are'} not parsed yet "
        "(or stopped early). The exported file "
        "will say which pages it lacks."
    )
    parse = box.addButton("Parse the rest first", QMessageBox.ButtonRole.AcceptRole)
    partial = box.addButton("Export what exists", QMessageBox.ButtonRole.DestructiveRole)
    box.addButton(QMessageBox.StandardButton.Cancel)
    box.setDefaultButton(parse)
    box.exec()
    clicked = box.clickedButton()
    return PARSE_FIRST if clicked is parse else EXPORT_PARTIAL if clicked is partial else CANCEL


def ask_target_dialog(parent: QWidget, suggested: str, filters: list[str]) -> tuple[str, str]:
    return QFileDialog.getSaveFileName(parent, "Export", suggested, ";;".join(filters))


def _pages_word(pages: list[int]) -> str:
    return "Page" if len(pages) == 1 else "Pages"


def a_file(fmt: str) -> str:
    """ "an XLSX file", "a CSV file": the article as the format's name is read out (letter by letter)."""
    name = fmt.upper()
    return f"{'an' if name[:1] in 'AEFHILMNORSX' else 'a'} {name} file"


def missing_summary(result: DocumentResult) -> str:
    """ "23 of 40 pages; pages 24-40 not parsed" for a partial export, "" for a complete one."""
    missing = result.missing_pages()
    if not missing or result.page_count is None:
        return ""
    return (
        f"{len(result.pages)} of {result.page_count} pages; "
        f"{_pages_word(missing).lower()} {page_ranges(missing)} not parsed"
    )


def choose_export(
    parent: QWidget,
    s: DocumentSession,
    notice: NoticeBar,
    ask_target: AskTarget = ask_target_dialog,
) -> tuple[Any, str, Path] | None:
    """Ask where and how to export the session: (document result, format, path), or None (nothing, or cancelled)."""
    result = s.to_document_result()
    if not result.pages:
        notice.show_info("Nothing to export yet: parse some pages first.")
        return None
    formats = [f.name for f in export.formats()]
    filters = [f.file_filter for f in export.formats()]
    base = Path(s.path).with_suffix("") if s.path else Path.home() / Path(s.title).stem
    path, chosen = ask_target(parent, f"{base}.md", filters)
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
    jobs: JobRunner,
    result: Any,
    fmt: str,
    path: Path,
    status: QStatusBar,
    notice: NoticeBar,
    *,
    merge_tables: bool = True,
) -> None:
    """Write the export on the pool; the status bar says what was written (and which pages it lacks), the notice
    strip why it was not, or that a spreadsheet cannot hold the note about missing pages."""
    summary = missing_summary(result) if isinstance(result, DocumentResult) else ""

    def done(written) -> None:
        names = ", ".join(str(p) for p in (written or [path]))
        status.showMessage(f"Wrote {names}" + (f" ({summary})" if summary else ""), 8000)
        if summary and not export.get(fmt).notes_missing_pages:
            notice.show_info(
                f"{path.name} holds the tables of {summary}: {a_file(export.get(fmt).name)} "
                "cannot say so itself."
            )

    status.showMessage(f"Exporting to {path.name}…")
    jobs.submit(
        lambda: export.export(result, fmt, path, merge_tables=merge_tables),
        done,
        lambda msg: notice.show_error(f"Export failed: {msg}"),
    )


@dataclass
class _Waiting:
    """An export chosen with "Parse the rest first": written when none of the document's pages is queued."""

    doc_id: str
    fmt: str
    path: Path


class Exporter(QObject):
    """The window's export: asks about missing pages, the file, then writes (now, or after parsing the rest).

    `ask_missing` and `ask_target` are the two modal questions; tests replace them. `parse(session, pages)` queues a
    parse through the window and returns the job id (0 when nothing could be queued); the window calls
    `job_finished(outcome)` after its own bookkeeping of every model job, so `page_queued` is already up to date.
    """

    def __init__(
        self,
        parent: QWidget,
        jobs: JobRunner,
        documents: Any,
        status: QStatusBar,
        notice: NoticeBar,
        parse: Callable[[DocumentSession, list[int]], int],
    ) -> None:
        super().__init__(parent)
        self._parent = parent
        self._jobs = jobs
        self._documents = documents
        self._status = status
        self._notice = notice
        self._parse = parse
        self.ask_missing: AskMissing = ask_missing_dialog
        self.ask_target: AskTarget = ask_target_dialog
        self.waiting: list[_Waiting] = []
        self.merge_tables: Callable[[], bool] = lambda: True  # the window's "Join tables across pages"

    def start(self, s: DocumentSession) -> None:
        """File > Export on session `s`."""
        unparsed = s.unparsed()
        choice = EXPORT_PARTIAL
        if unparsed and s.to_document_result().pages:
            choice = self.ask_missing(self._parent, s, unparsed)
            if choice == CANCEL:
                return
        chosen = choose_export(self._parent, s, self._notice, self.ask_target)
        if chosen is None:
            return
        result, fmt, path = chosen
        if choice != PARSE_FIRST:
            self.write(result, fmt, path)
            return
        pages = [n for n in unparsed if not self._documents.page_queued(s, n)]
        if pages and not self._parse(s, pages):
            self._notice.show_error(f"The missing pages could not be queued; {path.name} was not written.")
            return
        self.waiting.append(_Waiting(s.id, fmt, path))
        self._status.showMessage(
            f"Parsing {len(unparsed)} missing page{'s' if len(unparsed) != 1 else ''}; "
            f"{path.name} is written when they are done.",
            8000,
        )

    def write(self, result: Any, fmt: str, path: Path) -> None:
        run_export(
            self._jobs, result, fmt, path, self._status, self._notice, merge_tables=self.merge_tables()
        )

    def job_finished(self, outcome: Any) -> None:
        """A model job ended: write each waiting export whose document has no page queued any more."""
        for w in list(self.waiting):
            s = self._documents.get(w.doc_id)
            if s is None:  # the document was closed: nothing to export
                self.waiting.remove(w)
                continue
            if outcome.doc_id != w.doc_id or any(self._documents.page_queued(s, n) for n in s.unparsed()):
                continue
            self.waiting.remove(w)
            if outcome.cancelled or outcome.error:
                why = "parsing was stopped" if outcome.cancelled else f"parsing failed ({outcome.error})"
                self._notice.show_info(
                    f"{w.path.name} was not written: {why}. File > Export writes what exists, and says which "
                    "pages it lacks."
                )
                continue
            self.write(s.to_document_result(), w.fmt, w.path)
