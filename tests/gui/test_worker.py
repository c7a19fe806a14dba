"""The model thread: one thread owns the engine, text is buffered, cancel keeps what was produced, shutdown is quick."""

from __future__ import annotations

import threading
import time

import pytest

from paperlens.core.options import EngineOptions
from paperlens.core.page import Page
from paperlens.core.runs import Finish
from paperlens.gui.worker import AskRequest, ModelHost, ParseRequest, StreamBuffer
from tests.gui.fakes import PAGE_MARKDOWN, FakeEngineFactory
from tests.gui.helpers import page_image


def test_stream_buffer_merges_pieces_per_job_and_page_in_order():
    buf = StreamBuffer()
    for piece in ("a", "b"):
        buf.append(1, 1, piece)
    buf.append(1, 2, "c")
    buf.append(2, 0, "x")
    buf.append(1, 2, "d")
    assert buf.take() == [(1, 1, "ab"), (1, 2, "c"), (2, 0, "x"), (1, 2, "d")]
    assert buf.take() == []


@pytest.fixture
def host(qtbot):
    factory = FakeEngineFactory()
    h = ModelHost(factory, lambda: None)
    h.configure(EngineOptions(model_dir="", mode="16x"))
    h.factory = factory
    yield h
    assert h.shutdown(5000)


def pages(n: int):
    made = {i: Page(image=page_image(f"Page {i}"), number=i) for i in range(1, n + 1)}
    return made.__getitem__


def test_parse_streams_text_and_reports_each_page_from_the_model_thread(qtbot, host):
    # GIVEN a host with a fake engine
    texts: list[str] = []
    done = []
    host.text.connect(lambda job, page, text: texts.append(text))
    host.page_done.connect(lambda job, pr: done.append(pr))
    # WHEN two pages are parsed
    with qtbot.waitSignal(host.finished, timeout=10_000) as finished:
        host.submit(ParseRequest(doc_id="d", pages=[1, 2], load_page=pages(2)))
    # THEN both pages come back complete, their text streamed, and the engine was only touched by the model thread
    outcome = finished.args[0]
    assert outcome.error is None and not outcome.cancelled
    assert [p.page for p in done] == [1, 2]
    assert all(p.markdown == PAGE_MARKDOWN and p.finish == Finish.STOP for p in done)
    assert "".join(texts) == PAGE_MARKDOWN * 2
    engine = host.factory.engine
    assert threading.main_thread().name not in engine.threads
    assert len(engine.threads) == 1


def test_text_is_flushed_on_a_timer_not_per_token(qtbot, host):
    # GIVEN an engine that streams ~70 pieces in ~0.35 s
    emitted = []
    host.text.connect(lambda job, page, text: emitted.append(text))
    host.factory.kwargs["delay"] = 0.005
    with qtbot.waitSignal(host.finished, timeout=10_000):
        host.submit(ParseRequest(doc_id="d", pages=[1], load_page=pages(1)))
    pieces = len(PAGE_MARKDOWN.split())
    # THEN the view got far fewer updates than there were pieces (about one per 40 ms), and all of the text
    assert "".join(emitted) == PAGE_MARKDOWN
    assert 1 <= len(emitted) < pieces / 2


def test_cancel_stops_at_once_and_keeps_the_partial_text(qtbot, host):
    host.factory.kwargs["delay"] = 0.05
    done = []
    host.page_done.connect(lambda job, pr: done.append(pr))
    host.submit(ParseRequest(doc_id="d", pages=[1, 2, 3], load_page=pages(3)))
    qtbot.waitUntil(lambda: bool(host.factory.engines) and host.factory.engine.started.is_set(), timeout=5000)
    time.sleep(0.3)
    t0 = time.perf_counter()
    with qtbot.waitSignal(host.finished, timeout=5000) as finished:
        host.cancel()
    assert time.perf_counter() - t0 < 1.0
    assert finished.args[0].cancelled
    # the page in flight is kept with what it had, and later pages were not started
    assert len(done) == 1 and done[0].finish == Finish.CANCELLED
    assert 0 < len(done[0].markdown) < len(PAGE_MARKDOWN)
    assert not host.busy


def test_jobs_run_one_at_a_time_in_order(qtbot, host):
    order = []
    host.finished.connect(lambda o: order.append((o.kind, o.job_id)))
    j1 = host.submit(ParseRequest(doc_id="d", pages=[1], load_page=pages(1)))
    j2 = host.submit(AskRequest(doc_id="d", question="What?", scope="page", page_no=1, load_page=pages(1)))
    assert host.busy and [r.job_id for r in host.pending()] == [j2]
    qtbot.waitUntil(lambda: len(order) == 2, timeout=10_000)
    assert order == [("parse", j1), ("ask", j2)]


def test_shutdown_during_a_run_cancels_and_frees_the_engine(qtbot):
    factory = FakeEngineFactory(delay=0.05)
    h = ModelHost(factory, lambda: None)
    h.configure(EngineOptions(model_dir=""))
    h.submit(ParseRequest(doc_id="d", pages=[1, 2, 3], load_page=pages(3)))
    qtbot.waitUntil(lambda: bool(factory.engines) and factory.engine.started.is_set(), timeout=5000)
    t0 = time.perf_counter()
    assert h.shutdown(5000)
    assert time.perf_counter() - t0 < 1.5
    assert factory.engine.closed
    assert not h.running


def test_a_changed_spec_drops_the_engine_and_the_next_job_builds_a_new_one(qtbot, host):
    with qtbot.waitSignal(host.finished, timeout=10_000):
        host.submit(ParseRequest(doc_id="d", pages=[1], load_page=pages(1)))
    host.configure(EngineOptions(model_dir="", mode="4x"))
    with qtbot.waitSignal(host.finished, timeout=10_000):
        host.submit(ParseRequest(doc_id="d", pages=[2], load_page=pages(2)))
    assert [s.mode for s in host.factory.specs] == ["16x", "4x"]
    assert host.factory.engines[0].closed
