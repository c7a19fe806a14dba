"""Saved page states on the real llama.cpp with the tiny twin: a short or empty save is never kept, a refused
restore encodes the page again, and a cancel during the last chunk of a page keeps no half state."""

from __future__ import annotations

import gc
import threading
import weakref
from types import SimpleNamespace

import llama_cpp
import pytest

from paperlens.core.engine.llama_log import _LlamaLog
from paperlens.core.prompts import ask_task, parse_task
from paperlens.core.runs import Finish
from tests.conftest import a4_page
from tests.integration.test_engine import engine_for

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def eng(tiny_model_dir):
    e = engine_for(tiny_model_dir, "16x", max_tokens=6)
    e.load()
    yield e
    e.close()


@pytest.fixture(autouse=True)
def _no_saved_pages(eng):
    eng.forget_pages()


@pytest.mark.parametrize("saved", ["short", "empty"])
def test_a_short_or_empty_saved_state_is_not_kept(eng, monkeypatch, saved):
    # GIVEN llama.cpp copying less of the page state than it said it would
    real = llama_cpp.llama_state_get_data

    def short(ctx, dst, size):
        n = real(ctx, dst, size)
        return n - 1 if saved == "short" else 0

    monkeypatch.setattr(llama_cpp, "llama_state_get_data", short)
    page = a4_page("short state")
    # WHEN a page is parsed THEN it is answered, but its state is not kept
    first = eng.run(parse_task(), page)
    assert first.finish != Finish.CANCELLED and first.stats.generated_tokens > 0
    assert len(eng._states) == 0
    # AND the next question about it encodes the page again (never restores a half state)
    monkeypatch.setattr(llama_cpp, "llama_state_get_data", real)
    second = eng.run(ask_task("Q?"), page)
    assert not second.stats.image_reused and second.stats.generated_tokens > 0
    assert len(eng._states) == 1


def test_a_refused_restore_encodes_the_page_again_and_forgets_the_bad_state(eng, monkeypatch):
    page = a4_page("restore fails")
    eng.run(parse_task(), page)
    assert len(eng._states) == 1
    # GIVEN llama.cpp refusing the saved state once
    real = llama_cpp.llama_state_set_data
    calls = []

    def refuse_once(ctx, src, size):
        calls.append(size)
        return 0 if len(calls) == 1 else real(ctx, src, size)

    monkeypatch.setattr(llama_cpp, "llama_state_set_data", refuse_once)
    # WHEN a question about the page is asked THEN it is answered from a fresh encode, no error
    again = eng.run(ask_task("Q?"), page)
    assert len(calls) == 1 and not again.stats.image_reused and again.stats.encode_s > 0
    assert again.stats.generated_tokens > 0
    # AND the fresh state replaced the bad one: the next question restores it
    third = eng.run(ask_task("Q2?"), page)
    assert third.stats.image_reused and len(calls) == 2


def test_a_cancel_during_the_last_chunk_keeps_no_state(eng, monkeypatch):
    # GIVEN a cancel that arrives right after the encoder's last check, as the last chunk is evaluated
    mtmd = eng._mtmd_cpp
    real_size, real_type = mtmd.mtmd_input_chunks_size, mtmd.mtmd_input_chunk_get_type
    cancel = threading.Event()
    seen = {"n": 0, "types": 0}

    def size(chunks):
        seen["n"] = real_size(chunks)
        return seen["n"]

    def get_type(chunk):
        seen["types"] += 1
        if seen["types"] == seen["n"]:
            cancel.set()
        return real_type(chunk)

    monkeypatch.setattr(mtmd, "mtmd_input_chunks_size", size)
    monkeypatch.setattr(mtmd, "mtmd_input_chunk_get_type", get_type)
    page = a4_page("cancel at the end")
    # WHEN the page is run THEN it is cancelled and nothing of it is kept
    r = eng.run(parse_task(), page, cancel=cancel)
    assert r.finish == Finish.CANCELLED and r.text == ""
    assert seen["n"] > 1 and seen["types"] == seen["n"]
    assert len(eng._states) == 0
    # AND the next run encodes the page whole and answers
    monkeypatch.undo()
    again = eng.run(parse_task(), page)
    assert not again.stats.image_reused and again.stats.generated_tokens > 0


def test_the_log_callback_lives_on_while_llama_cpp_may_still_call_it():
    # GIVEN the log router installed twice (as after every model load)
    pointed = []
    fake_llama = SimpleNamespace(
        llama_log_callback=llama_cpp.llama_log_callback,
        llama_log_set=lambda cb, user: pointed.append(weakref.ref(cb)),
    )
    router = _LlamaLog()
    router.install(fake_llama, SimpleNamespace())
    router.install(fake_llama, SimpleNamespace())
    gc.collect()
    # THEN every callback C was ever pointed at is still alive (C may call the old one until it switches)
    assert len(pointed) == 2 and all(ref() is not None for ref in pointed)
