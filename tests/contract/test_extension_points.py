"""Each planned change needs one new module plus a registration, nothing else: shown here for a new engine and a new
page task (a new export format: tests/unit/test_export_registry.py). The pipeline, the library and the real
llama.cpp engine are used as they are."""

from __future__ import annotations

import pytest
from PIL import Image

from paperlens.core.engine import EngineInfo, VisionEngine, build_engine
from paperlens.core.engine.registry import register, unregister
from paperlens.core.errors import EngineNotLoaded
from paperlens.core.library import Library
from paperlens.core.options import EngineOptions
from paperlens.core.page import Page
from paperlens.core.pipeline import PageSource, parse_pages
from paperlens.core.prompts import (
    PAGE_PREFIX,
    PromptParts,
    Task,
    TaskSpec,
    build_prompt,
    register_task,
    unregister_task,
)
from paperlens.core.runs import RunResult, RunStats


# -- a new engine: this class plus one register() line ----------------------------------------------------------------
class EchoEngine(VisionEngine):
    """Answers with the text part of the prompt it was given: enough to see which task reached it."""

    def __init__(self, options: EngineOptions) -> None:
        self.options = options
        self._loaded = False
        self.info = EngineInfo()

    loaded = property(lambda self: self._loaded)
    mode = property(lambda self: self.options.mode)
    identity = property(lambda self: "echo")
    context_tokens = property(lambda self: self.options.n_ctx)

    def load(self) -> None:
        self._loaded = True
        self.info = EngineInfo(text_model="echo", mode=self.mode)

    def close(self) -> None:
        self._loaded = False

    def run(self, task, image=None, *, on_chunk=None, cancel=None, max_tokens=None, page_key=None):
        if not self._loaded:
            raise EngineNotLoaded("not loaded")
        text = build_prompt(task).after.strip()
        if on_chunk:
            on_chunk(text)
        return RunResult(text, stats=RunStats(mode=self.mode))


@pytest.fixture
def echo_engine():
    register("echo", EchoEngine)
    yield
    unregister("echo")


def test_a_new_engine_runs_the_pipeline_and_fills_the_cache(echo_engine, tmp_path):
    engine = build_engine(EngineOptions(engine="echo", mode="16x"))
    page = Page(image=Image.new("RGB", (64, 64), "white"), source="p")
    with Library(tmp_path / "lib.sqlite") as library:
        first = parse_pages([PageSource(1, page)], 1, engine, library=library)
        again = parse_pages([PageSource(1, page)], 1, engine, library=library)
    assert "Convert this document page to Markdown" in first.pages[0].markdown
    assert again.pages[0].cached and again.pages[0].markdown == first.pages[0].markdown


# -- a new page task: one TaskSpec and one register_task() line -------------------------------------------------------
SUMMARY = "Summarise this page in one sentence."


@pytest.fixture
def summary_task():
    register_task(
        TaskSpec(
            "summary",
            lambda task: PromptParts(PAGE_PREFIX, f"\n{SUMMARY}<|im_end|>\n<|im_start|>assistant\n"),
        )
    )
    yield Task("summary")
    unregister_task("summary")


def test_a_new_task_reaches_any_engine_unchanged(echo_engine, summary_task):
    with build_engine(EngineOptions(engine="echo")) as engine:
        result = engine.run(summary_task, Image.new("RGB", (64, 64)))
    assert SUMMARY in result.text and summary_task.cache_name == "summary-v1"


@pytest.mark.integration
def test_a_new_task_runs_on_the_real_llama_engine(summary_task, tiny_model_dir):
    from paperlens.core.engine import EngineConfig, LlamaEngine
    from paperlens.core.models import scan_model_dir

    config = EngineConfig(mode="16x", device="cpu", n_ctx=2048, max_tokens=6, suppress_eos=True)
    pieces: list[str] = []
    with LlamaEngine(scan_model_dir(tiny_model_dir), config) as engine:
        result = engine.run(summary_task, Image.new("RGB", (448, 448), "white"), on_chunk=pieces.append)
    assert result.finish.complete and result.stats.image_tokens > 0 and "".join(pieces) == result.text
