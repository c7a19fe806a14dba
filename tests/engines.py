"""A test engine that knows each page's true text: for features that need known text (tables, searchable PDFs,
answers) where the synthetic twin writes gibberish. It is a `VisionEngine` like the real one, so the pipeline, the
library and the exports treat it exactly as they treat llama.cpp.

It is also the worked example of "a new engine is one class plus one registration line": see `register_truth`.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from paperlens.core.engine import EngineInfo, VisionEngine
from paperlens.core.engine.registry import register
from paperlens.core.errors import EngineNotLoaded, ImageDecodeError
from paperlens.core.options import EngineOptions
from paperlens.core.runs import Finish, RunResult, RunStats


class TruthEngine(VisionEngine):
    """Answers a page task with `text_for(page_key)` (the page's true text), streamed word by word."""

    def __init__(self, text_for: Callable[[str | None], str], *, mode: str = "4x", n_ctx: int = 8192) -> None:
        self.text_for = text_for
        self._mode = mode
        self._n_ctx = n_ctx
        self._loaded = False
        self.info = EngineInfo()

    @property
    def loaded(self) -> bool:
        return self._loaded

    @property
    def mode(self) -> str:
        return self._mode

    @property
    def identity(self) -> str:
        return f"truth:{self._mode}"

    @property
    def context_tokens(self) -> int:
        return self._n_ctx

    def load(self) -> None:
        self._loaded = True
        self.info = EngineInfo(text_model="truth", projector="truth", mode=self._mode, device="cpu")

    def close(self) -> None:
        self._loaded = False

    def run(
        self, task, image=None, *, on_chunk=None, cancel=None, max_tokens=None, page_key=None
    ) -> RunResult:
        if not self._loaded:
            raise EngineNotLoaded("The model is not loaded yet.")
        if task.uses_image and image is None:
            raise ImageDecodeError("This task needs a page image, and none was given.")
        cancel = cancel or threading.Event()
        text = self.text_for(page_key) if task.uses_image else task.context
        out: list[str] = []
        finish = Finish.STOP
        for word in text.split(" "):
            if cancel.is_set():
                finish = Finish.CANCELLED
                break
            piece = word if not out else " " + word
            out.append(piece)
            if on_chunk is not None:
                on_chunk(piece)
        stats = RunStats(mode=self._mode if task.uses_image else "", generated_tokens=len(out))
        return RunResult("".join(out), finish, stats)


def register_truth(texts: dict[str, str]) -> None:
    """Make `EngineOptions(engine="truth")` build a TruthEngine over `texts` (page key -> true text)."""
    register("truth", lambda options: TruthEngine(lambda key: texts.get(key or "", ""), mode=options.mode))


__all__ = ["EngineOptions", "TruthEngine", "register_truth"]
