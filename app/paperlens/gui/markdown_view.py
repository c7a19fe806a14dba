"""The Markdown tab: the page's Markdown rendered, with a toggle to the editable source.

Why markdown-it and not QTextDocument.setMarkdown: the model writes HTML tables when cells span rows or columns, and
Qt's Markdown importer drops raw HTML blocks. The core's dialect (`core.results.markdown`, the one the exports use)
rebuilds every table from its grid and keeps formulas intact, and Qt's HTML subset draws the result.

Streaming text arrives every ~40 ms. Rendering cost grows with the page, so the pane measures each render and waits a
few times that long before the next one: a long page never makes the GUI thread spend most of its time re-rendering.
"""

from __future__ import annotations

import re
import time

from PySide6.QtCore import Qt, QTimer, Signal, Slot
from PySide6.QtGui import QAction, QFont, QFontDatabase, QGuiApplication, QTextCursor
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QStackedWidget,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from paperlens.gui.safe_browser import SafeTextBrowser

TABLE_CSS = """
table { border-collapse: collapse; margin: 6px 0; }
th, td { border: 1px solid #888; padding: 3px 6px; }
th { font-weight: bold; }
pre, code { font-family: monospace; }
"""


def warm_up() -> None:
    """Build the Markdown dialect once, off the GUI thread: the first use costs about 90 ms (imports, rule tables),
    which would otherwise land on the GUI thread the moment the first streamed text arrives."""
    view_html("# a\n\n| a | b |\n|---|---|\n| 1 | 2 |\n")


_TABLE_TAG = re.compile(r"<table(\s[^>]*)?>", re.IGNORECASE)


def view_html(text: str) -> str:
    """Markdown to the HTML subset QTextBrowser draws, in core's dialect (`results.markdown`), tables with borders."""
    # imported here: markdown-it is not needed to open the window
    from paperlens.core.results.markdown import markdown_to_html

    try:
        html = markdown_to_html(text)
    except Exception:  # never let odd model output break the view: show it as plain text instead
        from html import escape

        return f"<pre>{escape(text)}</pre>"
    return _TABLE_TAG.sub('<table border="1" cellspacing="0" cellpadding="4">', html)


class MarkdownPane(QWidget):
    """Rendered Markdown or its editable source. Emits `edited` (debounced) when the user changes the source."""

    edited = Signal(object, str)  # the key given to show_text (which page), the new Markdown

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.browser = SafeTextBrowser()
        self.browser.document().setDefaultStyleSheet(TABLE_CSS)
        self.browser.setAccessibleName("Markdown")
        # Always on: an "as needed" scroll bar can flip on and off forever when the wrapped text's height sits right
        # at the view's height (each flip changes the width, hence the wrapping, hence the height).
        self.browser.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOn)
        self.source = QPlainTextEdit()
        mono = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
        mono.setStyleHint(QFont.StyleHint.Monospace)
        self.source.setFont(mono)
        self.source.setAccessibleName("Markdown source")
        self.source.setPlaceholderText("The page's Markdown appears here once it is parsed.")
        self.stack = QStackedWidget()
        self.stack.addWidget(self.browser)
        self.stack.addWidget(self.source)

        self.info = QLabel()
        self.info.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.toggle = QToolButton()
        self.toggle.setText("Edit source")
        self.toggle.setCheckable(True)
        self.toggle.setToolTip("Switch between the rendered page and its editable Markdown source (Ctrl+E)")
        self.toggle.toggled.connect(self.set_source_mode)
        self.copy_button = QToolButton()
        self.copy_button.setText("Copy")
        self.copy_button.setToolTip("Copy the page's Markdown (Ctrl+Shift+C)")
        self.copy_button.clicked.connect(self.copy)

        self.revert_button = QToolButton()  # given its action by the window; shown only on an edited page
        self.revert_button.hide()

        bar = QHBoxLayout()
        bar.setContentsMargins(4, 2, 4, 2)
        bar.addWidget(self.info, 1)
        bar.addWidget(self.revert_button)
        bar.addWidget(self.copy_button)
        bar.addWidget(self.toggle)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addLayout(bar)
        layout.addWidget(self.stack, 1)

        self.key: object = None
        self._text = ""
        self._placeholder = ""
        self._streaming = False
        self._rendered_text: str | None = None
        self._render_cost = 0.0
        self._last_render = 0.0
        self._render_timer = QTimer(self)
        self._render_timer.setSingleShot(True)
        self._render_timer.timeout.connect(self._render)
        self._edit_timer = QTimer(self)
        self._edit_timer.setSingleShot(True)
        self._edit_timer.setInterval(400)
        self._edit_timer.timeout.connect(self._emit_edit)
        self.source.textChanged.connect(self._source_changed)
        self._setting_source = False

    # content
    @property
    def text(self) -> str:
        return self._text

    @property
    def streaming(self) -> bool:
        return self._streaming

    def show_text(
        self, text: str, *, key: object = None, streaming: bool = False, info: str = "", placeholder: str = ""
    ) -> None:
        """Show a page's Markdown. While `streaming`, the source is read-only and renders are paced.

        `key` names what is shown (the window passes (document, page)); an edit is reported with the key it was made
        under, so an edit still pending when the user switches pages lands on the right page.
        """
        self.flush_edit()
        self.key = key
        was_streaming = self._streaming
        self._streaming = streaming
        if placeholder != self._placeholder:
            self._rendered_text = None  # an empty page's message changed ("not parsed yet"): draw it again
        self._placeholder = placeholder
        self.info.setText(info)
        self.source.setReadOnly(streaming)
        self._set_source(text, append_ok=streaming and was_streaming)
        self._text = text
        if streaming:
            self._schedule_render()
        else:
            self._render_timer.stop()
            self._render()

    def set_info(self, info: str) -> None:
        self.info.setText(info)

    def _set_source(self, text: str, *, append_ok: bool) -> None:
        if self.source.toPlainText() == text:
            return
        self._setting_source = True
        try:
            old = self._text
            if append_ok and text.startswith(old) and self.source.toPlainText() == old:
                cursor = self.source.textCursor()
                cursor.movePosition(QTextCursor.MoveOperation.End)
                cursor.insertText(text[len(old) :])
            else:
                self.source.setPlainText(text)
        finally:
            self._setting_source = False

    def _schedule_render(self) -> None:
        if self._render_timer.isActive():
            return
        wait_s = self._last_render + 3 * self._render_cost - time.perf_counter()
        if wait_s <= 0:
            self._render()
        else:
            self._render_timer.start(int(wait_s * 1000) + 1)

    @Slot()
    def _render(self) -> None:
        if self._rendered_text == self._text and not self._streaming:
            return
        t0 = time.perf_counter()
        bar = self.browser.verticalScrollBar()
        at_end = bar.value() >= bar.maximum() - 4
        keep = bar.value()
        if self._text.strip():
            self.browser.setHtml(view_html(self._text))
        else:
            from html import escape

            self.browser.setHtml(f"<p style='color:gray'>{escape(self._placeholder)}</p>")
        if self._streaming and at_end:
            bar.setValue(bar.maximum())
        elif (
            self._streaming
            or self._rendered_text is not None
            and self._text.startswith(self._rendered_text or "")
        ):
            bar.setValue(keep)
        self._rendered_text = self._text
        self._last_render = time.perf_counter()
        self._render_cost = self._last_render - t0

    # source mode
    @Slot(bool)
    def set_source_mode(self, on: bool) -> None:
        if self.toggle.isChecked() != on:
            self.toggle.setChecked(on)
            return
        self.flush_edit()
        self.stack.setCurrentWidget(self.source if on else self.browser)
        self.toggle.setText("Show rendered" if on else "Edit source")
        if not on:
            self._render()

    @property
    def source_mode(self) -> bool:
        return self.stack.currentWidget() is self.source

    def _source_changed(self) -> None:
        if self._setting_source or self._streaming:
            return
        self._text = self.source.toPlainText()
        self._edit_timer.start()

    def flush_edit(self) -> None:
        """Report a pending edit now (before the page, the document or the window goes away)."""
        if self._edit_timer.isActive():
            self._edit_timer.stop()
            self._emit_edit()

    @Slot()
    def _emit_edit(self) -> None:
        self.edited.emit(self.key, self._text)

    def set_revert_action(self, action: QAction) -> None:
        """The button beside Copy runs the window's Revert action and is shown only while that is enabled."""
        self.revert_button.setDefaultAction(action)
        action.changed.connect(lambda: self.revert_button.setVisible(action.isEnabled()))
        self.revert_button.setVisible(action.isEnabled())

    @Slot()
    def copy(self) -> None:
        QGuiApplication.clipboard().setText(self._text)
