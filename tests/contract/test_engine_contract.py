"""One contract, every engine: the same checks run against llama.cpp (tiny twin), the widget tests' fake engine,
the known-text engine and the remote engine (against llama-cpp-python's own server on 127.0.0.1). A new engine joins
by adding one entry to ENGINES.

What the pipeline, the CLI and the window rely on is exactly what is asserted here: load/close life cycle, a refusal
before load, streamed pieces that add up to the result, cancel that keeps what was made, text-only tasks, an identity
that separates modes, and a context size.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest
from PIL import Image

from paperlens.core.engine import VisionEngine, build_engine
from paperlens.core.engine.registry import unregister
from paperlens.core.errors import EngineNotLoaded
from paperlens.core.options import EngineOptions
from paperlens.core.prompts import ask_document_task, parse_task
from paperlens.core.runs import Finish, RunResult
from tests.engines import register_truth
from tests.gui.fakes import FakeEngine


def _fake(mode: str, _tmp) -> VisionEngine:
    from paperlens.core.engine import EngineConfig

    return FakeEngine(EngineConfig(mode=mode, device="cpu"), delay=0)


def _truth(mode: str, _tmp) -> VisionEngine:
    # built through the registry, as the CLI and the window build theirs
    register_truth({"page-1": "Invoice 2026-11 Total 42.00"})
    try:
        return build_engine(EngineOptions(engine="truth", mode=mode))
    finally:
        unregister("truth")


def _llama(mode: str, model_dir) -> VisionEngine:
    from paperlens.core.engine import EngineConfig, LlamaEngine
    from paperlens.core.models import scan_model_dir

    config = EngineConfig(
        mode=mode, device="cpu", n_ctx=2048, max_tokens=8, temperature=0.8, suppress_eos=True
    )
    return LlamaEngine(scan_model_dir(model_dir), config)


def _remote(mode: str, server_url) -> VisionEngine:
    # llama-cpp-python's own OpenAI-compatible server with the tiny twin, built through the registry as `--engine URL`
    engine = build_engine(EngineOptions(engine="remote", server_urls=(server_url,), mode=mode, max_tokens=8))
    engine.extra_body = {"min_tokens": 8}  # the random twin may end at once; keep runs at their length
    return engine


ENGINES: dict[str, Callable] = {
    "fake": _fake,
    "truth": _truth,
    "llama": _llama,
    "remote": _remote,
}


@pytest.fixture(params=list(ENGINES), ids=list(ENGINES))
def make(request) -> Callable[[str], VisionEngine]:
    kind = request.param
    if kind == "llama":
        request.applymarker(pytest.mark.integration)
        model_dir = request.getfixturevalue("tiny_model_dir")
    elif kind == "remote":
        request.applymarker(pytest.mark.integration)
        model_dir = request.getfixturevalue("llama_server")
    else:
        model_dir = None
    made: list[VisionEngine] = []

    def build(mode: str = "16x") -> VisionEngine:
        engine = ENGINES[kind](mode, model_dir)
        made.append(engine)
        return engine

    yield build
    for engine in made:
        engine.close()


PAGE = Image.new("RGB", (448, 448), "white")


def _run(engine: VisionEngine, **kw) -> tuple[RunResult, list[str]]:
    pieces: list[str] = []
    result = engine.run(parse_task(), PAGE, on_chunk=pieces.append, page_key="page-1", **kw)
    return result, pieces


def test_an_engine_refuses_to_run_before_it_is_loaded(make):
    engine = make()
    assert isinstance(engine, VisionEngine) and not engine.loaded
    with pytest.raises(EngineNotLoaded):
        engine.run(parse_task(), PAGE)


def test_load_is_idempotent_and_close_frees_until_the_next_load(make):
    engine = make()
    engine.load()
    engine.load()
    assert engine.loaded and engine.info.mode == engine.mode
    engine.close()
    assert not engine.loaded
    engine.load()
    assert engine.loaded


def test_streamed_pieces_add_up_to_the_result(make):
    with make() as engine:
        result, pieces = _run(engine)
    assert result.finish.complete and result.text and "".join(pieces) == result.text
    assert result.stats.mode == engine.mode


def test_cancel_keeps_what_was_made_and_the_engine_stays_usable(make):
    with make() as engine:
        cancel = threading.Event()
        cancel.set()
        stopped, pieces = _run(engine, cancel=cancel)
        assert stopped.finish == Finish.CANCELLED and not stopped.finish.complete
        assert "".join(pieces) == stopped.text
        again, _ = _run(engine)
        assert again.finish.complete and again.text


def test_a_text_only_task_needs_no_image(make):
    with make() as engine:
        result = engine.run(ask_document_task("What is the total?", "[Page 1]\nTotal 42.00"))
    assert result.finish.complete and result.stats.mode == "" and result.stats.image_tokens == 0


def test_identity_is_stable_and_the_mode_is_the_one_asked_for(make):
    # results are keyed by (identity, mode, task, page image): both must be stable for the same engine settings
    e16, e4 = make("16x"), make("4x")
    assert e16.identity and e16.identity == make("16x").identity
    assert (e16.mode, e4.mode) == ("16x", "4x")
    assert e16.context_tokens > 0
