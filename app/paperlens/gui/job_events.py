"""What the window does when the model thread reports: a page started, text streamed, a page or a job finished.

Kept apart from `MainWindow` (which lays out and wires) because this is the one place that decides which views a
model event repaints; `Documents` decides what the event changes in the sessions.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Slot

from paperlens.core.runs import PageResult
from paperlens.gui.document_view import TAB_ASK, TAB_TABLES
from paperlens.gui.documents import JobKind, parse_summary
from paperlens.gui.worker import JobOutcome

if TYPE_CHECKING:
    from paperlens.gui.main_window import MainWindow


class JobEvents(QObject):
    """Connects to the window's `ModelHost` and repaints the window's views for each model event."""

    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self.window = window
        h = window.host
        h.page_started.connect(self._on_page_started)
        h.page_done.connect(self._on_page_done)
        h.progress.connect(self._on_progress)
        h.finished.connect(self._on_job_finished)
        h.text.connect(self._on_text)
        h.busy_changed.connect(self._on_busy_changed)

    @Slot(int, int)
    def _on_page_started(self, job: int, page: int) -> None:
        w = self.window
        s = w.documents.page_started(job, page)
        if s is None:
            return
        w.view.mark_page(s, page)
        if w.documents.follow_job == job and s is w.current and s.current_page != page:
            w.select_page(page)
        elif s is w.current and s.current_page == page:
            w.view.refresh_markdown()

    @Slot(int, int, str)
    def _on_text(self, job_id: int, page: int, text: str) -> None:
        w = self.window
        job, s = w.documents.add_text(job_id, page, text)
        if s is None or job is None:
            return
        if job.kind is JobKind.PARSE:
            if s is w.current and s.current_page == page:
                w.view.refresh_markdown()
                if w.right_tabs.currentIndex() == TAB_TABLES:
                    w.view.tables_dirty = True
        elif job.turn is not None and s is w.current and w.right_tabs.currentIndex() == TAB_ASK:
            w.view.refresh_ask()

    @Slot(int, object)
    def _on_page_done(self, job: int, result: PageResult) -> None:
        w = self.window
        s = w.documents.page_done(job, result)
        if s is None:
            return
        w.view.mark_page(s, result.page)
        if s is w.current and s.current_page == result.page:
            w.view.refresh_markdown()
            w.view.tables_dirty = True
            if w.right_tabs.currentIndex() == TAB_TABLES:
                w.view.refresh_tables()
        w._update_actions()

    @Slot(int, object)
    def _on_progress(self, _job: int, p) -> None:
        w = self.window
        w.status.show_progress(p)

    @Slot()
    def _on_busy_changed(self) -> None:
        w = self.window
        w.status.set_busy(w.host.busy)
        w._update_actions()

    @Slot(object)
    def _on_job_finished(self, outcome: JobOutcome) -> None:
        w = self.window
        job, s, cleared = w.documents.job_finished(outcome)
        if job is None:
            return
        if job.kind is JobKind.PARSE:
            if s is not None:
                for n in cleared:
                    w.view.mark_page(s, n)
                if s is w.current:
                    w.view.refresh_markdown()
            w.status.showMessage(parse_summary(outcome), 8000)
            if outcome.error and outcome.error != w.models.engine_failure:  # a load failure is in the banner
                w.notice.show_error(outcome.error)
        elif job.turn is not None and s is w.current:
            w.view.refresh_ask()
        w.exporter.job_finished(outcome)  # an export waiting for these pages
        w._update_actions()
