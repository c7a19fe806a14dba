"""The engine contract: what the pipeline, the CLI and the window may ask of any engine, and nothing more.

Every engine (llama.cpp in this process, a server speaking the OpenAI chat API, the test engines) is a `VisionEngine`.
The pipeline only ever calls what is declared here, so a new engine is one module plus one `register()` line in
`paperlens.core.engine.registry`, and the shared contract tests (`tests/contract/`) run against it unchanged.

Threads: exactly one thread uses an engine at a time (the window's model thread or the CLI's main thread), unless the
engine declares `parallel_runs` > 1 (remote servers): then that many `run` calls may overlap. The `cancel` event passed
to `run` may be set from any thread, and the engine checks it between tokens.
"""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from paperlens.core.prompts import Task
from paperlens.core.runs import RunResult

if TYPE_CHECKING:
    from PIL import Image

ChunkCallback = Callable[[str], None]


@dataclass
class EngineInfo:
    """What the status bar and `paperlens doctor` show about a loaded engine."""

    text_model: str = ""
    projector: str = ""
    mode: str = ""
    device: str = ""
    n_threads: int = 0
    load_s: float = 0.0


class VisionEngine(ABC):
    """Runs tasks (parse a page, ask about a page or a document) and streams the answer.

    Life cycle: `preflight()` (cheap: are the files / the server there?), `load()` once, `run()` many times,
    `close()`. Errors are `paperlens.core.errors.PaperLensError` subclasses carrying a sentence for the user.
    """

    info: EngineInfo

    @property
    @abstractmethod
    def loaded(self) -> bool:
        """True between a successful `load()` and `close()`."""

    @property
    @abstractmethod
    def mode(self) -> str:
        """The mode the engine was set to: "4x" or "16x" (then part of every cached result's key), or "auto"."""

    @property
    def modes(self) -> tuple[str, ...]:
        """The image modes `run(mode=...)` may ask for: just `(self.mode,)` for an engine fixed to one; 4x and 16x
        for an engine in auto mode that can read each page in either (the pipeline then chooses per page)."""
        return (self.mode,)

    def identity_for(self, mode: str) -> str:
        """The identity of results made in `mode` (one of `modes`): what an engine fixed to that mode calls
        `identity`, so that a page read in auto mode is found again in that mode, and the reverse."""
        return self.identity

    @property
    @abstractmethod
    def identity(self) -> str:
        """A stable id of the model behind this engine, for keying cached results (with `mode` beside it).

        Two engines with the same identity and mode must give the same result for the same page and task; results
        of different identities are never mixed. A remote engine names its server's model here.
        """

    @property
    @abstractmethod
    def context_tokens(self) -> int:
        """How many tokens one run may hold (prompt + answer): bounds whole-document questions."""

    @property
    def parallel_runs(self) -> int:
        """How many `run` calls may be in flight at once. 1 (the default) for an engine that owns one model in this
        process; an engine that says more must be thread-safe (the pipeline then runs that many pages at once)."""
        return 1

    def count_tokens(self, text: str) -> int:
        """How many tokens `text` takes in this engine's model. Engines that can tokenize say exactly; the default
        is a cautious estimate (3 characters a token; MiniCPM-V's tokenizer averages about 3.5 on prose)."""
        return -(-len(text) // 3)

    def preflight(self) -> None:  # noqa: B027 - an optional hook: engines with nothing to check keep it
        """Fail fast, before any page is rendered, when the engine clearly cannot run (no model files...)."""

    @abstractmethod
    def load(self) -> None:
        """Make the engine ready to run. Idempotent."""

    @abstractmethod
    def run(
        self,
        task: Task,
        image: Image.Image | None = None,
        *,
        on_chunk: ChunkCallback | None = None,
        cancel: threading.Event | None = None,
        max_tokens: int | None = None,
        page_key: str | None = None,
        mode: str | None = None,
    ) -> RunResult:
        """Run one task, streaming text pieces to `on_chunk`; cancel keeps the partial text (finish=cancelled).

        `image` is the page for tasks that use one (`task.uses_image`); `page_key` names that image so a follow-up
        question on the same page can reuse its encoded state. `mode` (one of `modes`) is the image mode to read the
        page in; None: the engine's own (an auto engine reuses the mode of the page's kept state, else measures the
        page). The pipeline passes `mode` only to engines with more than one of `modes`, so an engine fixed to one
        mode may leave it out. `RunResult.stats.mode` says the mode used. Raises `EngineNotLoaded` before `load()`.
        """

    @abstractmethod
    def close(self) -> None:
        """Free what `load()` took. The engine may be loaded again afterwards."""

    def forget_pages(self) -> None:  # noqa: B027 - engines without page state have nothing to forget
        """Drop any kept per-page state (memory), e.g. when documents are closed."""

    def __enter__(self) -> VisionEngine:
        self.load()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
