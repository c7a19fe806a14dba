"""One pipeline for the CLI and the window: pages in, results out, with progress callbacks and a cancel event.

The CLI calls these functions directly; the GUI's model worker calls the same ones and turns the callbacks into Qt
signals (the Dangerzone pattern). Nothing here knows about Qt or the terminal.

Cached results are looked up before the model is even loaded, so reopening a parsed document costs nothing, and each
finished page is stored the moment it finishes, so a batch that is cancelled or killed resumes where it stopped.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from paperlens.core.engine.contract import VisionEngine
from paperlens.core.errors import DocumentError, EngineError, ImageDecodeError, PageRunError, PaperLensError
from paperlens.core.library import Edit, Library, ResultKey
from paperlens.core.page import Page
from paperlens.core.prompts import LOCATE_MAX_TOKENS, Task, ask_task, locate_task, parse_task
from paperlens.core.results.boxes import Box, parse_boxes
from paperlens.core.runs import DocumentResult, Finish, PageResult, RunResult, RunStats

log = logging.getLogger(__name__)


@dataclass
class Progress:
    """Where a batch stands; `eta_s` is None until one page has been run by the model."""

    done: int
    total: int
    page: int | None = None  # page number being worked on
    eta_s: float | None = None
    message: str = ""

    @property
    def fraction(self) -> float:
        return self.done / self.total if self.total else 1.0


@dataclass
class Callbacks:
    """Plain callables; any may be None. They are called on the thread that runs the pipeline."""

    on_page_start: Callable[[int], None] | None = None  # page number
    on_chunk: Callable[[int, str], None] | None = None  # page number, text piece
    on_page_done: Callable[[PageResult], None] | None = None
    on_progress: Callable[[Progress], None] | None = None
    on_loading: Callable[[str], None] | None = None  # "loading the model..." messages


@dataclass
class PageSource:
    """A page to parse, or the error that stopped it from being rendered."""

    number: int
    page: Page | None = None
    error: str | None = None
    skipped: str | None = None  # why the page is not read ("blank"): no failure, nothing for the model

    @classmethod
    def load(cls, number: int, render: Callable[[], Page]) -> PageSource:
        """Render a page: a blank one becomes a skipped source, any other failure (its sentence) a failed one."""
        from paperlens.core.documents import BlankPage

        try:
            return cls(number=number, page=render())
        except BlankPage:
            return cls(number=number, skipped="blank")
        except PaperLensError as exc:
            return cls(number=number, error=str(exc))


def page_mode(page: Page, engine: VisionEngine) -> str:
    """The image mode a page is read in: the engine's one, or (auto mode) 4x for a dense page and 16x for a sparse
    one, by `paperlens.core.density` (the PDF's text layer is a hint towards 4x)."""
    modes = engine.modes
    if len(modes) == 1:
        return modes[0]
    from paperlens.core.density import choose_mode

    chosen = choose_mode(page.image, page.text)
    return chosen if chosen in modes else modes[0]


def result_key(page: Page, engine: VisionEngine, task: Task, mode: str | None = None) -> ResultKey:
    """Where a page's result is stored: under the image mode it was read in (`page_mode` unless given)."""
    mode = mode or page_mode(page, engine)
    return ResultKey(
        image_hash=page.image_hash,
        model_id=engine.identity_for(mode),
        mode=mode,
        task=task.cache_name,
    )


def stored_page_results(
    library: Library, source: str, engine: VisionEngine, task: Task
) -> dict[int, RunResult]:
    """A document's stored results this engine would serve, by page number, in any of the engine's image modes (an
    auto-mode engine serves a page read in 4x or in 16x alike); without rendering a page."""
    found: dict[int, RunResult] = {}
    for mode in reversed(engine.modes):  # the first mode wins where a page has both
        found.update(library.page_results(source, engine.identity_for(mode), mode, task.cache_name))
    return found


def _mode_arg(engine: VisionEngine, key: ResultKey | None, page: Page) -> dict[str, Any]:
    """`run`'s mode argument: only for engines that can choose (fixed ones may not take it, see the contract)."""
    if len(engine.modes) < 2:
        return {}
    mode = key.mode if key is not None and key.mode in engine.modes else page_mode(page, engine)
    return {"mode": mode}


class EtaClock:
    """Estimates the time left from the pages the model actually ran (cached pages cost nothing)."""

    def __init__(self, total: int) -> None:
        self.total = total
        self.done = 0
        self.model_pages = 0
        self.model_time = 0.0

    def page_done(self, seconds: float | None) -> None:
        self.done += 1
        if seconds is not None:
            self.model_pages += 1
            self.model_time += seconds

    def eta(self) -> float | None:
        if not self.model_pages:
            return None
        return self.model_time / self.model_pages * (self.total - self.done)


def parse_pages(
    sources: Iterable[PageSource],
    total: int,
    engine: VisionEngine,
    *,
    library: Library | None = None,
    use_cache: bool = True,
    cancel: threading.Event | None = None,
    callbacks: Callbacks | None = None,
    task: Task | None = None,
    source_name: str = "",
) -> DocumentResult:
    """Parse pages to Markdown in order. A page that fails is recorded with its error and the rest go on.

    Errors that concern every page (the model cannot load, out of memory) raise after the finished pages were saved.
    Cancel stops after the page in flight, which is kept as a cancelled partial result (never cached).
    """
    cb = callbacks or Callbacks()
    cancel = cancel or threading.Event()
    task = task or parse_task()
    result = DocumentResult(source=source_name)
    clock = EtaClock(total)

    def progress(page: int | None, message: str = "") -> None:
        if cb.on_progress:
            cb.on_progress(
                Progress(done=clock.done, total=total, page=page, eta_s=clock.eta(), message=message)
            )

    progress(None)
    jobs = max(1, engine.parallel_runs)
    if jobs > 1:
        _parse_concurrently(
            sources, engine, jobs, library, use_cache, cancel, cb, task, source_name, result, clock, progress
        )
        return result
    for src in sources:
        if cancel.is_set():
            break
        if cb.on_page_start:
            cb.on_page_start(src.number)
        settled, key = _without_model(src, engine, library, use_cache, task, source_name)
        if settled is not None:
            _page_done(result, settled, cb, clock, None)
            progress(src.number)
            continue
        assert src.page is not None
        _load(engine, cb)
        key = _fit_key(key, src.page, engine, task)
        progress(src.number, f"Reading page {src.number}")
        t0 = time.perf_counter()
        try:
            run = engine.run(
                task,
                src.page.image,
                on_chunk=_page_chunks(cb.on_chunk, src.number),
                cancel=cancel,
                page_key=src.page.image_hash,
                **_mode_arg(engine, key, src.page),
            )
        except (ImageDecodeError, DocumentError, PageRunError) as exc:
            pr = PageResult(page=src.number, error=str(exc))
            _page_done(result, pr, cb, clock, None)
            progress(src.number)
            continue
        pr = _store(src, run, key, library, task)
        _page_done(result, pr, cb, clock, time.perf_counter() - t0)
        progress(src.number)
        if run.cancelled:
            break
    return result


def _load(engine: VisionEngine, cb: Callbacks) -> None:
    if not engine.loaded:
        if cb.on_loading:
            cb.on_loading("Loading the model…")
        engine.load()


def _fit_key(key: ResultKey | None, page: Page, engine: VisionEngine, task: Task) -> ResultKey | None:
    """The key again when loading changed the modes the engine can run (a server found to be vLLM in auto mode)."""
    if key is None or key.mode in engine.modes:
        return key
    return result_key(page, engine, task)


def _without_model(
    src: PageSource,
    engine: VisionEngine,
    library: Library | None,
    use_cache: bool,
    task: Task,
    source_name: str,
) -> tuple[PageResult | None, ResultKey | None]:
    """A page's result when the model is not needed (skipped, unreadable, cached, hand-edited), else its cache key."""
    if src.skipped and not src.error:
        return PageResult.skip(src.number, src.skipped), None
    if src.error or src.page is None:
        pr = PageResult(page=src.number, finish=Finish.STOP, error=src.error or "The page could not be read.")
        return pr, None
    if library is None:
        return None, None
    if source_name:  # lets a reopened document show its results before any page is rendered
        library.set_page_hashes(source_name, {src.number: src.page.image_hash})
    key = result_key(src.page, engine, task)
    edit = library.get_edit(src.page.image_hash, task.kind)
    cached = _cached(library, key, engine) if use_cache else None
    if cached is not None or (edit is not None and use_cache):
        # a hand edit is served as it is, whichever mode or model is chosen now: the user's text wins
        pr = PageResult(src.number, cached=True)
        if cached is not None:
            pr.markdown, pr.finish, pr.stats = cached.text, cached.finish, cached.stats
        return _with_edit(pr, edit), key
    return None, key


def _cached(library: Library, key: ResultKey, engine: VisionEngine) -> RunResult | None:
    """The stored result for `key`; in auto mode, else the page's result in the engine's other image mode (a page
    read in 16x is not read again in 4x because the measure now says so, and the reverse)."""
    found = library.get(key)
    for mode in engine.modes:
        if found is not None:
            break
        if mode != key.mode:
            found = library.get(ResultKey(key.image_hash, engine.identity_for(mode), mode, key.task))
            if found is not None and not found.stats.mode:
                found.stats.mode = mode
    return found


def _store(
    src: PageSource, run: RunResult, key: ResultKey | None, library: Library | None, task: Task
) -> PageResult:
    """Keep a model run in the library the moment it ends; the page's result (a hand edit wins)."""
    pr = PageResult(src.number, run.text, run.finish, run.stats)
    if library is not None and key is not None and src.page is not None and (run.complete or run.text):
        library.put(key, run)  # a cancelled page is kept to show, never served as final
        pr = _with_edit(pr, library.get_edit(src.page.image_hash, task.kind))
    return pr


def _parse_concurrently(
    sources: Iterable[PageSource],
    engine: VisionEngine,
    jobs: int,
    library: Library | None,
    use_cache: bool,
    cancel: threading.Event,
    cb: Callbacks,
    task: Task,
    source_name: str,
    result: DocumentResult,
    clock: EtaClock,
    progress: Callable[..., None],
) -> None:
    """`jobs` pages with the model at once (engines that allow it: remote servers), everything else as in order.

    Pages are rendered and looked up here, on the pipeline's thread; workers only run the engine and hand their
    streamed pieces and results back through a queue, so every callback still runs on the pipeline's thread. A
    finished page is stored at once, whichever page finishes first; callbacks get the pages in page order.
    """
    events: queue.Queue[tuple] = queue.Queue()
    halt = threading.Event()  # the user's cancel, or a failure that concerns every page
    order: list[int] = []
    ready: dict[int, tuple[PageResult, float | None]] = {}
    delivered = 0
    in_flight = 0
    exhausted = False
    fatal: BaseException | None = None
    pages = iter(sources)

    def work(src: PageSource) -> None:
        assert src.page is not None
        t0 = time.perf_counter()
        try:
            run = engine.run(
                task,
                src.page.image,
                on_chunk=lambda piece: events.put(("chunk", src.number, piece)),
                cancel=halt,
                page_key=src.page.image_hash,
                **_mode_arg(engine, keys.get(src.number), src.page),
            )
            events.put(("run", src, run, time.perf_counter() - t0))
        except (ImageDecodeError, DocumentError, PageRunError) as exc:
            events.put(("error", src, str(exc)))
        except BaseException as exc:  # handed to the pipeline's thread, raised there
            events.put(("fatal", src, exc))

    def deliver() -> None:
        nonlocal delivered
        while delivered < len(order) and order[delivered] in ready:
            number = order[delivered]
            pr, seconds = ready.pop(number)
            _page_done(result, pr, cb, clock, seconds)
            progress(number)
            delivered += 1

    keys: dict[int, ResultKey | None] = {}
    with ThreadPoolExecutor(max_workers=jobs, thread_name_prefix="paperlens-page") as pool:
        while True:
            if cancel.is_set():
                halt.set()
            while not halt.is_set() and not exhausted and in_flight < jobs:
                src = next(pages, None)
                if src is None:
                    exhausted = True
                    break
                order.append(src.number)
                if cb.on_page_start:
                    cb.on_page_start(src.number)
                settled, keys[src.number] = _without_model(src, engine, library, use_cache, task, source_name)
                if settled is not None:
                    ready[src.number] = (settled, None)
                    deliver()
                    continue
                try:
                    _load(engine, cb)
                except BaseException:
                    halt.set()
                    raise
                assert src.page is not None
                keys[src.number] = _fit_key(keys[src.number], src.page, engine, task)
                progress(src.number, f"Reading page {src.number}")
                in_flight += 1
                pool.submit(work, src)
            deliver()
            if in_flight == 0 and (exhausted or halt.is_set()):
                break
            try:
                event = events.get(timeout=0.1)
            except queue.Empty:
                continue
            if event[0] == "chunk":
                if cb.on_chunk:
                    cb.on_chunk(event[1], event[2])
                continue
            in_flight -= 1
            src = event[1]
            if event[0] == "run":
                run: RunResult = event[2]
                ready[src.number] = (_store(src, run, keys.get(src.number), library, task), event[3])
                if run.cancelled:
                    halt.set()
            elif event[0] == "error":
                ready[src.number] = (PageResult(page=src.number, error=event[2]), None)
            else:
                fatal = fatal or event[2]
                halt.set()
                ready[src.number] = (PageResult(page=src.number, error=str(event[2])), None)
    if fatal is not None:
        raise fatal


def _with_edit(pr: PageResult, edit: Edit | None) -> PageResult:
    """The user's hand edit of a page replaces the model's text in every result handed out (the model's text stays
    in the library, and reverting the edit shows it again). A re-run never discards an edit."""
    if edit is not None:
        pr.markdown, pr.edited, pr.finish = edit.text, True, Finish.STOP
    return pr


def _page_chunks(on_chunk: Callable[[int, str], None] | None, number: int) -> Callable[[str], None] | None:
    """The engine streams bare pieces; the callbacks want to know which page each piece belongs to."""
    if on_chunk is None:
        return None
    return lambda piece: on_chunk(number, piece)


def _page_done(
    result: DocumentResult, pr: PageResult, cb: Callbacks, clock: EtaClock, seconds: float | None
) -> None:
    result.pages.append(pr)
    clock.page_done(seconds)
    if cb.on_page_done:
        cb.on_page_done(pr)


def _ready_to_answer(engine: VisionEngine, question: str) -> None:
    """Refuse an empty question before anything costly, then make sure the model is loaded."""
    if not question.strip():
        raise PaperLensError("Type a question first.")
    if not engine.loaded:
        engine.load()


def ask_page(
    engine: VisionEngine,
    page: Page,
    question: str,
    *,
    history: tuple[tuple[str, str], ...] = (),
    on_chunk: Callable[[str], None] | None = None,
    cancel: threading.Event | None = None,
) -> RunResult:
    """Answer a question about one page image. A follow-up on the same page reuses its encoded state."""
    _ready_to_answer(engine, question)
    return engine.run(
        ask_task(question, history), page.image, on_chunk=on_chunk, cancel=cancel, page_key=page.image_hash
    )


@dataclass
class Located:
    """Where on the page an answer came from: the sound boxes of the model's grounding output (maybe none), and the
    run that gave them (its raw text is kept for debugging, never shown as an answer)."""

    boxes: list[Box]
    result: RunResult


def locate_answer(
    engine: VisionEngine,
    page: Page,
    question: str,
    answer: str,
    *,
    history: tuple[tuple[str, str], ...] = (),
    cancel: threading.Event | None = None,
    max_tokens: int = LOCATE_MAX_TOKENS,
) -> Located:
    """Ask, after `answer`, which regions of the page it came from (`core/results/boxes.py` reads the reply).

    A follow-up on the same page: an engine that keeps page states (llama.cpp here) restores the page and reads only
    the chat's text, so this costs a few dozen tokens, not another image encode. A remote server gets the whole
    request again. An answer that already carries its own boxes is not asked about again. A cancelled run, or output
    that makes no sense, gives no boxes.
    """
    own = parse_boxes(answer)
    if own:
        return Located(own, RunResult(answer, Finish.STOP, RunStats()))
    if not answer.strip():
        return Located([], RunResult("", Finish.STOP, RunStats()))
    _ready_to_answer(engine, question)
    run = engine.run(
        locate_task(question, answer, history, max_tokens),
        page.image,
        cancel=cancel,
        page_key=page.image_hash,
    )
    return Located([] if run.cancelled else parse_boxes(run.text), run)


ANSWER_RESERVE_TOKENS = 1024  # room kept for the answer of a whole-document question


@dataclass
class DocumentAnswer:
    result: RunResult
    pages_used: list[int] = field(default_factory=list)
    incomplete: bool = False  # pages with text were left out to fit the context: the answer may miss them
    pages_with_text: int = 0


def ask_document(
    engine: VisionEngine,
    pages: list[tuple[int, str]],
    question: str,
    *,
    history: tuple[tuple[str, str], ...] = (),
    on_chunk: Callable[[str], None] | None = None,
    cancel: threading.Event | None = None,
) -> DocumentAnswer:
    """Answer from the parsed text (or PDF text layer) of the document's pages, any number of them.

    When the whole text does not fit the context, the pages most relevant to the question are chosen
    (`core/retrieval.py`), counted in the engine's own tokens; the answer names the pages it was given.
    """
    from paperlens.core.prompts import ask_document_task, build_prompt
    from paperlens.core.retrieval import select_context

    _ready_to_answer(engine, question)
    frame = build_prompt(ask_document_task(question, "", history))
    overhead = engine.count_tokens(frame.before + frame.after)
    budget = engine.context_tokens - overhead - ANSWER_RESERVE_TOKENS
    ctx = select_context(pages, question, engine.count_tokens, max(budget, 0))
    if not ctx.pages_used:
        raise EngineError(
            "There is no text to answer from yet."
            if not ctx.pages_with_text
            else "The question is too long.",
            hint="Parse the document first, or ask about the current page."
            if not ctx.pages_with_text
            else "Shorten the question or start a new chat.",
        )
    run = engine.run(ask_document_task(question, ctx.text, history), None, on_chunk=on_chunk, cancel=cancel)
    return DocumentAnswer(
        result=run, pages_used=ctx.pages_used, incomplete=ctx.incomplete, pages_with_text=ctx.pages_with_text
    )
