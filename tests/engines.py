"""A test engine that knows each page's true text: for features that need known text (tables, searchable PDFs,
answers) where the synthetic twin writes gibberish. It is a `VisionEngine` like the real one, so the pipeline, the
library and the exports treat it exactly as they treat llama.cpp.

It also knows where each line of a synthetic page is (`synthetic_page` draws one and says): asked where an answer came
from (the `locate` task), it writes the true boxes of the lines the answer quotes, in MiniCPM-V's own grounding form,
so the parser, the pipeline and the window are tested on known regions through the same contract.

It is also the worked example of "a new engine is one class plus one registration line": see `register_truth`.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass

from paperlens.core.engine import EngineInfo, VisionEngine
from paperlens.core.engine.registry import register
from paperlens.core.errors import EngineNotLoaded, ImageDecodeError
from paperlens.core.options import EngineOptions
from paperlens.core.prompts import TaskKind
from paperlens.core.runs import Finish, RunResult, RunStats


@dataclass(frozen=True)
class KnownLine:
    """A line of text drawn on a synthetic page, and where: its pixel box and the same in 0-1000 page coordinates."""

    text: str
    pixels: tuple[int, int, int, int]
    box: tuple[int, int, int, int]


def synthetic_page(lines: list[str], size: tuple[int, int] = (1240, 1754), *, top: int = 160, step: int = 90):
    """A white page with `lines` drawn one under the other; returns (image, [KnownLine]) with their true boxes."""
    from PIL import Image, ImageDraw, ImageFont

    image = Image.new("RGB", size, "white")
    draw = ImageDraw.Draw(image)
    font = ImageFont.load_default(size=40)
    known = []
    for i, text in enumerate(lines):
        x, y = 120, top + i * step
        draw.text((x, y), text, fill="black", font=font)
        x0, y0, x1, y1 = (int(v) for v in draw.textbbox((x, y), text, font=font))
        w, h = size
        norm = (x0 * 1000 // w, y0 * 1000 // h, -(-x1 * 1000 // w), -(-y1 * 1000 // h))
        known.append(KnownLine(text, (x0, y0, x1, y1), norm))
    return image, known


class TruthEngine(VisionEngine):
    """Answers a page task with `text_for(page_key)` (the page's true text), streamed word by word."""

    def __init__(
        self,
        text_for: Callable[[str | None], str],
        *,
        mode: str = "4x",
        n_ctx: int = 8192,
        lines_for: Callable[[str | None], list[KnownLine]] | None = None,
        answer_for: Callable[[str | None, str], str] | None = None,
    ) -> None:
        self.text_for = text_for
        self.lines_for = lines_for  # the page's known lines: what a `locate` task answers from
        self.answer_for = (
            answer_for  # (page key, question) -> the answer of an `ask` task (default: the page text)
        )
        self.tasks: list[str] = []  # the kinds of task run, in order
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
        self.tasks.append(task.kind)
        text = self._answer(task, page_key) if task.uses_image else task.context
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

    def _answer(self, task, page_key) -> str:
        if task.kind == TaskKind.LOCATE:
            answer = task.history[-1][1] if task.history else ""
            lines = self.lines_for(page_key) if self.lines_for else []
            return "".join(
                f"<ref>{line.text}</ref><box>{' '.join(str(v) for v in line.box)}</box>"
                for line in lines
                if line.text in answer
            )
        if task.kind == TaskKind.ASK and self.answer_for is not None:
            return self.answer_for(page_key, task.question)
        return self.text_for(page_key)


def register_truth(texts: dict[str, str]) -> None:
    """Make `EngineOptions(engine="truth")` build a TruthEngine over `texts` (page key -> true text)."""
    register("truth", lambda options: TruthEngine(lambda key: texts.get(key or "", ""), mode=options.mode))


__all__ = ["EngineOptions", "KnownLine", "TruthEngine", "register_truth", "synthetic_page"]
