"""Every window action in one table: its text, shortcut, menu, toolbar place, handler and when it is enabled.

Why a table: the menus, the toolbar and the enable rules were three hand-kept lists that had to agree; now an action is
one line, `Actions.update(state)` applies every rule at once, and a reader sees in one place what each action needs.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QMenu, QMenuBar, QStyle, QToolBar, QWidget

Shortcut = str | QKeySequence.StandardKey | None
SP = QStyle.StandardPixmap


@dataclass(frozen=True)
class UiState:
    """What the enable rules look at."""

    has_document: bool = False
    has_result: bool = False  # the current document has at least one page to export
    busy: bool = False  # the model thread has a job running or queued
    page: int = 0
    page_count: int = 0
    page_edited: bool = False  # the current page's Markdown is the user's own
    documents: int = 0  # how many documents are open (their tabs)
    no_model: str = ""  # why the model cannot run here ("" when it can, or is on a server)


def has_document(s: UiState) -> bool:
    return s.has_document


def has_result(s: UiState) -> bool:
    return s.has_document and s.has_result


def page_edited(s: UiState) -> bool:
    return s.has_document and s.page_edited


def can_parse(s: UiState) -> bool:
    return s.has_document and not s.no_model


def why_no_parse(s: UiState) -> str:
    return f"Parsing needs the model: {s.no_model}" if s.has_document and s.no_model else ""


def has_other_documents(s: UiState) -> bool:
    return s.documents > 1


def busy(s: UiState) -> bool:
    return s.busy


def has_previous_page(s: UiState) -> bool:
    return s.has_document and s.page > 1


def has_next_page(s: UiState) -> bool:
    return s.has_document and s.page < s.page_count


@dataclass(frozen=True)
class ActionSpec:
    """One action. `handler` is an attribute path on the window ("open_dialog", "page_view.zoom_in").

    `menu_group` / `toolbar // 10`: a separator goes where the group changes. `enabled_when` None: always enabled.
    """

    id: str
    text: str
    handler: str
    shortcut: Shortcut = None
    tip: str = ""
    icon: SP | None = None
    menu: str = ""
    menu_group: int = 0
    toolbar: int | None = None
    enabled_when: Callable[[UiState], bool] | None = None
    fallback_shortcut: str = ""  # when the platform has no standard key for it
    disabled_tip: Callable[[UiState], str] | None = (
        None  # why it is disabled, shown as its tip ("" : the usual tip)
    )


MENUS = ("&File", "&Edit", "&View", "&Model", "&Help")
K = QKeySequence.StandardKey

# fmt: off
ACTIONS: tuple[ActionSpec, ...] = (
    ActionSpec("open", "&Open…", "open_dialog", K.Open, "Open PDFs or images", SP.SP_DialogOpenButton,
               "&File", 0, toolbar=10),
    ActionSpec("camera", "&Camera…", "open_camera", "Ctrl+Shift+O", "Capture pages with a camera (or a video file)",
               SP.SP_ComputerIcon, "&File", 0, toolbar=11),
    ActionSpec("paste", "&Paste Image", "paste", K.Paste, "Open the image on the clipboard as a document",
               menu="&File"),
    ActionSpec("export", "&Export…", "export_dialog", "Ctrl+Shift+E",
               "Save the parsed pages as Markdown, HTML, DOCX, XLSX, ...", SP.SP_DialogSaveButton, "&File", 1,
               toolbar=40, enabled_when=has_result),
    ActionSpec("close_doc", "&Close Document", "close_current_document", "Ctrl+W", "Close the current document",
               menu="&File", menu_group=2, enabled_when=has_document),
    ActionSpec("quit", "&Quit", "close", "Ctrl+Q", "Quit PaperLens", menu="&File", menu_group=2),
    ActionSpec("copy_md", "Copy Page &Markdown", "copy_markdown", "Ctrl+Shift+C", "Copy the current page's Markdown",
               menu="&Edit", enabled_when=has_document),
    ActionSpec("toggle_source", "&Edit Markdown Source", "toggle_source", "Ctrl+E",
               "Switch between rendered Markdown and its editable source", menu="&Edit", enabled_when=has_document),
    ActionSpec("revert_edit", "&Revert to the Model's Text", "revert_current_edit", None,
               "Drop your edits of this page and show what the model read", menu="&Edit",
               enabled_when=page_edited),
    ActionSpec("settings", "&Settings…", "settings_dialog", K.Preferences, "Model folder, mode, device, threads, DPI",
               menu="&Edit", menu_group=1, fallback_shortcut="Ctrl+,"),
    ActionSpec("prev", "&Previous Page", "previous_page", "Alt+Left", "Previous page", SP.SP_ArrowBack, "&View", 0,
               toolbar=30, enabled_when=has_previous_page),
    ActionSpec("next", "&Next Page", "next_page", "Alt+Right", "Next page", SP.SP_ArrowForward, "&View", 0,
               toolbar=31, enabled_when=has_next_page),
    ActionSpec("zoom_in", "Zoom &In", "page_view.zoom_in", K.ZoomIn, "Zoom in", menu="&View", menu_group=1,
               enabled_when=has_document),
    ActionSpec("zoom_out", "Zoom &Out", "page_view.zoom_out", K.ZoomOut, "Zoom out", menu="&View", menu_group=1,
               enabled_when=has_document),
    ActionSpec("fit_width", "Fit &Width", "page_view.fit_width", "Ctrl+0", "Fit the page to the view's width",
               menu="&View", menu_group=1, enabled_when=has_document),
    ActionSpec("fit_page", "Fit &Page", "page_view.fit_page", "Ctrl+9", "Show the whole page", menu="&View",
               menu_group=1, enabled_when=has_document),
    ActionSpec("tab_md", "&Markdown", "view.show_markdown_tab", "Ctrl+1", menu="&View", menu_group=2),
    ActionSpec("tab_tables", "&Tables", "view.show_tables_tab", "Ctrl+2", menu="&View", menu_group=2),
    ActionSpec("tab_ask", "As&k", "view.show_ask_tab", "Ctrl+3", menu="&View", menu_group=2),
    ActionSpec("show_sources", "Show &Where Answers Come From", "toggle_show_sources", None,
               "After an answer about a page, ask the model where on the page it came from and highlight it",
               menu="&View", menu_group=2),
    ActionSpec("next_doc", "Next &Document", "doc_tabs.next_tab", "Ctrl+Tab", "Show the next document's tab",
               menu="&View", menu_group=3, enabled_when=has_other_documents),
    ActionSpec("prev_doc", "Previous D&ocument", "doc_tabs.previous_tab", "Ctrl+Shift+Tab",
               "Show the previous document's tab", menu="&View", menu_group=3, enabled_when=has_other_documents),
    ActionSpec("parse_page", "Parse &Page", "parse_current_page", "Ctrl+R", "Turn the current page into Markdown",
               SP.SP_MediaPlay, "&Model", 0, toolbar=20, enabled_when=can_parse, disabled_tip=why_no_parse),
    ActionSpec("parse_all", "Parse &All Pages", "parse_all_pages", "Ctrl+Shift+R",
               "Turn every page not yet parsed into Markdown", SP.SP_MediaSeekForward, "&Model", 0, toolbar=21,
               enabled_when=can_parse, disabled_tip=why_no_parse),
    ActionSpec("reparse", "Parse Page &Again", "reparse_current_page", None,
               "Run the model on the current page again, ignoring the saved result", menu="&Model",
               enabled_when=can_parse, disabled_tip=why_no_parse),
    ActionSpec("cancel", "&Stop", "cancel", "Esc", "Stop the model (keeps what it wrote)", SP.SP_MediaStop,
               "&Model", 0, toolbar=22, enabled_when=busy),
    ActionSpec("ask", "As&k…", "focus_question", "Ctrl+L", "Ask a question about the page or document",
               menu="&Model", menu_group=1),
    ActionSpec("load_model", "&Load Model Now", "host.preload", None,
               "Load the model in the background so the first page starts sooner", menu="&Model", menu_group=2),
    ActionSpec("download_model", "&Download Model…", "models.download", None,
               "Download the model from Hugging Face (or a mirror), with resume", menu="&Model", menu_group=2),
    ActionSpec("model_files", "Model &Files…", "models.show_files", None,
               "What is in the model folder: sizes, quantization, mode, what is in use, what can be removed",
               menu="&Model", menu_group=2),
    ActionSpec("open_models", "Open Model &Folder", "models.open_folder", None,
               "Open the folder PaperLens reads the model from", menu="&Model", menu_group=2),
    ActionSpec("about", "&About PaperLens", "about", menu="&Help"),
)
# fmt: on


class Actions:
    """The QActions made from a table of `ActionSpec`s, with the menus, the toolbar and the enable rules over them.

    Each action is also set on the window as `act_<id>` (what tests and the status bar's Stop button use).
    """

    def __init__(self, window: QWidget, specs: tuple[ActionSpec, ...] = ACTIONS) -> None:
        self.specs = specs
        self.by_id: dict[str, QAction] = {}
        for spec in specs:
            action = self._make(window, spec)
            self.by_id[spec.id] = action
            setattr(window, f"act_{spec.id}", action)

    def __getitem__(self, action_id: str) -> QAction:
        return self.by_id[action_id]

    @staticmethod
    def _make(window: QWidget, spec: ActionSpec) -> QAction:
        action = QAction(spec.text, window)
        if spec.shortcut is not None:
            action.setShortcut(QKeySequence(spec.shortcut))
        if action.shortcut().isEmpty() and spec.fallback_shortcut:
            action.setShortcut(QKeySequence(spec.fallback_shortcut))
        if spec.tip:
            action.setStatusTip(spec.tip)
            action.setToolTip(Actions._tooltip(action, spec))
        if spec.icon is not None:
            action.setIcon(window.style().standardIcon(spec.icon))
        # Looked up when triggered: the window's parts are built after (and some from) its actions.
        handler: Callable[[QWidget], Callable[[], Any]] = operator.attrgetter(spec.handler)
        action.triggered.connect(lambda _checked=False, h=handler: h(window)())
        window.addAction(action)
        return action

    @staticmethod
    def _tooltip(action: QAction, spec: ActionSpec) -> str:
        keys = action.shortcut().toString(QKeySequence.SequenceFormat.NativeText)
        return f"{spec.tip} ({keys})" if spec.shortcut is not None and keys else spec.tip

    def update(self, state: UiState) -> None:
        """Apply every enable rule; an action that says why it is disabled shows that as its tips."""
        for spec in self.specs:
            if spec.enabled_when is None:
                continue
            action = self.by_id[spec.id]
            enabled = spec.enabled_when(state)
            action.setEnabled(enabled)
            if spec.disabled_tip is not None:
                why = "" if enabled else spec.disabled_tip(state)
                action.setToolTip(why or self._tooltip(action, spec))
                action.setStatusTip(why or spec.tip)

    def build_menus(self, bar: QMenuBar, submenus: dict[str, QMenu] | None = None) -> None:
        """The menu bar in table order; `submenus` go right after the action whose id they are keyed by."""
        submenus = submenus or {}
        for title in MENUS:
            menu = bar.addMenu(title)
            group = None
            for spec in self.specs:
                if spec.menu != title:
                    continue
                if group is not None and spec.menu_group != group:
                    menu.addSeparator()
                group = spec.menu_group
                menu.addAction(self.by_id[spec.id])
                if spec.id in submenus:
                    menu.addMenu(submenus[spec.id])

    def build_toolbar(self, toolbar: QToolBar) -> None:
        placed = sorted((s for s in self.specs if s.toolbar is not None), key=lambda s: s.toolbar or 0)
        group = None
        for spec in placed:
            if group is not None and (spec.toolbar or 0) // 10 != group:
                toolbar.addSeparator()
            group = (spec.toolbar or 0) // 10
            toolbar.addAction(self.by_id[spec.id])
