"""A fake engine for the widget tests: the real Engine's surface, canned chunks instead of llama.cpp.

It streams like the real one (one small piece at a time, checking the cancel event between pieces), so the window's
buffering, cancel and page bookkeeping are exercised without loading a model. The screenshot script uses it too, to
show realistic Markdown where the synthetic twin would write gibberish.
"""

from __future__ import annotations

import re
import threading
import time
from dataclasses import dataclass, field

from paperlens.core.engine import EngineConfig, EngineInfo, VisionEngine
from paperlens.core.errors import EngineNotLoaded, ModelInvalid
from paperlens.core.runs import Finish, RunResult, RunStats

PAGE_MARKDOWN = """# Quarterly report

Revenue grew in every region. The table below lists the figures **in thousands of euros**.

| Region | Q1 | Q2 | Change |
|---|---:|---:|---:|
| North | 1,204 | 1,377 | +14.4 % |
| South | 987 | 1,020 | +3.3 % |
| East | 1,561 | 1,702 | +9.0 % |

- Costs stayed flat.
- Headcount rose by 12.
"""

ANSWER = "Revenue was highest in the East: 1,702 thousand euros in Q2."


def split_chunks(text: str) -> list[str]:
    """Word-sized pieces with their spaces, like tokens."""
    return re.findall(r"\s*\S+|\s+", text)


@dataclass
class FakeModels:
    folder: str = "/fake"
    files: list = field(default_factory=list)
    complete: bool = True

    def identity(self, mode: str) -> str:
        return f"fake:{mode}"


class FakeEngine(VisionEngine):
    """A VisionEngine with canned text. `delay` seconds between pieces; `fail_load` makes load() raise like a corrupt
    file would."""

    def __init__(
        self,
        config: EngineConfig | None = None,
        *,
        markdown: str | list[str] = PAGE_MARKDOWN,
        answer: str = ANSWER,
        delay: float = 0.002,
        load_delay: float = 0.0,
        fail_load: str | None = None,
        text_model: str = "Fake-Q4_K_M.gguf",
        image_tokens: int = 64,
        seconds: float | None = None,
    ) -> None:
        self.config = config or EngineConfig(mode="16x", device="cpu")
        self.models = FakeModels()
        self.info = EngineInfo()
        self.markdown = markdown
        self.answer = answer
        self.delay = delay
        self.load_delay = load_delay
        self.fail_load = fail_load
        self.text_model = text_model
        self.image_tokens = image_tokens
        self.seconds = (
            seconds  # reported run time (the screenshots show plausible figures); None: the real one
        )
        self.parses = 0
        self._loaded = False
        self.runs: list[tuple[str, str | None]] = []  # (task kind, page key)
        self.threads: set[str] = set()
        self.closed = False
        self.started = threading.Event()

    @property
    def loaded(self) -> bool:
        return self._loaded

    @property
    def mode(self) -> str:
        return self.config.mode

    @property
    def identity(self) -> str:
        return self.models.identity(self.config.mode)

    @property
    def context_tokens(self) -> int:
        return self.config.n_ctx

    def load(self) -> None:
        self.threads.add(threading.current_thread().name)
        time.sleep(self.load_delay)
        if self.fail_load:
            raise ModelInvalid(self.fail_load)
        self._loaded = True
        self.info = EngineInfo(
            text_model=self.text_model,
            projector="fake-mmproj.gguf",
            mode=self.config.mode,
            device="cpu",
            n_threads=2,
            load_s=self.load_delay,
        )

    def close(self) -> None:
        self.closed = True
        self._loaded = False

    def run(
        self, task, image=None, *, on_chunk=None, cancel=None, max_tokens=None, page_key=None
    ) -> RunResult:
        if not self._loaded:
            raise EngineNotLoaded("The model is not loaded yet.")
        self.threads.add(threading.current_thread().name)
        self.started.set()
        reused = any(k == page_key for _, k in self.runs) if page_key else False
        self.runs.append((task.kind, page_key))
        if task.kind == "parse":  # a list gives the pages' texts in the order they are parsed
            md = self.markdown
            text = md[self.parses % len(md)] if isinstance(md, list) else md
            self.parses += 1
        else:
            text = self.answer
        t0 = time.perf_counter()
        out: list[str] = []
        finish = Finish.STOP
        for piece in split_chunks(text):
            if cancel is not None and cancel.is_set():
                finish = Finish.CANCELLED
                break
            out.append(piece)
            if on_chunk is not None:
                on_chunk(piece)
            if self.delay:
                time.sleep(self.delay)
        stats = RunStats(
            mode=self.config.mode if task.uses_image else "",
            image_tokens=self.image_tokens if task.uses_image else 0,
            generated_tokens=len(out),
            wall_s=self.seconds if self.seconds is not None else time.perf_counter() - t0,
            image_reused=reused,
        )
        return RunResult("".join(out), finish, stats)


class FakeEngineFactory:
    """Builds FakeEngines and remembers them (and the specs it was given) for the tests to inspect."""

    def __init__(self, **kwargs) -> None:
        self.kwargs = kwargs
        self.engines: list[FakeEngine] = []
        self.specs: list = []

    def __call__(self, spec) -> FakeEngine:
        self.specs.append(spec)
        engine = FakeEngine(EngineConfig(mode=spec.mode, device="cpu", n_ctx=spec.n_ctx), **self.kwargs)
        self.engines.append(engine)
        return engine

    @property
    def engine(self) -> FakeEngine:
        return self.engines[-1]
