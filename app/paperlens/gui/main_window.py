"""The main window: documents as tabs; pages on the left; Markdown, Tables and Ask on the right; model status below.

The window holds no results of its own: each open document is a `DocumentSession`, and the views are re-filled from
the current session whenever the document, the page or a result changes. All model work goes through `ModelHost`
(one thread, one engine); rendering, scanning the model folder and exporting go through `JobRunner` (a thread pool).
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PySide6.QtCore import QSize, Qt, QThreadPool, QTimer, QUrl, Slot
from PySide6.QtGui import (
    QAction,
    QCloseEvent,
    QDesktopServices,
    QDragEnterEvent,
    QDropEvent,
    QGuiApplication,
    QImage,
    QKeySequence,
)
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QMainWindow,
    QMenu,
    QProgressBar,
    QPushButton,
    QSplitter,
    QStackedWidget,
    QStyle,
    QTabBar,
    QTabWidget,
    QToolBar,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from paperlens import APP_NAME
from paperlens.core.errors import PaperLensError
from paperlens.core.page import Page
from paperlens.core.runs import Finish, PageResult
from paperlens.core.session import (
    DOCUMENT_SUFFIXES,
    IMAGE_SUFFIXES,
    ChatTurn,
    DocumentSession,
    OpenCancelled,
    expand_paths,
    image_session,
    open_session,
)
from paperlens.gui.ask_view import AskPane
from paperlens.gui.dialogs import PasswordDialog, SettingsDialog
from paperlens.gui.firstrun import ModelBanner
from paperlens.gui.jobs import JobRunner, pil_to_qimage, qimage_to_pil
from paperlens.gui.markdown_view import MarkdownPane
from paperlens.gui.notice import NoticeBar
from paperlens.gui.pages import (
    FAILED_MARK,
    PARSED_MARK,
    PARTIAL_MARK,
    THUMB_HEIGHT,
    THUMB_WIDTH,
    PageView,
    ThumbnailList,
)
from paperlens.gui.settings import MODES, Settings
from paperlens.gui.tables_view import TablesPane
from paperlens.gui.worker import (
    AskRequest,
    EngineFactory,
    JobOutcome,
    LibraryFactory,
    ModelHost,
    ParseRequest,
    real_engine_factory,
)

log = logging.getLogger(__name__)

TAB_MARKDOWN, TAB_TABLES, TAB_ASK = 0, 1, 2
FULL_IMAGE_CACHE = 4  # rendered page images (QImage) kept for quick switching back
SHUTDOWN_TIMEOUT_MS = 10_000


@dataclass
class ModelCheck:
    """What a look at the model folder found, for the banner and the status bar."""

    complete: bool
    message: str = ""
    text_model: str = ""
    folder: str = ""
    models: Any = None  # the ModelSet: its identity keys the cached results shown when a document is reopened


def default_model_check(settings_dir: str) -> ModelCheck:
    """Scan the model folder (reads GGUF headers: done on a pool thread)."""
    from paperlens.core.models import missing_models_message, resolve_model_dir, scan_model_dir

    folder = resolve_model_dir(None, settings_dir or None)
    found = scan_model_dir(folder)
    if found.complete:
        return ModelCheck(True, text_model=found.text.path.name, folder=str(folder), models=found)
    return ModelCheck(False, missing_models_message(found), folder=str(folder), models=found)


def format_eta(seconds: float | None) -> str:
    if seconds is None:
        return ""
    seconds = int(round(seconds))
    if seconds < 60:
        return f"about {seconds} s left"
    return f"about {seconds // 60} min {seconds % 60:02d} s left"


def result_info(result: PageResult | None, edited: bool) -> str:
    """The line above the Markdown: how the page's text came to be."""
    if result is None:
        return ""
    if result.error:
        return f"Failed: {result.error}"
    bits = []
    if edited:
        bits.append("edited by hand")
    if result.cached:
        bits.append("from the cache")
    elif result.stats.generated_tokens:
        s = result.stats
        bits.append(f"{s.generated_tokens} tokens in {s.wall_s:.1f} s")
        if s.image_tokens:
            bits.append(f"{s.image_tokens} image tokens ({s.mode})")
    if result.finish == Finish.CANCELLED:
        bits.append("stopped: partial text")
    elif result.finish == Finish.LENGTH:
        bits.append("cut at the length limit")
    elif result.finish == Finish.REPETITION:
        bits.append("a repeating loop was cut")
    return " · ".join(bits)


@dataclass
class _Job:
    kind: str
    doc_id: str
    turn: ChatTurn | None = None
    pages: tuple[int, ...] = ()


class MainWindow(QMainWindow):
    """PaperLens's window. Tests pass a fake `engine_factory` and a throw-away `settings`."""

    def __init__(
        self,
        settings: Settings | None = None,
        *,
        engine_factory: EngineFactory | None = None,
        library_factory: LibraryFactory | None = None,
        model_check: Callable[[str], ModelCheck] | None = default_model_check,
        n_ctx: int = 8192,
        max_tokens: int = 4096,
        camera_factory: Callable[..., Any] | None = None,
    ) -> None:
        super().__init__()
        self.settings = settings or Settings()
        self._n_ctx = n_ctx
        self._max_tokens = max_tokens
        self._model_check = model_check
        self._camera_factory = camera_factory
        self._real_engine = engine_factory is None or engine_factory is real_engine_factory
        self.setWindowTitle(APP_NAME)
        self.setAcceptDrops(True)
        self.sessions: dict[str, DocumentSession] = {}
        self._jobs: dict[int, _Job] = {}
        self._images: OrderedDict[tuple[str, int], QImage] = OrderedDict()
        self._render_pending: set[tuple[str, int]] = set()
        self._thumb_queue: list[tuple[str, int]] = []
        self._thumb_busy = False
        self._follow_job = 0
        self._selecting = False
        self._tables_dirty = True
        self._model_ok: bool | None = None
        self._models = None  # ModelSet from the last look at the model folder
        self._library = None
        self._restore_waiting: list[str] = []
        self._engine_info = None
        self._engine_failure = ""
        self._pasted = 0
        self._closing = False
        self.ask_password: Callable[[str, str], str | None] = self._ask_password_dialog

        pool = QThreadPool(self)
        pool.setMaxThreadCount(2)  # leave the other cores to the model
        self.jobs = JobRunner(pool, self)
        self.host = ModelHost(engine_factory, library_factory, self)
        self._connect_host()

        self._build_actions()
        self._build_menus()
        self._build_toolbar()
        self._build_central()
        self._build_statusbar()
        self._update_actions()
        self._restore_geometry()
        self.host.configure(self._engine_spec())
        self.check_models()
        from paperlens.gui.markdown_view import warm_up

        self.jobs.submit(warm_up)

    # ------------------------------------------------------------------------------------------------------------------
    # building
    # ------------------------------------------------------------------------------------------------------------------
    def _action(
        self, text: str, slot, shortcut=None, tip: str = "", icon: QStyle.StandardPixmap | None = None
    ) -> QAction:
        action = QAction(text, self)
        if shortcut is not None:
            action.setShortcut(QKeySequence(shortcut))
        if tip:
            action.setStatusTip(tip)
            action.setToolTip(
                f"{tip} ({action.shortcut().toString(QKeySequence.SequenceFormat.NativeText)})"
                if shortcut is not None
                else tip
            )
        if icon is not None:
            action.setIcon(self.style().standardIcon(icon))
        action.triggered.connect(slot)
        self.addAction(action)
        return action

    def _build_actions(self) -> None:
        sp = QStyle.StandardPixmap
        self.act_open = self._action(
            "&Open…",
            self.open_dialog,
            QKeySequence.StandardKey.Open,
            "Open PDFs or images",
            sp.SP_DialogOpenButton,
        )
        self.act_camera = self._action(
            "&Camera…",
            self.open_camera,
            "Ctrl+Shift+O",
            "Capture pages with a camera (or a video file)",
            sp.SP_ComputerIcon,
        )
        self.act_paste = self._action(
            "&Paste Image",
            self.paste,
            QKeySequence.StandardKey.Paste,
            "Open the image on the clipboard as a document",
        )
        self.act_export = self._action(
            "&Export…",
            self.export_dialog,
            "Ctrl+Shift+E",
            "Save the parsed pages as Markdown, HTML, DOCX, XLSX, ...",
            sp.SP_DialogSaveButton,
        )
        self.act_close_doc = self._action(
            "&Close Document", self.close_current_document, "Ctrl+W", "Close the current document"
        )
        self.act_quit = self._action("&Quit", self.close, "Ctrl+Q", "Quit PaperLens")
        self.act_settings = self._action(
            "&Settings…",
            self.settings_dialog,
            QKeySequence.StandardKey.Preferences,
            "Model folder, mode, device, threads, DPI",
        )
        if self.act_settings.shortcut().isEmpty():
            self.act_settings.setShortcut(QKeySequence("Ctrl+,"))
        self.act_parse_page = self._action(
            "Parse &Page",
            self.parse_current_page,
            "Ctrl+R",
            "Turn the current page into Markdown",
            sp.SP_MediaPlay,
        )
        self.act_parse_all = self._action(
            "Parse &All Pages",
            self.parse_all_pages,
            "Ctrl+Shift+R",
            "Turn every page not yet parsed into Markdown",
            sp.SP_MediaSeekForward,
        )
        self.act_reparse = self._action(
            "Parse Page &Again",
            self.reparse_current_page,
            None,
            "Run the model on the current page again, ignoring the saved result",
        )
        self.act_cancel = self._action(
            "&Stop",
            self.cancel,
            QKeySequence(Qt.Key.Key_Escape),
            "Stop the model (keeps what it wrote)",
            sp.SP_MediaStop,
        )
        self.act_copy_md = self._action(
            "Copy Page &Markdown", self.copy_markdown, "Ctrl+Shift+C", "Copy the current page's Markdown"
        )
        self.act_toggle_source = self._action(
            "&Edit Markdown Source",
            self.toggle_source,
            "Ctrl+E",
            "Switch between rendered Markdown and its editable source",
        )
        self.act_ask = self._action(
            "As&k…", self.focus_question, "Ctrl+L", "Ask a question about the page or document"
        )
        self.act_prev = self._action(
            "&Previous Page", self.previous_page, "Alt+Left", "Previous page", sp.SP_ArrowBack
        )
        self.act_next = self._action(
            "&Next Page", self.next_page, "Alt+Right", "Next page", sp.SP_ArrowForward
        )
        self.act_zoom_in = self._action("Zoom &In", self._zoom_in, QKeySequence.StandardKey.ZoomIn, "Zoom in")
        self.act_zoom_out = self._action(
            "Zoom &Out", self._zoom_out, QKeySequence.StandardKey.ZoomOut, "Zoom out"
        )
        self.act_fit_width = self._action(
            "Fit &Width", self._fit_width, "Ctrl+0", "Fit the page to the view's width"
        )
        self.act_fit_page = self._action("Fit &Page", self._fit_page, "Ctrl+9", "Show the whole page")
        self.act_tab_md = self._action(
            "&Markdown", lambda: self.right_tabs.setCurrentIndex(TAB_MARKDOWN), "Ctrl+1"
        )
        self.act_tab_tables = self._action(
            "&Tables", lambda: self.right_tabs.setCurrentIndex(TAB_TABLES), "Ctrl+2"
        )
        self.act_tab_ask = self._action("As&k", lambda: self.right_tabs.setCurrentIndex(TAB_ASK), "Ctrl+3")
        self.act_load_model = self._action(
            "&Load Model Now",
            self.host_preload,
            None,
            "Load the model in the background so the first page starts sooner",
        )
        self.act_open_models = self._action(
            "Open Model &Folder",
            self.open_model_folder,
            None,
            "Open the folder PaperLens reads the model from",
        )
        self.act_about = self._action("&About PaperLens", self.about, None)

    def _build_menus(self) -> None:
        bar = self.menuBar()
        m = bar.addMenu("&File")
        m.addAction(self.act_open)
        self.recent_menu = QMenu("Open &Recent", self)
        self.recent_menu.aboutToShow.connect(self._fill_recent_menu)
        m.addMenu(self.recent_menu)
        m.addAction(self.act_camera)
        m.addAction(self.act_paste)
        m.addSeparator()
        m.addAction(self.act_export)
        m.addSeparator()
        m.addAction(self.act_close_doc)
        m.addAction(self.act_quit)
        m = bar.addMenu("&Edit")
        m.addAction(self.act_copy_md)
        m.addAction(self.act_toggle_source)
        m.addSeparator()
        m.addAction(self.act_settings)
        m = bar.addMenu("&View")
        for a in (
            self.act_prev,
            self.act_next,
            None,
            self.act_zoom_in,
            self.act_zoom_out,
            self.act_fit_width,
            self.act_fit_page,
            None,
            self.act_tab_md,
            self.act_tab_tables,
            self.act_tab_ask,
        ):
            m.addSeparator() if a is None else m.addAction(a)
        m = bar.addMenu("&Model")
        for a in (
            self.act_parse_page,
            self.act_parse_all,
            self.act_reparse,
            self.act_cancel,
            None,
            self.act_ask,
            None,
            self.act_load_model,
            self.act_open_models,
        ):
            m.addSeparator() if a is None else m.addAction(a)
        m = bar.addMenu("&Help")
        m.addAction(self.act_about)

    def _build_toolbar(self) -> None:
        tb = QToolBar("Main", self)
        tb.setObjectName("mainToolbar")
        tb.setMovable(False)
        tb.setIconSize(QSize(18, 18))
        tb.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        for a in (
            self.act_open,
            self.act_camera,
            None,
            self.act_parse_page,
            self.act_parse_all,
            self.act_cancel,
            None,
            self.act_prev,
            self.act_next,
            None,
            self.act_export,
        ):
            tb.addSeparator() if a is None else tb.addAction(a)
        self.addToolBar(tb)
        self.toolbar = tb

    def _build_central(self) -> None:
        self.banner = ModelBanner()
        self.banner.open_folder.connect(self.open_model_folder)
        self.banner.choose_folder.connect(self.choose_model_folder)
        self.banner.check_again.connect(self.check_again)
        self.banner.open_settings.connect(self.settings_dialog)
        self.notice = NoticeBar()

        self.doc_tabs = QTabBar()
        self.doc_tabs.setTabsClosable(True)
        self.doc_tabs.setMovable(True)
        self.doc_tabs.setDocumentMode(True)
        self.doc_tabs.setExpanding(False)
        self.doc_tabs.currentChanged.connect(self._doc_tab_changed)
        self.doc_tabs.tabCloseRequested.connect(self._doc_tab_close)

        self.thumbs = ThumbnailList()
        self.thumbs.page_selected.connect(self._page_selected)
        self.page_view = PageView()
        self.markdown = MarkdownPane()
        self.markdown.edited.connect(self._markdown_edited)
        self.tables = TablesPane()
        self.ask = AskPane()
        self.ask.ask_requested.connect(self.ask_question)
        self.ask.scope_changed.connect(self._refresh_ask)
        self.right_tabs = QTabWidget()
        self.right_tabs.addTab(self.markdown, "Markdown")
        self.right_tabs.addTab(self.tables, "Tables")
        self.right_tabs.addTab(self.ask, "Ask")
        self.right_tabs.currentChanged.connect(self._right_tab_changed)

        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.setObjectName("mainSplitter")
        self.splitter.addWidget(self.thumbs)
        self.splitter.addWidget(self.page_view)
        self.splitter.addWidget(self.right_tabs)
        self.splitter.setStretchFactor(0, 0)
        self.splitter.setStretchFactor(1, 1)
        self.splitter.setStretchFactor(2, 1)
        self.splitter.setCollapsible(1, False)
        self.splitter.setCollapsible(2, False)
        self.splitter.setSizes([THUMB_WIDTH + 50, 560, 560])

        self.empty = self._build_empty_panel()
        self.stack = QStackedWidget()
        self.stack.addWidget(self.empty)
        self.stack.addWidget(self.splitter)

        central = QWidget()
        layout = QVBoxLayout(central)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.banner)
        layout.addWidget(self.notice)
        layout.addWidget(self.doc_tabs)
        layout.addWidget(self.stack, 1)
        self.setCentralWidget(central)
        self.doc_tabs.hide()

    def _build_empty_panel(self) -> QWidget:
        panel = QWidget()
        title = QLabel(f"<h2>{APP_NAME}</h2>")
        title.setAlignment(Qt.AlignmentFlag.AlignCenter)
        hint = QLabel(
            "Open a PDF or an image, drop files or folders here, paste an image (Ctrl+V),<br/>"
            "or capture pages with a camera. Everything runs on this computer."
        )
        hint.setAlignment(Qt.AlignmentFlag.AlignCenter)
        hint.setWordWrap(True)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        for text, slot in (
            ("Open…", self.open_dialog),
            ("Camera…", self.open_camera),
            ("Paste Image", self.paste),
        ):
            b = QPushButton(text)
            b.clicked.connect(slot)
            b.setMinimumWidth(120)
            buttons.addWidget(b)
        buttons.addStretch(1)
        self.recent_label = QLabel("<b>Recent documents</b>")
        self.recent_list = QListWidget()
        self.recent_list.setMaximumWidth(640)
        self.recent_list.setMaximumHeight(220)
        self.recent_list.setSpacing(3)
        self.recent_list.itemActivated.connect(self._recent_activated)
        self.recent_list.itemClicked.connect(self._recent_activated)
        recent = QVBoxLayout()
        recent.addWidget(self.recent_label)
        recent.addWidget(self.recent_list)
        recent_row = QHBoxLayout()
        recent_row.addStretch(1)
        recent_row.addLayout(recent, 3)
        recent_row.addStretch(1)
        layout = QVBoxLayout(panel)
        layout.addStretch(2)
        layout.addWidget(title)
        layout.addWidget(hint)
        layout.addSpacing(12)
        layout.addLayout(buttons)
        layout.addSpacing(24)
        layout.addLayout(recent_row)
        layout.addStretch(3)
        self._fill_recent_list()
        return panel

    def _build_statusbar(self) -> None:
        sb = self.statusBar()
        self.progress = QProgressBar()
        self.progress.setMaximumWidth(180)
        self.progress.setTextVisible(True)
        self.progress.hide()
        self.eta_label = QLabel()
        self.cancel_button = QToolButton()
        self.cancel_button.setDefaultAction(self.act_cancel)
        self.cancel_button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
        self.cancel_button.hide()
        self.model_label = QLabel("Model: checking…")
        self.mode_box = QComboBox()
        for m in MODES:
            self.mode_box.addItem(m, m)
        self.mode_box.setToolTip(
            "4x: dense OCR, best for small print. 16x: about 3x faster, for plain pages."
        )
        self.mode_box.setCurrentIndex(max(0, self.mode_box.findData(self.settings.mode)))
        self.mode_box.currentIndexChanged.connect(self._mode_changed)
        self.device_label = QLabel()
        self._set_device_label()
        sb.addPermanentWidget(self.progress)
        sb.addPermanentWidget(self.eta_label)
        sb.addPermanentWidget(self.cancel_button)
        sb.addPermanentWidget(self.model_label)
        sb.addPermanentWidget(QLabel("Mode:"))
        sb.addPermanentWidget(self.mode_box)
        sb.addPermanentWidget(self.device_label)

    def _connect_host(self) -> None:
        h = self.host
        h.loading.connect(self._on_loading)
        h.engine_ready.connect(self._on_engine_ready)
        h.engine_failed.connect(self._on_engine_failed)
        h.page_started.connect(self._on_page_started)
        h.page_done.connect(self._on_page_done)
        h.progress.connect(self._on_progress)
        h.finished.connect(self._on_job_finished)
        h.text.connect(self._on_text)
        h.busy_changed.connect(self._on_busy_changed)
        h.library_ready.connect(self._on_library_ready)

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

    def _engine_spec(self):
        return self.settings.engine_spec(n_ctx=self._n_ctx, max_tokens=self._max_tokens)

    def _update_actions(self) -> None:
        s = self.current
        has_doc = s is not None
        busy = self.host.busy
        for a in (
            self.act_parse_page,
            self.act_parse_all,
            self.act_reparse,
            self.act_close_doc,
            self.act_prev,
            self.act_next,
            self.act_zoom_in,
            self.act_zoom_out,
            self.act_fit_width,
            self.act_fit_page,
            self.act_copy_md,
            self.act_toggle_source,
        ):
            a.setEnabled(has_doc)
        self.act_export.setEnabled(has_doc and any(r.ok for r in s.results.values()))
        self.act_cancel.setEnabled(busy)
        self.cancel_button.setVisible(busy)
        if has_doc:
            self.act_prev.setEnabled(s.current_page > 1)
            self.act_next.setEnabled(s.current_page < s.page_count)

    def _model_unloaded(self) -> None:
        """The settings changed: the engine is dropped and loads again (with the new settings) on the next run."""
        if self._engine_info is not None:
            self.model_label.setText(f"Model: {self._engine_info.text_model} (not loaded)")
        self._engine_info = None
        self._set_device_label()

    def _set_device_label(self) -> None:
        info = self._engine_info
        if info is not None:
            dev = "GPU" if info.device == "gpu" else f"CPU, {info.n_threads} threads"
        else:
            dev = {"auto": "auto", "cpu": "CPU", "gpu": "GPU"}.get(self.settings.device, self.settings.device)
        self.device_label.setText(f"Device: {dev}")

    # ------------------------------------------------------------------------------------------------------------------
    # the model folder
    # ------------------------------------------------------------------------------------------------------------------
    def check_models(self) -> None:
        """Look at the model folder in the background; the banner explains what is missing."""
        if self._model_check is None:
            self._model_ok = True
            self.model_label.setText("Model: not loaded")
            return
        check = self._model_check
        folder = self.settings.model_dir
        self.jobs.submit(lambda: check(folder), self._models_checked, self._models_check_failed)

    def _models_checked(self, result: ModelCheck) -> None:
        self._model_ok = result.complete
        self._models = result.models
        self._restore_pending()
        if result.complete and self._real_engine:
            self.host.preimport()
        if result.complete:
            if self.banner.kind == "missing":
                self.banner.clear()
            if self._engine_info is None:
                self.model_label.setText(f"Model: {result.text_model} (not loaded)")
        else:
            from paperlens.core.models import OFFICIAL_URL

            self.model_label.setText("Model: not installed")
            self.banner.show_missing(result.message, OFFICIAL_URL)

    def _models_check_failed(self, message: str) -> None:
        self.model_label.setText("Model: unknown")
        self.banner.show_failure(message)

    def model_folder(self) -> Path:
        from paperlens.core.models import resolve_model_dir

        return resolve_model_dir(None, self.settings.model_dir or None)

    @Slot()
    def open_model_folder(self) -> None:
        folder = self.model_folder()
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            self.notice.show_error(f"Cannot create the model folder {folder} ({exc.strerror}).")
            return
        QDesktopServices.openUrl(QUrl.fromLocalFile(str(folder)))
        self.statusBar().showMessage(f"Model folder: {folder}", 8000)

    @Slot()
    def choose_model_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(
            self, "Folder with the model files", str(self.model_folder())
        )
        if folder:
            self.settings.model_dir = folder
            self.host.configure(self._engine_spec())
            self.check_again()

    @Slot()
    def check_again(self) -> None:
        self.host.reload()
        self._engine_info = None
        self.banner.clear()
        self.model_label.setText("Model: checking…")
        self.check_models()

    @Slot()
    def host_preload(self) -> None:
        self.host.preload()

    # ------------------------------------------------------------------------------------------------------------------
    # opening documents
    # ------------------------------------------------------------------------------------------------------------------
    @Slot()
    def open_dialog(self) -> None:
        suffixes = " ".join(f"*{s}" for s in sorted(DOCUMENT_SUFFIXES | IMAGE_SUFFIXES))
        start = (
            str(Path(self.settings.recent_files[0]).parent)
            if self.settings.recent_files
            else str(Path.home())
        )
        paths, _ = QFileDialog.getOpenFileNames(
            self, "Open documents", start, f"Documents and images ({suffixes});;All files (*)"
        )
        if paths:
            self.open_paths(paths)

    def _ask_password_dialog(self, name: str, reason: str) -> str | None:
        dialog = PasswordDialog(name, reason, self)
        return dialog.password if dialog.exec() == QDialog.DialogCode.Accepted else None

    def open_paths(self, paths: list[str | Path]) -> list[DocumentSession]:
        """Open files and folders; each that fails shows its reason and the others (and open documents) stay."""
        opened: list[DocumentSession] = []
        errors: list[str] = []
        for group in expand_paths(paths):
            name = group[0].name if len(group) == 1 else group[0].parent.name
            try:
                session = open_session(group, dpi=self.settings.dpi or None, ask_password=self.ask_password)
            except OpenCancelled:
                continue
            except PaperLensError as exc:
                errors.append(f"{name}: {exc}")
                continue
            except Exception as exc:  # a library's own error type: still the file's fault, still one sentence
                log.exception("opening %s failed", name)
                errors.append(f"{name} could not be opened ({type(exc).__name__}: {exc}).")
                continue
            recent = str(group[0]) if len(group) == 1 else str(group[0].parent)
            self.settings.add_recent(str(Path(recent).resolve()))
            self.add_session(session)
            opened.append(session)
            for warning in session.warnings:
                self.notice.show_info(warning)
        if errors:
            for e in errors:
                self.notice.show_error(e)
            self.statusBar().showMessage(errors[-1], 10_000)
        self._fill_recent_list()
        return opened

    def add_session(self, session: DocumentSession) -> None:
        self.sessions[session.id] = session
        self.doc_tabs.show()
        index = self.doc_tabs.addTab(session.title)
        self.doc_tabs.setTabData(index, session.id)
        self.doc_tabs.setTabToolTip(index, session.path or session.title)
        self.doc_tabs.setCurrentIndex(index)
        self.stack.setCurrentWidget(self.splitter)
        self._show_session()
        for n in range(1, session.page_count + 1):
            self._thumb_queue.append((session.id, n))
        self._next_thumbnail()
        if session.path:
            self._restore_waiting.append(session.id)
            self._restore_pending()

    # results kept from earlier sessions
    @Slot(object)
    def _on_library_ready(self, library) -> None:
        self._library = library
        notice = getattr(library, "notice", None)
        if notice:
            self.notice.show_info(notice)
        self._restore_pending()

    def _restore_pending(self) -> None:
        """Show what the library remembers of reopened documents (parsed pages, questions) without running anything.

        Waits until both the library and the model folder's identity are known: results are keyed by the model.
        """
        if self._library is None or self._models is None or not getattr(self._models, "complete", False):
            return
        waiting, self._restore_waiting = self._restore_waiting, []
        for doc_id in waiting:
            s = self.sessions.get(doc_id)
            if s is not None:
                self._restore_from_library(s)

    def _restore_from_library(self, s: DocumentSession) -> None:
        from paperlens.core.prompts import parse_task

        lib, models, mode = self._library, self._models, self.settings.mode
        path, count, title = s.path, s.page_count, s.title
        task = parse_task().cache_name

        def work():
            lib.add_document(path, count, title=title)
            results = lib.page_results(path, models.identity(mode), mode, task, include_partial=True)
            return results, lib.qa_history(path)

        def done(value) -> None:
            results, history = value
            if s.closed:
                return
            for n, run in results.items():
                if 1 <= n <= s.page_count and n not in s.results and n not in s.streaming:
                    s.results[n] = PageResult(n, run.text, run.finish, run.stats, cached=True)
            for rec in history:
                scope = "document" if rec.page is None else "page"
                chat = s.chat(scope, rec.page)
                if any(t.question == rec.question and t.answer == rec.answer for t in chat):
                    continue
                from paperlens.core.runs import RunStats

                chat.append(
                    ChatTurn(
                        rec.question,
                        scope,
                        rec.page,
                        rec.answer,
                        list(rec.pages_used),
                        Finish.STOP,
                        stats=RunStats.from_dict(rec.stats or {}),
                    )
                )
            if results or history:
                if s is self.current:
                    self._show_session()
                self.statusBar().showMessage(
                    f"{s.title}: {len(results)} page(s) parsed earlier"
                    + (f", {len(history)} earlier question(s)" if history else ""),
                    6000,
                )

        self.jobs.submit(work, done, lambda msg: log.info("library lookup failed: %s", msg))

    @Slot()
    def paste(self) -> None:
        """Open the clipboard's image (a screenshot, a copied photo) or the files copied in a file manager."""
        mime = QGuiApplication.clipboard().mimeData()
        if mime is not None and mime.hasImage():
            image = QGuiApplication.clipboard().image()
            if not image.isNull():
                self.open_image(qimage_to_pil(image), "Pasted image")
                return
        if mime is not None and mime.hasUrls():
            files = [u.toLocalFile() for u in mime.urls() if u.isLocalFile()]
            if files:
                self.open_paths(files)
                return
        self.statusBar().showMessage("The clipboard holds no image.", 5000)

    def open_image(self, image, title: str) -> DocumentSession:
        self._pasted += 1
        name = title if self._pasted == 1 else f"{title} {self._pasted}"
        session = image_session(Page(image=image, source=name), name, kind="image")
        self.add_session(session)
        return session

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
        self.thumbs.set_pages(session.page_count, session.current_page)
        for n in range(1, session.page_count + 1):
            self._mark_page(session, n)
            if n in session.thumbnails:
                self.thumbs.set_thumbnail(n, session.thumbnails[n])
        for n in range(first_new, session.page_count + 1):
            self._thumb_queue.append((session.id, n))
        self._next_thumbnail()
        self.select_page(first_new)
        return session

    # drag and drop
    def dragEnterEvent(self, event: QDragEnterEvent) -> None:  # noqa: N802
        mime = event.mimeData()
        if mime.hasUrls() and any(u.isLocalFile() for u in mime.urls()) or mime.hasImage():
            event.acceptProposedAction()
        else:
            event.ignore()

    def dropEvent(self, event: QDropEvent) -> None:  # noqa: N802
        mime = event.mimeData()
        files = [u.toLocalFile() for u in mime.urls() if u.isLocalFile()] if mime.hasUrls() else []
        event.acceptProposedAction()
        if files:
            # Open after the drop returns: a password dialog inside a drop handler blocks the source application.
            QTimer.singleShot(0, lambda: self.open_paths(files))
        elif mime.hasImage():
            image = QImage(mime.imageData())
            if not image.isNull():
                self.open_image(qimage_to_pil(image), "Dropped image")

    # recent files
    def _fill_recent_menu(self) -> None:
        self.recent_menu.clear()
        recent = self.settings.recent_files
        if not recent:
            a = self.recent_menu.addAction("No recent documents")
            a.setEnabled(False)
            return
        for i, path in enumerate(recent):
            a = self.recent_menu.addAction(f"&{i + 1} {Path(path).name}" if i < 9 else Path(path).name)
            a.setToolTip(path)
            a.triggered.connect(lambda _checked=False, p=path: self.open_recent(p))
        self.recent_menu.addSeparator()
        self.recent_menu.addAction("Clear List", self._clear_recent)

    def _fill_recent_list(self) -> None:
        self.recent_list.clear()
        for path in self.settings.recent_files:
            item = QListWidgetItem(f"{Path(path).name}    —    {Path(path).parent}")
            item.setData(Qt.ItemDataRole.UserRole, path)
            item.setToolTip(path)
            self.recent_list.addItem(item)
        visible = self.recent_list.count() > 0
        self.recent_label.setVisible(visible)
        self.recent_list.setVisible(visible)

    def _recent_activated(self, item: QListWidgetItem) -> None:
        self.open_recent(item.data(Qt.ItemDataRole.UserRole))

    def open_recent(self, path: str) -> None:
        if not Path(path).exists():
            self.notice.show_error(
                f"{Path(path).name} is no longer at {Path(path).parent}; removed from the list."
            )
            self.settings.remove_recent(path)
            self._fill_recent_list()
            return
        self.open_paths([path])

    def _clear_recent(self) -> None:
        self.settings.recent_files = []
        self._fill_recent_list()

    # closing documents
    @Slot()
    def close_current_document(self) -> None:
        if self.doc_tabs.currentIndex() >= 0:
            self._doc_tab_close(self.doc_tabs.currentIndex())

    @Slot(int)
    def _doc_tab_close(self, index: int) -> None:
        doc_id = self.doc_tabs.tabData(index)
        session = self.sessions.pop(doc_id, None)
        self.host.cancel_document(doc_id)
        self.doc_tabs.removeTab(index)
        for key in [k for k in self._images if k[0] == doc_id]:
            del self._images[key]
        self._thumb_queue = [k for k in self._thumb_queue if k[0] != doc_id]
        if session is not None:
            session.close()
        if not self.sessions:
            self.doc_tabs.hide()
            self.stack.setCurrentWidget(self.empty)
            self._fill_recent_list()
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
            self.thumbs.set_pages(0)
            self.page_view.set_image(None)
            self.markdown.show_text("", key=None)
            self.tables.show_markdown("")
            self.ask.show_turns([])
            return
        self.setWindowTitle(f"{s.title} — {APP_NAME}")
        self.thumbs.set_pages(s.page_count, s.current_page)
        for n in range(1, s.page_count + 1):
            self._mark_page(s, n)
            image = s.thumbnails.get(n)
            if image is not None:
                self.thumbs.set_thumbnail(n, image)
        self._show_page()

    @Slot(int)
    def _page_selected(self, number: int) -> None:
        s = self.current
        if s is None or number == s.current_page:
            return
        s.current_page = number
        if not self._selecting:
            self._follow_job = 0  # the user looked elsewhere: stop following the batch
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
        s = self.current
        self._update_actions()
        if s is None:
            return
        n = s.current_page
        key = (s.id, n)
        image = self._images.get(key)
        if image is not None:
            self._images.move_to_end(key)
            self.page_view.set_image(image)
        else:
            self.page_view.set_message(f"Rendering page {n}…")
            self._render_page(s, n)
        self._refresh_markdown()
        self._tables_dirty = True
        if self.right_tabs.currentIndex() == TAB_TABLES:
            self._refresh_tables()
        self._refresh_ask()

    def _refresh_markdown(self) -> None:
        s = self.current
        if s is None:
            return
        n = s.current_page
        streaming = n in s.streaming
        text = s.markdown(n)
        if streaming:
            info = f"Reading page {n}… {len(text):,} characters so far"
        else:
            info = result_info(s.results.get(n), n in s.edited)
        placeholder = (
            f"Page {n} is not parsed yet. Parse it with Ctrl+R, or every page with Ctrl+Shift+R."
            if n not in s.results
            else ""
        )
        self.markdown.show_text(text, key=(s.id, n), streaming=streaming, info=info, placeholder=placeholder)

    def _refresh_tables(self) -> None:
        s = self.current
        if s is None:
            self.tables.show_markdown("")
            return
        n = s.current_page
        empty = "No tables on this page." if n in s.results else f"Parse page {n} to see its tables."
        self.tables.show_markdown(s.markdown(n), empty_message=empty)
        self._tables_dirty = False

    @Slot(str)
    def _refresh_ask(self, *_args) -> None:
        s = self.current
        if s is None:
            self.ask.show_turns([])
            return
        scope = self.ask.scope
        n = s.current_page
        turns = s.chat(scope, n)
        if scope == "page":
            self.ask.set_context(f"Page {n}")
            hint = f"Ask anything about page {n}; the model looks at the page image itself."
        else:
            parsed = sum(1 for p in range(1, s.page_count + 1) if s.is_parsed(p))
            self.ask.set_context(f"{parsed} of {s.page_count} pages parsed")
            hint = (
                "Questions about the whole document are answered from the parsed text of its pages "
                "(or the PDF's own text for pages not parsed yet); the answer names the pages it used."
            )
        self.ask.show_turns(turns, empty_hint=hint)

    @Slot(int)
    def _right_tab_changed(self, index: int) -> None:
        if index == TAB_TABLES and self._tables_dirty:
            self._refresh_tables()
        elif index == TAB_ASK:
            self._refresh_ask()

    def _mark_page(self, s: DocumentSession, n: int) -> None:
        if s is not self.current:
            return
        r = s.results.get(n)
        if n in s.streaming:
            mark = PARTIAL_MARK
        elif r is None:
            mark = ""
        elif r.error:
            mark = FAILED_MARK
        elif s.is_parsed(n):
            mark = PARSED_MARK
        else:
            mark = PARTIAL_MARK
        self.thumbs.set_mark(n, mark)

    # rendering
    def _render_page(self, s: DocumentSession, n: int) -> None:
        key = (s.id, n)
        if key in self._render_pending:
            return
        self._render_pending.add(key)

        def work() -> QImage:
            return pil_to_qimage(s.display_page(n).image)

        def done(image: QImage) -> None:
            self._render_pending.discard(key)
            self._images[key] = image
            while len(self._images) > FULL_IMAGE_CACHE:
                self._images.popitem(last=False)
            cur = self.current
            if cur is s and cur.current_page == n:
                self.page_view.set_image(image)
            if n not in s.thumbnails:
                self._set_thumbnail(
                    s,
                    n,
                    image.scaled(
                        THUMB_WIDTH,
                        THUMB_HEIGHT,
                        Qt.AspectRatioMode.KeepAspectRatio,
                        Qt.TransformationMode.SmoothTransformation,
                    ),
                )

        def failed(message: str) -> None:
            self._render_pending.discard(key)
            cur = self.current
            if cur is s and cur.current_page == n:
                self.page_view.set_message(f"Page {n} cannot be shown: {message}")

        self.jobs.submit(work, done, failed)

    def _set_thumbnail(self, s: DocumentSession, n: int, image: QImage) -> None:
        s.thumbnails[n] = image
        if s is self.current:
            self.thumbs.set_thumbnail(n, image)

    def _next_thumbnail(self) -> None:
        """Thumbnails render one at a time so they never crowd out the page the user is looking at."""
        if self._thumb_busy or self._closing:
            return
        while self._thumb_queue:
            doc_id, n = self._thumb_queue.pop(0)
            s = self.sessions.get(doc_id)
            if s is None or n in s.thumbnails:
                continue
            self._thumb_busy = True

            def work(s=s, n=n) -> QImage:
                return pil_to_qimage(s.thumbnail(n, THUMB_HEIGHT)).scaled(
                    THUMB_WIDTH,
                    THUMB_HEIGHT,
                    Qt.AspectRatioMode.KeepAspectRatio,
                    Qt.TransformationMode.SmoothTransformation,
                )

            def done(image: QImage, s=s, n=n) -> None:
                self._thumb_busy = False
                if not s.closed:
                    self._set_thumbnail(s, n, image)
                self._next_thumbnail()

            def failed(_message: str) -> None:
                self._thumb_busy = False
                self._next_thumbnail()

            self.jobs.submit(work, done, failed)
            return

    # zoom
    def _zoom_in(self) -> None:
        self.page_view.zoom_in()

    def _zoom_out(self) -> None:
        self.page_view.zoom_out()

    def _fit_width(self) -> None:
        self.page_view.fit_width()

    def _fit_page(self) -> None:
        self.page_view.fit_page()

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
        self._mark_page(s, n)
        self._tables_dirty = True
        if s is self.current and s.current_page == n:
            self.markdown.set_info(result_info(s.results.get(n), True))
            if self.right_tabs.currentIndex() == TAB_TABLES:
                self._refresh_tables()
        self._update_actions()

    @Slot()
    def toggle_source(self) -> None:
        self.right_tabs.setCurrentIndex(TAB_MARKDOWN)
        self.markdown.set_source_mode(not self.markdown.source_mode)

    @Slot()
    def copy_markdown(self) -> None:
        self.markdown.copy()
        self.statusBar().showMessage("Copied the page's Markdown.", 3000)

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
            self.statusBar().showMessage(
                f"Page {n} is already parsed (Model > Parse Page Again runs it again).", 5000
            )
            return 0
        if self._page_queued(s, n):
            return 0
        return self._submit_parse(s, [n])

    @Slot()
    def parse_all_pages(self) -> int:
        s = self.current
        if s is None:
            return 0
        pages = [n for n in s.unparsed() if not self._page_queued(s, n)]
        if not pages:
            self.statusBar().showMessage("Every page is parsed already.", 5000)
            return 0
        job = self._submit_parse(s, pages)
        self._follow_job = job
        return job

    @Slot()
    def reparse_current_page(self) -> int:
        s = self.current
        if s is None or self._page_queued(s, s.current_page):
            return 0
        s.edited.discard(s.current_page)
        return self._submit_parse(s, [s.current_page], use_cache=False)

    def _page_queued(self, s: DocumentSession, n: int) -> bool:
        return any(j.kind == "parse" and j.doc_id == s.id and n in j.pages for j in self._jobs.values())

    def _submit_parse(self, s: DocumentSession, pages: list[int], *, use_cache: bool = True) -> int:
        req = ParseRequest(
            doc_id=s.id, pages=pages, load_page=s.page, source_name=s.path or "", use_cache=use_cache
        )
        job = self.host.submit(req)
        if job:
            self._jobs[job] = _Job("parse", s.id, pages=tuple(pages))
            self.statusBar().showMessage(
                f"Queued page {pages[0]}" if len(pages) == 1 else f"Queued {len(pages)} pages", 3000
            )
        self._update_actions()
        return job

    @Slot(str, str)
    def ask_question(self, question: str, scope: str) -> int:
        s = self.current
        if s is None:
            self.notice.show_info("Open a document first, then ask about it.")
            return 0
        n = s.current_page
        history = s.history(scope, n)
        turn = ChatTurn(question=question, scope=scope, page_no=n if scope == "page" else None)
        s.chat(scope, n).append(turn)
        req = AskRequest(
            doc_id=s.id,
            question=question,
            scope=scope,
            page_no=n if scope == "page" else None,
            load_page=s.page,
            document_texts=s.document_texts,
            history=history,
            source_name=s.path or "",
        )
        job = self.host.submit(req)
        self._jobs[job] = _Job("ask", s.id, turn=turn)
        if self.ask.scope != scope:
            self.ask.set_scope(scope)
        self.right_tabs.setCurrentIndex(TAB_ASK)
        self._refresh_ask()
        return job

    @Slot()
    def cancel(self) -> None:
        if self.host.busy:
            self.host.cancel()
            self.statusBar().showMessage("Stopping… what the model wrote so far is kept.", 5000)

    # host signals
    @Slot(str)
    def _on_loading(self, message: str) -> None:
        self.statusBar().showMessage(message)
        self.model_label.setText("Model: loading…")
        self.progress.setRange(0, 0)
        self.progress.show()

    @Slot(object)
    def _on_engine_ready(self, info) -> None:
        self._engine_info = info
        self._engine_failure = ""
        self.model_label.setText(f"Model: {info.text_model}")
        self.model_label.setToolTip(f"{info.text_model} + {info.projector} ({info.mode})")
        self._set_device_label()
        if self.banner.kind:
            self.banner.clear()
        self.statusBar().showMessage(f"Model loaded in {getattr(info, 'load_s', 0.0):.1f} s.", 4000)

    @Slot(str, str)
    def _on_engine_failed(self, message: str, kind: str) -> None:
        self._engine_failure = message
        self._engine_info = None
        self._set_device_label()
        if kind == "missing":
            from paperlens.core.models import OFFICIAL_URL

            self.model_label.setText("Model: not installed")
            self.banner.show_missing(message, OFFICIAL_URL)
        else:
            self.model_label.setText("Model: failed to load")
            self.banner.show_failure(message)

    @Slot(int, int)
    def _on_page_started(self, job: int, page: int) -> None:
        info = self._jobs.get(job)
        s = self.sessions.get(info.doc_id) if info else None
        if s is None:
            return
        s.streaming[page] = ""
        self._mark_page(s, page)
        if self._follow_job == job and s is self.current and s.current_page != page:
            self.select_page(page)
        elif s is self.current and s.current_page == page:
            self._refresh_markdown()

    @Slot(int, int, str)
    def _on_text(self, job: int, page: int, text: str) -> None:
        info = self._jobs.get(job)
        s = self.sessions.get(info.doc_id) if info else None
        if s is None:
            return
        if info.kind == "parse":
            s.streaming[page] = s.streaming.get(page, "") + text
            if s is self.current and s.current_page == page:
                self._refresh_markdown()
                if self.right_tabs.currentIndex() == TAB_TABLES:
                    self._tables_dirty = True
        elif info.turn is not None:
            info.turn.answer += text
            if s is self.current and self.right_tabs.currentIndex() == TAB_ASK:
                self._refresh_ask()

    @Slot(int, object)
    def _on_page_done(self, job: int, result: PageResult) -> None:
        info = self._jobs.get(job)
        s = self.sessions.get(info.doc_id) if info else None
        if s is None:
            return
        s.streaming.pop(result.page, None)
        keep = s.results.get(result.page)
        if not (
            result.finish == Finish.CANCELLED and not result.markdown and keep is not None and keep.markdown
        ):
            s.results[result.page] = result
            s.edited.discard(result.page)
        self._mark_page(s, result.page)
        if s is self.current and s.current_page == result.page:
            self._refresh_markdown()
            self._tables_dirty = True
            if self.right_tabs.currentIndex() == TAB_TABLES:
                self._refresh_tables()
        self._update_actions()

    @Slot(int, object)
    def _on_progress(self, job: int, p) -> None:
        if self.progress.maximum() == 0 and p.page is None and p.done == 0:
            return
        self.progress.setRange(0, max(1, p.total))
        self.progress.setValue(p.done)
        self.progress.setFormat(f"{p.done}/{p.total} pages")
        self.progress.show()
        self.eta_label.setText(format_eta(p.eta_s))
        if p.message:
            self.statusBar().showMessage(p.message)

    @Slot()
    def _on_busy_changed(self) -> None:
        if self.host.busy:
            self.progress.setRange(0, 0)
            self.progress.show()
        else:
            self.progress.hide()
            self.eta_label.clear()
        self._update_actions()

    @Slot(object)
    def _on_job_finished(self, outcome: JobOutcome) -> None:
        info = self._jobs.pop(outcome.job_id, None)
        if self._follow_job == outcome.job_id:
            self._follow_job = 0
        s = self.sessions.get(outcome.doc_id)
        if info is None:
            return
        if info.kind == "parse":
            if s is not None:
                for n in info.pages:
                    if n in s.streaming:  # cancelled before the page reported back
                        s.streaming.pop(n, None)
                        self._mark_page(s, n)
                if s is self.current:
                    self._refresh_markdown()
            self.statusBar().showMessage(self._parse_summary(outcome), 8000)
            if (
                outcome.error and outcome.error != self._engine_failure
            ):  # a load failure is in the banner already
                self.notice.show_error(outcome.error)
        elif info.turn is not None:
            turn = info.turn
            result = outcome.result
            if outcome.error:
                turn.error = outcome.error
                turn.finish = Finish.STOP
            elif result is not None:
                turn.answer = result.text or turn.answer
                turn.finish = result.finish
                turn.stats = result.stats
            else:
                turn.finish = Finish.CANCELLED
            if outcome.cancelled and turn.finish != Finish.CANCELLED and not outcome.error:
                turn.finish = Finish.CANCELLED
            turn.pages_used = list(outcome.pages_used)
            if s is self.current:
                self._refresh_ask()
        self._update_actions()

    @staticmethod
    def _parse_summary(outcome: JobOutcome) -> str:
        if outcome.error:
            return f"Stopped: {outcome.error}"
        result = outcome.result
        pages = result.pages if result is not None else []
        ran = sum(1 for p in pages if p.ok and not p.cached and p.finish != Finish.CANCELLED)
        cached = sum(1 for p in pages if p.cached)
        failed = sum(1 for p in pages if not p.ok)
        bits = []
        if ran:
            bits.append(f"parsed {ran} page{'s' if ran != 1 else ''} in {outcome.elapsed_s:.1f} s")
        if cached:
            bits.append(f"{cached} from the cache")
        if failed:
            bits.append(f"{failed} failed")
        if outcome.cancelled:
            bits.append("stopped; the text so far is kept")
        text = "; ".join(bits) or "nothing to do"
        return text[0].upper() + text[1:] + "."

    # ------------------------------------------------------------------------------------------------------------------
    # settings, mode, export, camera
    # ------------------------------------------------------------------------------------------------------------------
    @Slot(int)
    def _mode_changed(self, _index: int) -> None:
        mode = self.mode_box.currentData()
        if mode and mode != self.settings.mode:
            self.settings.mode = mode
            self._model_unloaded()
            self.host.configure(self._engine_spec())
            self.statusBar().showMessage(f"Mode {mode}: the model reloads before the next page.", 5000)

    @Slot()
    def settings_dialog(self) -> None:
        from paperlens.core.models import default_model_dir

        before = self._engine_spec()
        dialog = SettingsDialog(self.settings, str(default_model_dir()), self)
        if dialog.exec() != QDialog.DialogCode.Accepted:
            return
        dialog.apply()
        self.apply_settings(before)

    def apply_settings(self, before=None) -> None:
        """Push changed settings to the status bar and the model thread."""
        spec = self._engine_spec()
        self.mode_box.blockSignals(True)
        self.mode_box.setCurrentIndex(max(0, self.mode_box.findData(self.settings.mode)))
        self.mode_box.blockSignals(False)
        if before is None or spec != before:
            self._model_unloaded()
            self.host.configure(spec)
            self._set_device_label()
            if before is None or spec.model_dir != before.model_dir:
                self.check_again()

    @Slot()
    def export_dialog(self) -> None:
        s = self.current
        if s is None:
            return
        result = s.to_document_result()
        if not result.pages:
            self.notice.show_info("Nothing to export yet: parse some pages first.")
            return
        try:
            from paperlens.core import export
        except ImportError:
            self.notice.show_error("Exporting is not available in this installation.")
            return
        formats = list(getattr(export, "FORMATS", ("md",)))
        labels = {
            "md": "Markdown",
            "json": "JSON",
            "html": "HTML",
            "txt": "Plain text",
            "docx": "Word",
            "xlsx": "Excel (tables)",
            "csv": "CSV (tables)",
        }
        filters = [f"{labels.get(f, f.upper())} (*.{f})" for f in formats]
        base = Path(s.path).with_suffix("") if s.path else Path.home() / Path(s.title).stem
        path, chosen = QFileDialog.getSaveFileName(self, "Export", f"{base}.md", ";;".join(filters))
        if not path:
            return
        target = Path(path)
        # A typed extension wins over the filter; otherwise the filter's format decides and names the file.
        guess = getattr(export, "guess_format", lambda _p: None)(target)
        fmt = guess or (formats[filters.index(chosen)] if chosen in filters else "md")
        if guess is None:
            target = target.with_name(f"{target.name}.{fmt}")
        self.export_to(result, fmt, target)

    def export_to(self, result, fmt: str, path: Path) -> None:
        from paperlens.core import export

        def done(written) -> None:
            names = ", ".join(str(p) for p in (written or [path]))
            self.statusBar().showMessage(f"Wrote {names}", 8000)

        self.statusBar().showMessage(f"Exporting to {path.name}…")
        self.jobs.submit(
            lambda: export.export(result, fmt, path),
            done,
            lambda msg: self.notice.show_error(f"Export failed: {msg}"),
        )

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
            self.statusBar().showMessage(
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
        self._closing = True
        self.settings.geometry = self.saveGeometry()
        self.settings.splitter = self.splitter.saveState()
        self.settings.sync()
        self.host.shutdown(SHUTDOWN_TIMEOUT_MS)
        self.jobs.wait(3000)
        for s in list(self.sessions.values()):
            s.close()
        event.accept()

    @property
    def model_thread_stopped(self) -> bool:
        return not self.host.running
