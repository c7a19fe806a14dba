"""Untrusted files are rendered in the renderer child: a hang is stopped by the time limit, a caller can abandon a
render, a crash of the child is a sentence for that page, memory is capped, and errors cross the process boundary
whole. The documents keep working after each of these (the child is started again).

One child serves the whole test session (as it serves a whole PaperLens process); the tests that stop it leave the
next request to start another.
"""

from __future__ import annotations

import os
import pickle
import signal
import threading
import time

import pytest
from PIL import Image

from paperlens.core import isolation
from paperlens.core.documents import BlankPage, open_document
from paperlens.core.errors import (
    DocumentError,
    ImageTooLarge,
    PaperLensError,
    PasswordRequired,
    WrongPassword,
)
from paperlens.core.isolation import IsolatedDocument, RenderStopped, renderer
from paperlens.core.page import Flattened, Page
from tests.unit.scenes import make_pdf


def _until(condition, what: str, limit: float = 30.0) -> None:
    """Wait for `condition` (checked often); fail with `what` if it does not come within `limit` seconds."""
    end = time.monotonic() + limit
    while not condition():
        if time.monotonic() > end:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.005)


def _in_background(call):
    """Run `call` on a thread; returns (thread, box) where box holds its result or exception once it ends."""
    box: dict = {}

    def run():
        try:
            box["result"] = call()
        except BaseException as exc:  # noqa: BLE001 - handed to the test
            box["error"] = exc

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, box


@pytest.fixture
def pdf(tmp_path):
    return make_pdf(tmp_path / "report.pdf", ["First page text", "Second page text"])


def test_documents_open_in_the_renderer_child_by_default(pdf, monkeypatch):
    with open_document(pdf) as doc:
        assert isinstance(doc, IsolatedDocument) and doc.kind == "pdf"
        page = doc.page(1)
        assert "Second page" in page.text and page.label == "Page 2" and page.meta["dpi"] == 150
        assert renderer().pid not in (None, os.getpid())
        # the same pixels as rendered in this process
        with open_document(pdf, isolated=False) as here:
            assert not isinstance(here, IsolatedDocument)
            assert here.page(1).image_hash == page.image_hash
            assert here.thumbnail(0, 64).tobytes() == doc.thumbnail(0, 64).tobytes()
            assert here.page_text(0) == doc.page_text(0) and here.page_dpi(0) == doc.page_dpi(0)
    # and PAPERLENS_IN_PROCESS=1 opens it here, for debugging
    monkeypatch.setenv("PAPERLENS_IN_PROCESS", "1")
    with open_document(pdf) as doc:
        assert not isinstance(doc, IsolatedDocument)


def test_a_render_that_hangs_is_stopped_by_the_time_limit_and_the_next_page_renders(pdf, monkeypatch):
    # GIVEN an open document and a time limit of 1 second
    doc = open_document(pdf)
    doc.page(0)
    first_child = renderer().pid
    monkeypatch.setattr(isolation, "REQUEST_TIMEOUT_S", 1.0)
    # WHEN a request hangs in the child (the test hook sleeps there as a hostile page would render)
    with pytest.raises(DocumentError) as err:
        renderer().request(doc, "debug", "sleep", 120, what="page 1 of report.pdf")
    # THEN it is stopped with a sentence, and the child with it
    assert str(err.value) == (
        "Page 1 of report.pdf took more than 1 second to render, so it was stopped. "
        "The file may be damaged or made to exhaust the machine."
    )
    # AND the document keeps working: its next page renders in a new child
    monkeypatch.setattr(isolation, "REQUEST_TIMEOUT_S", 60.0)
    assert "Second page" in doc.page(1).text
    assert renderer().pid != first_child
    doc.close()


def test_cancel_abandons_a_long_render_at_once(pdf):
    # GIVEN a render of this document that would take two minutes, in flight on another thread
    doc = open_document(pdf)
    thread, box = _in_background(lambda: renderer().request(doc, "debug", "sleep", 120, what="page 1"))
    _until(lambda: renderer().busy_with == doc.doc_id, "the render to start")
    # WHEN the window's Stop (or closing the document) cancels it
    assert doc.cancel()
    thread.join(30)
    # THEN it ends now, as stopped (not as a timeout, which would take the two minutes)
    assert not thread.is_alive()
    assert isinstance(box.get("error"), RenderStopped)
    assert str(box["error"]) == "Rendering page 1 was stopped."
    # AND the document still renders, and cancelling with nothing in flight does nothing
    assert "First page" in doc.page(0).text
    assert not doc.cancel()
    doc.close()


def test_closing_a_session_abandons_its_render_in_flight(pdf):
    from paperlens.core.session import open_session

    session = open_session([pdf])
    doc = session._documents[0]
    thread, box = _in_background(lambda: renderer().request(doc, "debug", "sleep", 120, what="page 1"))
    _until(lambda: renderer().busy_with == doc.doc_id, "the render to start")
    session.close()  # from the GUI thread: must not wait two minutes for the render
    thread.join(30)
    assert isinstance(box.get("error"), RenderStopped)


def test_a_crash_of_the_child_is_a_sentence_and_the_document_keeps_working(pdf):
    # GIVEN a render in flight
    doc = open_document(pdf)
    thread, box = _in_background(
        lambda: renderer().request(doc, "debug", "sleep", 120, what="page 2 of report.pdf")
    )
    _until(lambda: renderer().busy_with == doc.doc_id, "the render to start")
    # WHEN the child dies under it (as MuPDF crashing on a hostile file would)
    os.kill(renderer().pid, signal.SIGKILL)
    thread.join(30)
    # THEN that request fails with a sentence, not a crash of PaperLens
    error = box.get("error")
    assert type(error) is DocumentError
    assert str(error) == (
        "PaperLens's page renderer crashed while trying to render page 2 of report.pdf (SIGKILL). "
        "The file may be damaged or made to crash it; the other pages and documents still work."
    )
    # AND the document renders again (reopened in a new child)
    assert "Second page" in doc.page(1).text
    doc.close()


def test_a_request_beyond_the_memory_limit_is_refused_with_a_sentence():
    # GIVEN the renderer's memory limit; WHEN a request asks for more than that
    with pytest.raises(DocumentError) as err:
        renderer().request(None, "debug", "allocate", isolation.MEMORY_LIMIT_BYTES + 2**30, what="the test")
    # THEN it is a sentence about memory, and the child lives on
    pid = renderer().pid
    assert str(err.value).startswith(
        "There was not enough memory to render it: PaperLens gives a document 4 GB."
    )
    assert renderer().request(None, "debug", "allocate", 10_000_000, what="the test") == 10_000_000
    assert renderer().pid == pid


def _errors() -> list[PaperLensError]:
    page = Page(image=Image.new("RGB", (30, 20), "white"), number=3, label="Page iii")
    page.flattened = Flattened(((0, 0), (1, 0), (1, 1), (0, 1)), 0.9, (30, 20))
    return [
        DocumentError("Page 2 of a.pdf could not be rendered.", hint="Try another copy."),
        BlankPage("Page 3 of a.pdf is blank.", page=page, hint="The file is damaged."),
        PasswordRequired("a.pdf is protected by a password.", hint="Give it with --password."),
        WrongPassword("The password does not open a.pdf."),
        ImageTooLarge("big.png is 20000x20000 pixels.", hint="Scale it down first."),
        RenderStopped("Rendering page 1 was stopped."),
    ]


@pytest.mark.parametrize("error", _errors(), ids=lambda e: type(e).__name__)
def test_our_errors_cross_the_process_boundary_whole(error):
    copy = pickle.loads(pickle.dumps(error))
    assert type(copy) is type(error) and str(copy) == str(error)
    assert copy.message == error.message and copy.hint == error.hint
    if isinstance(error, BlankPage):
        assert copy.page.image.tobytes() == error.page.image.tobytes()
        assert copy.page.label == "Page iii" and copy.page.flattened == error.page.flattened


def test_a_blank_page_comes_back_from_the_child_with_its_picture(tmp_path):
    pdf = make_pdf(tmp_path / "gap.pdf", ["Before", "", "After"], blank={1})
    with open_document(pdf) as doc:
        assert isinstance(doc, IsolatedDocument)
        with pytest.raises(BlankPage) as err:
            doc.page(1)
    assert str(err.value) == "Page 2 of gap.pdf is blank: there is nothing on it to read."
    assert err.value.page is not None and err.value.page.image.size == (1240, 1755)


def test_the_password_loop_runs_here_and_the_child_opens_the_file(tmp_path):
    import pymupdf

    # GIVEN an encrypted PDF (made here with pymupdf)
    path = tmp_path / "secret.pdf"
    made = pymupdf.open()
    made.new_page().insert_text((72, 100), "Salary review", fontsize=14)
    made.save(path, encryption=pymupdf.PDF_ENCRYPT_AES_256, user_pw="s3cret", owner_pw="owner!")
    made.close()
    asked = []

    def ask() -> str | None:
        asked.append(threading.current_thread())
        return ["wrong", "s3cret"][len(asked) - 1]

    # WHEN it is opened with a callback that is wrong once, then right
    with open_document(path, password_callback=ask) as doc:
        # THEN the callback was asked twice, on the caller's thread, and the page renders in the child
        assert asked == [threading.current_thread()] * 2
        assert isinstance(doc, IsolatedDocument) and "Salary review" in doc.page(0).text
        # AND after a crash of the child it reopens with the password that worked, asking nobody
        os.kill(renderer().pid, signal.SIGKILL)
        _until(lambda: not renderer()._child.alive(), "the child to die")
        assert "Salary review" in doc.page(0).text
        assert len(asked) == 2
    with pytest.raises(WrongPassword):
        open_document(path, password_callback=lambda: "nope")
    with pytest.raises(PasswordRequired):
        open_document(path, password_callback=lambda: None)


def test_an_image_document_in_the_child_gives_its_original(tmp_path):
    path = tmp_path / "scan.png"
    Image.new("RGB", (300, 400), "white").save(path)
    with open_document(path) as doc:
        assert doc.kind == "image" and doc.format == "PNG" and hasattr(doc, "original")
        assert not hasattr(open_document(make_pdf(tmp_path / "x.pdf", ["x"])), "original")
        with pytest.raises(BlankPage):
            doc.original(0)
