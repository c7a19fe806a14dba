"""The main window: documents as tabs; pages on the left; Markdown, Tables and Ask on the right; model status below.

The window holds no results of its own: each open document is a `DocumentSession` (kept by `Documents`), and the
views are re-filled from the current session whenever the document, the page or a result changes. All model work goes
through `ModelHost` (one thread, one engine); rendering, scanning the model folder and exporting go through
`JobRunner` (a thread pool). The window lays out the widgets and wires them to these helpers:
`actions` (menus, toolbar, enable rules), `StatusBar`, `StartPanel`, `PageCache`, `Documents`, `Opener`,
`ModelStatus` and the export dialog.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import QSize, Qt, QThreadPool, QTimer, Slot
from PySide6.QtGui import QCloseEvent, QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import (
    QDialog,
    QMainWindow,
    QStackedWidget,
    QToolBar,
    QVBoxLayout,
    QWidget,
)

from paperlens import APP_NAME
from paperlens.core import isolation
from paperlens.core.options import DEFAULT_MAX_TOKENS, DEFAULT_N_CTX
from paperlens.core.page import Page
from paperlens.core.session import ChatScope, DocumentSession
from paperlens.gui.actions import Actions, UiState
from paperlens.gui.dialogs import SettingsDialog, confirm_replace_edit
from paperlens.gui.doc_tabs import DocumentTabs
from paperlens.gui.document_view import TAB_ASK, TAB_MARKDOWN, TAB_TABLES, DocumentView
from paperlens.gui.documents import Documents, restore_summary, result_info
from paperlens.gui.export_dialog import Exporter
from paperlens.gui.firstrun import ModelBanner
from paperlens.gui.flattened_pages import FlattenedPages
from paperlens.gui.job_events import JobEvents
from paperlens.gui.jobs import JobRunner
from paperlens.gui.model_check import ModelCheck, ModelStatus, default_model_check
from paperlens.gui.notice import NoticeBar
from paperlens.gui.opening import Opener, ask_password_dialog
from paperlens.gui.page_cache import PageCache
from paperlens.gui.settings import Settings
from paperlens.gui.start_panel import StartPanel
from paperlens.gui.statusbar import StatusBar
from paperlens.gui.worker import EngineFactory, LibraryFactory, ModelHost, real_engine_factory

SHUTDOWN_TIMEOUT_MS = 10_000

__all__ = ["TAB_ASK", "TAB_MARKDOWN", "TAB_TABLES", "MainWindow", "ModelCheck", "default_model_check"]


class MainWindow(QMainWindow):
    """PaperLens's window. Tests pass a fake `engine_factory` and a throw-away `settings`."""

    def __init__(
        self,
        settings: Settings | None = None,
        *,
        engine_factory: EngineFactory | None = None,
        library_factory: LibraryFactory | None = None,
        model_check: Callable[[str], ModelCheck] | None = default_model_check,
        n_ctx: int = DEFAULT_N_CTX,
        max_tokens: int = DEFAULT_MAX_TOKENS,
        camera_factory: Callable[..., Any] | None = None,
    ) -> None:
        super().__init__()
        self.settings = settings or Settings()
        self._n_ctx = n_ctx
        self._max_tokens = max_tokens
        self._camera_factory = camera_factory
        self.setWindowTitle(APP_NAME)
        self.setAcceptDrops(True)
        self._selecting = False
        self.ask_password: Callable[[str, str], str | None] = ask_password_dialog(self)

        pool = QThreadPool(self)
        pool.setMaxThreadCount(2)  # leave the other cores to the model
        self.jobs = JobRunner(pool, self)
        self.host = ModelHost(engine_factory, library_factory, self)
        self.documents = Documents(self.host, self.jobs, self.settings, self)
        self.sessions = self.documents.sessions
        self.cache = PageCache(self.jobs, self.documents.get, self)

        self._build_central()
        self.action_table = Actions(self)
        self.status = StatusBar(self.act_cancel, self.settings.mode, self)
        self.setStatusBar(self.status)
        self.flattening.say = lambda text: self.status.showMessage(text, 8000)
        self.exporter = Exporter(
            self, self.jobs, self.documents, self.status, self.notice, self._submit_parse
        )
        self.model_label, self.mode_box, self.device_label = (
            self.status.model_label,
            self.status.mode_box,
            self.status.device_label,
        )
        self.models = ModelStatus(
            self,
            settings=self.settings,
            host=self.host,
            jobs=self.jobs,
            banner=self.banner,
            status=self.status,
            notice=self.notice,
            check=model_check,
            engine_options=self._engine_options,
            on_models=self.documents.set_models,
            real_engine=engine_factory is None or engine_factory is real_engine_factory,
        )
        self.opener = Opener(
            self,
            self.settings,
            self.notice,
            self.status,
            self.empty,
            self.add_session,
            lambda name, reason: self.ask_password(name, reason),
        )
        self.action_table.build_menus(self.menuBar(), {"open": self.opener.recent_menu})
        self.toolbar = QToolBar("Main", self)
        self.toolbar.setObjectName("mainToolbar")
        self.toolbar.setMovable(False)
        self.toolbar.setIconSize(QSize(18, 18))
        self.toolbar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.action_table.build_toolbar(self.toolbar)
        self.markdown.set_revert_action(self.act_revert_edit)
        self.act_show_sources.setCheckable(True)
        self.view.locating = self.documents.locating
        self._sync_show_sources()
        self.addToolBar(self.toolbar)
        self._connect()
        self.opener.refresh_recent()
        isolation.start_soon()  # the renderer child imports MuPDF while the user picks a file
        self._update_actions()
        self._restore_geometry()
        self.host.configure(self._engine_options())
        self.models.check()
        from paperlens.gui.markdown_view import warm_up

        self.jobs.submit(warm_up)

    # ------------------------------------------------------------------------------------------------------------------
    # building
    # ------------------------------------------------------------------------------------------------------------------
    def _build_central(self) -> None:
        self.banner = ModelBanner()
        self.notice = NoticeBar()
        self.doc_tabs = DocumentTabs()
        self.view = DocumentView(lambda: self.current, self.cache)
        self.splitter = self.view
        self.thumbs, self.page_view, self.right_tabs = (
            self.view.thumbs,
            self.view.page_view,
            self.view.right_tabs,
        )
        self.markdown, self.tables, self.ask = self.view.markdown, self.view.tables, self.view.ask
        self.flattening = FlattenedPages(  # a flattened photo: said, reviewed, undone
            lambda: self.current, self.jobs, self.cache, self.view, self.documents.page_queued, self
        )

        self.empty = StartPanel()
        self.stack = QStackedWidget()
        self.stack.addWidget(self.empty)
        self.stack.addWidget(self.splitter)

        central = QWidget()
        layout = QVBoxLayout(central)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        for widget in (self.banner, self.notice, self.flattening.notice, self.doc_tabs):
            layout.addWidget(widget)
        layout.addWidget(self.stack, 1)
        self.setCentralWidget(central)
        self.doc_tabs.hide()

    def _connect(self) -> None:
        self.banner.open_settings.connect(self.settings_dialog)
        self.doc_tabs.currentChanged.connect(self._doc_tab_changed)
        self.doc_tabs.tabCloseRequested.connect(self._doc_tab_close)
        self.thumbs.page_selected.connect(self._page_selected)
        self.markdown.edited.connect(self._markdown_edited)
        self.ask.ask_requested.connect(self.ask_question)
        self.empty.open_requested.connect(self.open_dialog)
        self.empty.camera_requested.connect(self.open_camera)
        self.empty.paste_requested.connect(self.paste)
        self.status.mode_chosen.connect(self._mode_chosen)
        self.documents.restored.connect(self._restored)
        self.job_events = JobEvents(self)
        self.host.library_ready.connect(self._on_library_ready)
        self.models.changed.connect(self._update_actions)
        self.tables.copied.connect(lambda text: self.status.showMessage(text, 5000))
        self.tables.join.setChecked(bool(self.settings.join_tables))
        self.tables.join_changed.connect(self._join_tables_changed)
        self.exporter.merge_tables = lambda: bool(self.settings.join_tables)

    def _join_tables_changed(self, on: bool) -> None:
        """The Tables tab's "Join tables across pages": kept, and used by the Tables tab and every export."""
        self.settings.join_tables = on
        self.view.refresh_tables()
        self.status.showMessage(
            "Tables that go on across pages are joined, here and in exports."
            if on
            else "Tables are shown and exported page by page.",
            5000,
        )

    # ------------------------------------------------------------------------------------------------------------------
    # state helpers
    # ------------------------------------------------------------------------------------------------------------------
    @property
    def current(self) -> DocumentSession | None:
        index = self.doc_tabs.currentIndex()
        if index < 0:
            return None
        return self.sessions.get(self.doc_tabs.tabData(index))

    @property
    def current_page(self) -> int:
        s = self.current
        return s.current_page if s is not None else 0

    def _engine_options(self):
        return self.settings.engine_options(n_ctx=self._n_ctx, max_tokens=self._max_tokens)

    def _update_actions(self) -> None:
        s = self.current
        busy = self.host.busy
        self.action_table.update(
            UiState(
                has_document=s is not None,
                has_result=s is not None and any(r.ok for r in s.results.values()),
                busy=busy,
                page=s.current_page if s is not None else 0,
                page_count=s.page_count if s is not None else 0,
                page_edited=s is not None and s.current_page in s.edited,
                documents=self.doc_tabs.count(),
                no_model=self.models.no_model,
            )
        )
        self.status.set_cancel_visible(busy)
        self.status.set_page(self.current_page, s.page_count if s is not None else 0)

    # ------------------------------------------------------------------------------------------------------------------
    # opening and closing documents (the ways in live in `Opener`)
    # ------------------------------------------------------------------------------------------------------------------
    def open_dialog(self) -> None:
        self.opener.open_dialog()

    def open_paths(self, paths: list[str | Path]) -> list[DocumentSession]:
        return self.opener.open_paths(paths)

    def open_image(self, image, title: str) -> DocumentSession:
        return self.opener.open_image(image, title)

    def paste(self) -> None:
        self.opener.paste()

    def open_recent(self, path: str) -> None:
        self.opener.open_recent(path)

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:  # noqa: N802
        if self.opener.accepts(event.mimeData()):
            event.acceptProposedAction()
        else:
            event.ignore()

    def dropEvent(self, event: QDropEvent) -> None:  # noqa: N802
        event.acceptProposedAction()
        self.opener.drop(event.mimeData())

    def add_session(self, session: DocumentSession) -> None:
        self.sessions[session.id] = session
        self.doc_tabs.show()
        index = self.doc_tabs.addTab(session.title)
        self.doc_tabs.setTabData(index, session.id)
        self.doc_tabs.setTabToolTip(index, session.path or session.title)
        self.doc_tabs.setCurrentIndex(index)
        self.stack.setCurrentWidget(self.splitter)
        self._show_session()
        self.cache.queue_thumbnails(session, range(1, session.page_count + 1))
        self.documents.add(session)

    def add_captured_pages(self, images: list, *, new_document: bool = False) -> DocumentSession:
        """Camera captures join the current document (or start a "Captured pages" one)."""
        session = None if new_document else self.current
        if session is None:
            session = DocumentSession("Captured pages", kind="capture")
            for img in images:
                session.add_page(Page(image=img, source="camera"))
            self.add_session(session)
            return session
        first_new = session.page_count + 1
        for img in images:
            session.add_page(Page(image=img, source="camera"))
        self.view.show_thumbnails(session)
        self.cache.queue_thumbnails(session, range(first_new, session.page_count + 1))
        self.select_page(first_new)
        return session

    @Slot(object)
    def _on_library_ready(self, library) -> None:
        notice = getattr(library, "notice", None)
        if notice:
            self.notice.show_info(notice)
        self.documents.set_library(library)

    @Slot(object, int, int)
    def _restored(self, s: DocumentSession, pages: int, questions: int) -> None:
        if s is self.current:
            self._show_session()
        self.status.showMessage(restore_summary(s, pages, questions, self.settings.mode), 6000)

    @Slot()
    def close_current_document(self) -> None:
        if self.doc_tabs.currentIndex() >= 0:
            self._doc_tab_close(self.doc_tabs.currentIndex())

    @Slot(int)
    def _doc_tab_close(self, index: int) -> None:
        self.markdown.flush_edit()  # a pending edit is saved now: closing never asks
        doc_id = self.doc_tabs.tabData(index)
        self.documents.remove(doc_id)
        self.doc_tabs.removeTab(index)
        self.cache.drop(doc_id)
        if not self.sessions:
            self.doc_tabs.hide()
            self.stack.setCurrentWidget(self.empty)
            self.opener.refresh_recent()
        self._show_session()

    # ------------------------------------------------------------------------------------------------------------------
    # showing a document and a page
    # ------------------------------------------------------------------------------------------------------------------
    @Slot(int)
    def _doc_tab_changed(self, _index: int) -> None:
        self._show_session()

    def _show_session(self) -> None:
        s = self.current
        self._update_actions()
        if s is None:
            self.setWindowTitle(APP_NAME)
            self.view.clear()
            return
        self.setWindowTitle(f"{s.title} — {APP_NAME}")
        self.view.show_thumbnails(s)
        self._show_page()

    @Slot(int)
    def _page_selected(self, number: int) -> None:
        s = self.current
        if s is None or number == s.current_page:
            return
        s.current_page = number
        if not self._selecting:
            self.documents.follow_job = 0  # the user looked elsewhere: stop following the batch
        self._show_page()

    def select_page(self, number: int) -> None:
        s = self.current
        if s is None:
            return
        number = max(1, min(s.page_count, number))
        self._selecting = True
        try:
            self.thumbs.select_page(number)
            if s.current_page != number:
                s.current_page = number
                self._show_page()
        finally:
            self._selecting = False

    @Slot()
    def next_page(self) -> None:
        self.select_page(self.current_page + 1)

    @Slot()
    def previous_page(self) -> None:
        self.select_page(self.current_page - 1)

    def _show_page(self) -> None:
        self._update_actions()
        self.view.show_page()
        self.flattening.check()  # a flattened photo says so

    # markdown editing
    @Slot(object, str)
    def _markdown_edited(self, key, text: str) -> None:
        if not key:
            return
        doc_id, n = key
        s = self.sessions.get(doc_id)
        if s is None or n in s.streaming:
            return
        s.set_markdown(n, text)
        error = self.documents.save_edit(s, n, text) if n in s.edited else None
        if error:
            self.notice.show_error(error)
        self.view.mark_page(s, n)
        self.view.tables_dirty = True
        if s is self.current and s.current_page == n:
            self.markdown.set_info(result_info(s.results.get(n), True))
            if self.right_tabs.currentIndex() == TAB_TABLES:
                self.view.refresh_tables()
        self._update_actions()

    @Slot()
    def toggle_source(self) -> None:
        self.right_tabs.setCurrentIndex(TAB_MARKDOWN)
        self.markdown.set_source_mode(not self.markdown.source_mode)

    @Slot()
    def copy_markdown(self) -> None:
        self.markdown.copy()
        self.status.showMessage("Copied the page's Markdown.", 3000)

    @Slot()
    def focus_question(self) -> None:
        self.right_tabs.setCurrentIndex(TAB_ASK)
        self.ask.question.setFocus()

    # ------------------------------------------------------------------------------------------------------------------
    # running the model
    # ------------------------------------------------------------------------------------------------------------------
    @Slot()
    def parse_current_page(self) -> int:
        s = self.current
        if s is None:
            return 0
        n = s.current_page
        if s.is_parsed(n):
            self.status.showMessage(
                f"Page {n} is already parsed (Model > Parse Page Again runs it again).", 5000
            )
            return 0
        if self.documents.page_queued(s, n):
            return 0
        return self._submit_parse(s, [n])

    @Slot()
    def parse_all_pages(self) -> int:
        s = self.current
        if s is None:
            return 0
        pages = [n for n in s.unparsed() if not self.documents.page_queued(s, n)]
        if not pages:
            self.status.showMessage("Every page is parsed already.", 5000)
            return 0
        job = self._submit_parse(s, pages)
        self.documents.follow_job = job
        return job

    @Slot()
    def reparse_current_page(self) -> int:
        s = self.current
        n = s.current_page if s is not None else 0
        if s is None or self.documents.page_queued(s, n):
            return 0
        if n in s.edited and not (confirm_replace_edit(self, n) and self.revert_current_edit()):
            return 0
        return self._submit_parse(s, [n], use_cache=False)

    @Slot()
    def revert_current_edit(self) -> bool:
        s = self.current
        if s is None or s.current_page not in s.edited:
            return False
        self.markdown.flush_edit()
        error = self.documents.revert_edit(s, s.current_page)
        if error:
            self.notice.show_error(error)
        self._show_page()
        return not error

    def _submit_parse(self, s: DocumentSession, pages: list[int], *, use_cache: bool = True) -> int:
        job = self.documents.submit_parse(s, pages, use_cache=use_cache)
        if job:
            self.status.showMessage(
                f"Queued page {pages[0]}" if len(pages) == 1 else f"Queued {len(pages)} pages", 3000
            )
        self._update_actions()
        return job

    @Slot(str, str)
    def ask_question(self, question: str, scope: ChatScope | str) -> int:
        s = self.current
        if s is None:
            self.notice.show_info("Open a document first, then ask about it.")
            return 0
        scope = ChatScope(scope)
        job = self.documents.submit_ask(s, question, scope)
        if self.ask.scope is not scope:
            self.ask.set_scope(scope)
        self.right_tabs.setCurrentIndex(TAB_ASK)
        self.view.refresh_ask()
        return job

    @Slot()
    def cancel(self) -> None:
        if self.host.busy:
            self.host.cancel()
            self.status.showMessage("Stopping… what the model wrote so far is kept.", 5000)

    # ------------------------------------------------------------------------------------------------------------------
    # settings, mode, export, camera
    # ------------------------------------------------------------------------------------------------------------------
    @Slot(str)
    def _mode_chosen(self, mode: str) -> None:
        if mode != self.settings.mode:
            self.settings.mode = mode
            self.models.unloaded()
            self.host.configure(self._engine_options())
            self.status.showMessage(f"Mode {mode}: the model reloads before the next page.", 5000)

    @Slot()
    def settings_dialog(self) -> None:
        from paperlens.core.models import default_model_dir

        before = self._engine_options()
        dialog = SettingsDialog(self.settings, str(default_model_dir()), self)
        if dialog.exec() != QDialog.DialogCode.Accepted:
            return
        dialog.apply()
        self.apply_settings(before)

    def apply_settings(self, before=None) -> None:
        """Push changed settings to the status bar and the model thread."""
        spec = self._engine_options()
        self.status.set_mode(self.settings.mode)
        if before is None or spec != before:
            self.models.unloaded()
            self.host.configure(spec)
            self.models.show_device()
            if before is None or spec.model_dir != before.model_dir:
                self.models.check_again()
        self._update_actions()  # a server to run the model on enables Parse without a model here
        self._sync_show_sources()  # "auto" follows where the model runs

    def toggle_show_sources(self) -> None:
        """View > Show Where Answers Come From: the user's own choice from now on, whichever engine runs."""
        self.settings.show_sources = "on" if self.act_show_sources.isChecked() else "off"
        self._sync_show_sources()

    def _sync_show_sources(self) -> None:
        on = self.settings.shows_sources
        self.act_show_sources.setChecked(on)
        self.view.show_sources = on
        self.view.refresh_ask()

    @Slot()
    def export_dialog(self) -> None:
        if self.current is not None:
            self.exporter.start(self.current)  # asks about pages not parsed yet, then where

    def export_to(self, result, fmt: str, path: Path) -> None:
        self.exporter.write(result, fmt, path)

    @Slot()
    def open_camera(self) -> None:
        from paperlens.gui.camera import CameraDialog

        factory = self._camera_factory or CameraDialog
        dialog = factory(self.settings, parent=self)
        dialog.pages_captured.connect(self._pages_captured)
        dialog.open()
        self._camera = dialog

    @Slot(object)
    def _pages_captured(self, images: list) -> None:
        if images:
            session = self.add_captured_pages(images)
            self.status.showMessage(
                f"Added {len(images)} captured page{'s' if len(images) != 1 else ''} to {session.title}.",
                6000,
            )

    @Slot()
    def about(self) -> None:
        from paperlens import __version__
        from paperlens.core.models import OFFICIAL_URL

        self.notice.show_info(
            f"{APP_NAME} {__version__}: an offline document scanner built on MiniCPM-V 4.6 ({OFFICIAL_URL}) "
            "and llama.cpp. Nothing leaves this computer."
        )

    # ------------------------------------------------------------------------------------------------------------------
    # geometry and closing
    # ------------------------------------------------------------------------------------------------------------------
    def _restore_geometry(self) -> None:
        geometry = self.settings.geometry
        if geometry is not None and not geometry.isEmpty():
            self.restoreGeometry(geometry)
        else:
            self.resize(1280, 820)
        state = self.settings.splitter
        if state is not None and not state.isEmpty():
            self.splitter.restoreState(state)

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802
        """Cancel the model, wait for its thread (with a time limit), close documents, remember the geometry."""
        if self.opener.busy:
            # Files are opening: their wait (a local event loop) ends first, and the window closes after it, from
            # the main loop, not inside that wait. What still opens is closed once open.
            self.opener.abandon()
            event.ignore()
            QTimer.singleShot(0, self.close)
            return
        self.markdown.flush_edit()
        for session in list(self.documents.sessions.values()):
            session.cancel_renders()  # the model thread must not wait for a slow page to end
        self.cache.stop()
        self.settings.geometry = self.saveGeometry()
        self.settings.splitter = self.splitter.saveState()
        self.settings.sync()
        self.host.shutdown(SHUTDOWN_TIMEOUT_MS)
        self.jobs.close(3000)
        self.documents.close_all()
        event.accept()

    @property
    def model_thread_stopped(self) -> bool:
        return not self.host.running
