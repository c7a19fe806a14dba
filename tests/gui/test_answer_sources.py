"""Answers that point at the page: after a page answer the window asks where it came from, highlights those regions
over the page, and a click on a highlight brings the answer into view. Driven by the engine that knows the true lines
of a synthetic page (`tests/engines.py`), through the real worker, pipeline and parser."""

from __future__ import annotations

import threading

from PySide6.QtCore import QPoint, Qt, QUrl
from PySide6.QtTest import QTest

from paperlens.core.session import ChatScope
from paperlens.gui.ask_view import turn_anchor
from tests.engines import TruthEngine, synthetic_page
from tests.gui.helpers import wait_idle

LINES = ["Invoice 2026-11", "Paper 2 x 10.00", "Total due: 42.00 EUR", "Pay by 30 June", "Thank you"]
FILLER = " This sentence only makes the answer long enough to need scrolling." * 16


def answer_for(_key, question: str) -> str:
    """The answer quotes the line whose first word the question names (the total's line otherwise)."""
    q = question.lower()
    line = next((ln for ln in LINES if ln.split()[0].lower() in q), LINES[2])
    return f"It says: {line}.{FILLER}"


def truth_factory(known):
    def factory(spec):
        engine = TruthEngine(lambda key: "\n".join(LINES), mode=spec.mode, lines_for=lambda key: known)
        engine.answer_for = answer_for
        factory.engines.append(engine)
        return engine

    factory.engines = []
    return factory


def open_synthetic(qtbot, make_window):
    image, known = synthetic_page(LINES)
    window = make_window(truth_factory(known))
    s = window.open_image(image, "Invoice")
    qtbot.waitUntil(window.page_view.has_image, timeout=5000)
    return window, s, known


def anchor_top(browser, name: str) -> float | None:
    """Where in the transcript's document the anchor `name` is (y, in document pixels)."""
    doc = browser.document()
    block = doc.begin()
    while block.isValid():
        it = block.begin()
        while not it.atEnd():
            if name in it.fragment().charFormat().anchorNames():
                return doc.documentLayout().blockBoundingRect(block).top()
            it += 1
        block = block.next()
    return None


def anchor_visible(browser, name: str) -> bool:
    top = anchor_top(browser, name)
    bar = browser.verticalScrollBar()
    return top is not None and bar.value() <= top < bar.value() + browser.viewport().height()


def click_item(view, item) -> None:
    pos = view.mapFromScene(item.sceneBoundingRect().center())
    QTest.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, QPoint(pos))


def test_a_highlight_lands_on_the_line_the_answer_came_from(qtbot, make_window):
    window, s, known = open_synthetic(qtbot, make_window)
    window.ask_question("What is the total?", "page")
    wait_idle(qtbot, window)
    turn = s.chat(ChatScope.PAGE, 1)[0]
    assert [b.label for b in turn.boxes] == ["Total due: 42.00 EUR"] and turn.located
    # the boxes question came after the answer, on the same page
    assert window_engine_tasks(window) == ["ask", "locate"]
    (item,) = window.view.highlights.items
    rect = item.sceneBoundingRect()
    x0, y0, x1, y1 = known[2].pixels
    tolerance = 4  # pixels of a 1240 x 1754 page: the 0-1000 grid rounds to about 1.75 px
    got = (rect.left(), rect.top(), rect.right(), rect.bottom())
    assert all(abs(a - b) <= tolerance for a, b in zip(got, (x0, y0, x1, y1), strict=True)), (got, known[2])
    assert "highlighted on the page" in window.ask.transcript.toPlainText()
    assert "<box>" not in window.ask.transcript.toPlainText()


def window_engine_tasks(window) -> list[str]:
    return list(window.host._worker._engine.tasks)


def test_clicking_a_highlight_scrolls_its_answer_into_view(qtbot, make_window):
    window, s, known = open_synthetic(qtbot, make_window)
    window.view.show_ask_tab()
    for question in ("What is the total?", "Which paper?", "Pay when?", "Thank who?"):
        window.ask_question(question, "page")
        wait_idle(qtbot, window)
    turns = s.chat(ChatScope.PAGE, 1)
    assert all(len(t.boxes) == 1 for t in turns)
    # the latest answer's place is shown; choosing the first answer ("Show on the page") shows its line instead
    assert window.view.shown_turn() == 3
    assert "turn:0" in window.ask.transcript.toHtml()  # "Show on the page" under the first answer is a link
    window.ask.transcript.anchorClicked.emit(QUrl("turn:0"))
    (item,) = window.view.highlights.items
    assert item.turn == 0 and abs(item.sceneBoundingRect().top() - known[2].pixels[1]) <= 4
    # the first answer is out of view at the end of a long chat
    bar = window.ask.transcript.verticalScrollBar()
    bar.setValue(bar.maximum())
    assert bar.maximum() > 0 and not anchor_visible(window.ask.transcript, turn_anchor(0))
    window.view.show_markdown_tab()
    click_item(window.page_view, item)
    assert window.right_tabs.currentWidget() is window.ask
    qtbot.waitUntil(lambda: anchor_visible(window.ask.transcript, turn_anchor(0)), timeout=3000)


class HeldLocate(TruthEngine):
    """Holds each boxes question until `release` is set (or it is cancelled): a model still locating."""

    started = threading.Event()
    release = threading.Event()

    def run(self, task, image=None, *, cancel=None, **kw):
        if task.kind == "locate":
            HeldLocate.started.set()
            while not (cancel is not None and cancel.is_set()) and not HeldLocate.release.wait(0.01):
                pass
        return super().run(task, image, cancel=cancel, **kw)


def test_a_new_question_cancels_the_boxes_question_still_running(qtbot, make_window):
    image, known = synthetic_page(LINES)

    def factory(spec):
        return HeldLocate(lambda key: "", lines_for=lambda key: known, answer_for=answer_for)

    HeldLocate.started.clear()
    HeldLocate.release.clear()
    window = make_window(factory)
    s = window.open_image(image, "Invoice")
    window.ask_question("What is the total?", "page")
    qtbot.waitUntil(HeldLocate.started.is_set, timeout=5000)
    # WHEN a new question comes while the first answer's boxes are being asked for
    window.ask_question("Pay when?", "page")
    HeldLocate.release.set()
    wait_idle(qtbot, window)
    # THEN the first boxes question was given up (no box rather than a late one), and the new answer got its own
    first, second = s.chat(ChatScope.PAGE, 1)
    assert first.boxes == [] and first.located is False
    assert second.answer.startswith("It says: Pay by 30 June") and [b.label for b in second.boxes] == [
        "Pay by 30 June"
    ]
    assert window_engine_tasks(window) == ["ask", "locate", "ask", "locate"]


def test_the_view_menu_switch_turns_the_boxes_question_off(qtbot, make_window):
    window, s, _known = open_synthetic(qtbot, make_window)
    assert window.act_show_sources.isChecked()  # on by default with the local model
    window.act_show_sources.trigger()
    assert window.settings.show_sources == "off" and not window.settings.shows_sources
    window.ask_question("What is the total?", "page")
    wait_idle(qtbot, window)
    assert window_engine_tasks(window) == ["ask"]
    assert s.chat(ChatScope.PAGE, 1)[0].boxes == [] and window.view.highlights.items == []


def test_a_server_does_not_get_the_boxes_question_unless_asked(settings):
    settings.run_on, settings.server_url = "remote", "http://127.0.0.1:9"
    assert not settings.shows_sources
    settings.show_sources = "on"
    assert settings.shows_sources


def test_reopening_a_document_shows_where_its_answers_came_from(qtbot, make_window, tmp_path):
    from paperlens.core.library import Library
    from paperlens.gui.model_check import ModelCheck
    from tests.gui.fakes import FakeModels

    image, known = synthetic_page(LINES)
    path = tmp_path / "invoice.png"
    image.save(path)
    db = tmp_path / "library.sqlite3"
    check = lambda folder: ModelCheck(True, text_model="Fake.gguf", models=FakeModels())  # noqa: E731
    first = make_window(truth_factory(known), model_check=check, library_factory=lambda: Library(db))
    qtbot.waitUntil(lambda: first.documents.library is not None, timeout=3000)
    first.open_paths([path])
    first.ask_question("What is the total?", "page")
    wait_idle(qtbot, first)
    first.close()
    # WHEN the document is opened again in a new window
    factory = truth_factory(known)
    second = make_window(factory, model_check=check, library_factory=lambda: Library(db))
    again = second.open_paths([path])[0]
    qtbot.waitUntil(lambda: bool(again.chat(ChatScope.PAGE, 1)), timeout=5000)
    # THEN the answer comes back with its place on the page, highlighted without asking the model
    (turn,) = again.chat(ChatScope.PAGE, 1)
    assert [b.label for b in turn.boxes] == ["Total due: 42.00 EUR"]
    qtbot.waitUntil(lambda: len(second.view.highlights.items) == 1, timeout=5000)
    assert abs(second.view.highlights.items[0].sceneBoundingRect().top() - known[2].pixels[1]) <= 4
    assert factory.engines == [] or factory.engines[-1].tasks == []
