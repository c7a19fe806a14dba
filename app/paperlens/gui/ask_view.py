"""The Ask tab: a chat about the current page (its image) or the whole document (its parsed text).

The two scopes are separate chats: a page chat's follow-ups reuse the page's encoded image in the engine, a document
chat answers from text and says which pages it drew on. The transcript is re-rendered from the session's turns on
every flush, which is cheap for the few turns a chat has and keeps the session the only place the chat lives.
"""

from __future__ import annotations

from html import escape

from PySide6.QtCore import Qt, QUrl, Signal, Slot
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from paperlens.core.results.boxes import strip_grounding
from paperlens.core.session import ChatScope, ChatTurn
from paperlens.gui.markdown_view import TABLE_CSS, view_html
from paperlens.gui.safe_browser import SafeTextBrowser

SCOPES = ((ChatScope.PAGE, "This page"), (ChatScope.DOCUMENT, "Whole document"))
TURN_LINK = "turn:"  # href of "Show on the page": turn:<index in the chat>


def turn_anchor(index: int) -> str:
    """The name of the anchor at the start of a chat's turn `index` (what a click on its highlight scrolls to)."""
    return f"turn-{index}"


def where_phrase(turn: ChatTurn, locating: bool) -> str:
    """The words under a page answer about where it came from on the page ("" when nothing was asked)."""
    if turn.boxes:
        n = len(turn.boxes)
        return "highlighted on the page" if n == 1 else f"{n} places highlighted on the page"
    if locating:
        return "finding it on the page…"
    if turn.located:
        return "the model could not show where on the page"
    return ""


def pages_phrase(pages: list[int]) -> str:
    if not pages:
        return ""
    if len(pages) == 1:
        return f"page {pages[0]}"
    return "pages " + ", ".join(str(p) for p in pages[:-1]) + f" and {pages[-1]}"


def turn_footer(turn: ChatTurn) -> str:
    """The small line under an answer: which pages it used, how it ended, how long it took."""
    bits = []
    if turn.pages_used:
        bits.append(
            ("From " if turn.scope == ChatScope.DOCUMENT else "About ") + pages_phrase(turn.pages_used)
        )
    if turn.scope == ChatScope.DOCUMENT and len(turn.pages_used) < turn.pages_with_text:
        bits.append(
            f"may be incomplete: {len(turn.pages_used)} of {turn.pages_with_text} pages fit, chosen by the question's words"
        )
    if turn.finish is not None and turn.finish.note:
        bits.append(turn.finish.note)
    if turn.stats is not None and turn.finish is not None:
        bits.append(f"{turn.stats.wall_s:.1f} s")
        if turn.stats.image_reused:
            bits.append("page image reused")
    return " · ".join(bits)


class AskPane(QWidget):
    """Scope picker, transcript and question box. Emits `ask_requested(question, scope)`."""

    ask_requested = Signal(str, str)
    scope_changed = Signal(str)
    turn_selected = Signal(int)  # "Show on the page" clicked under answer N of the shown chat

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.scope_box = QComboBox()
        for key, label in SCOPES:
            self.scope_box.addItem(label, key.value)
        self.scope_box.setToolTip(
            "This page: the model looks at the page image. Whole document: it reads the parsed text of every page."
        )
        self.scope_box.currentIndexChanged.connect(self._scope_changed)
        self.context_label = QLabel()
        self.context_label.setWordWrap(True)
        self.transcript = SafeTextBrowser()
        self.transcript.document().setDefaultStyleSheet(TABLE_CSS)
        self.transcript.setAccessibleName("Answers")
        self.transcript.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOn)  # see MarkdownPane
        self.transcript.anchorClicked.connect(self._link_clicked)
        self.question = QLineEdit()
        self.question.setPlaceholderText("Ask about the page…  (Enter to send)")
        self.question.setAccessibleName("Question")
        self.question.returnPressed.connect(self.submit)
        self.ask_button = QPushButton("Ask")
        self.ask_button.setDefault(False)
        self.ask_button.clicked.connect(self.submit)

        top = QHBoxLayout()
        top.addWidget(QLabel("Ask about:"))
        top.addWidget(self.scope_box)
        top.addWidget(self.context_label, 1)
        bottom = QHBoxLayout()
        bottom.addWidget(self.question, 1)
        bottom.addWidget(self.ask_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(top)
        layout.addWidget(self.transcript, 1)
        layout.addLayout(bottom)
        self._empty_hint = ""

    @property
    def scope(self) -> ChatScope:
        return ChatScope(self.scope_box.currentData())

    def set_scope(self, scope: ChatScope | str) -> None:
        index = self.scope_box.findData(ChatScope(scope).value)
        if index >= 0:
            self.scope_box.setCurrentIndex(index)

    @Slot(int)
    def _scope_changed(self, _index: int) -> None:
        self.question.setPlaceholderText(
            "Ask about the page…  (Enter to send)"
            if self.scope == ChatScope.PAGE
            else "Ask about the whole document…  (Enter to send)"
        )
        self.scope_changed.emit(self.scope)

    @Slot()
    def submit(self) -> None:
        text = self.question.text().strip()
        if not text:
            return
        self.question.clear()
        self.ask_requested.emit(text, self.scope)

    def set_context(self, text: str) -> None:
        self.context_label.setText(text)

    def show_turns(
        self,
        turns: list[ChatTurn],
        *,
        empty_hint: str = "",
        selected: int | None = None,
        locating: frozenset[int] = frozenset(),
    ) -> None:
        """Draw the chat. `selected`: the answer whose places the page shows; `locating`: answers being located."""
        bar = self.transcript.verticalScrollBar()
        at_end = bar.value() >= bar.maximum() - 4
        position = bar.value()
        if not turns:
            self.transcript.setHtml(f"<p style='color:gray'>{escape(empty_hint)}</p>")
            return
        parts = []
        for i, turn in enumerate(turns):
            parts.append(
                f"<p style='margin-top:14px'><a name='{turn_anchor(i)}'></a><b>You:</b> {escape(turn.question)}</p>"
            )
            if turn.error:
                parts.append(f"<p style='color:#c0392b'>{escape(turn.error)}</p>")
            elif turn.answer:
                # the model's grounding markup (if it wrote any) is shown as the words it labels, never as tags
                parts.append(f"<div>{view_html(strip_grounding(turn.answer))}</div>")
            elif turn.finish is None:
                parts.append("<p style='color:gray'><i>Thinking…</i></p>")
            footer = escape(turn_footer(turn))
            where = where_phrase(turn, i in locating)
            if where and not footer:
                where = where[0].upper() + where[1:]
            if where and turn.boxes and i != selected:  # a link that puts this answer's places on the page
                where = f"<a href='{TURN_LINK}{i}'>{escape(where)}</a>"
            else:
                where = escape(where)
            footer = " · ".join(x for x in (footer, where) if x)
            if footer:
                parts.append(f"<p style='color:gray; font-size:small'>{footer}</p>")
        self.transcript.setHtml("".join(parts))
        bar.setValue(bar.maximum() if at_end else position)

    def scroll_to_turn(self, index: int) -> None:
        """Bring answer `index` of the shown chat into view (its question at the top)."""
        self.transcript.scrollToAnchor(turn_anchor(index))

    @Slot(QUrl)
    def _link_clicked(self, url: QUrl) -> None:
        text = url.toString()
        if text.startswith(TURN_LINK) and text[len(TURN_LINK) :].isdigit():
            self.turn_selected.emit(int(text[len(TURN_LINK) :]))
