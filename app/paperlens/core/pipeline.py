"""One pipeline for the CLI and the window: pages in, results out, with progress callbacks and a cancel event.

The CLI calls these functions directly; the GUI's model worker calls the same ones and turns the callbacks into Qt
signals (the Dangerzone pattern). Nothing here knows about Qt or the terminal.

Cached results are looked up before the model is even loaded, so reopening a parsed document costs nothing, and each
finished page is stored the moment it finishes, so a batch that is cancelled or killed resumes where it stopped.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from paperlens.core.engine.contract import VisionEngine
from paperlens.core.errors import DocumentError, EngineError, ImageDecodeError, PaperLensError
from paperlens.core.library import Edit, Library, ResultKey
from paperlens.core.page import Page
from paperlens.core.prompts import Task, ask_task, parse_task
from paperlens.core.runs import DocumentResult, Finish, PageResult, RunResult

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


def result_key(page: Page, engine: VisionEngine, task: Task) -> ResultKey:
    return ResultKey(
        image_hash=page.image_hash,
        model_id=engine.identity,
        mode=engine.mode,
        task=task.cache_name,
    )


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
    for src in sources:
        if cancel.is_set():
            break
        if cb.on_page_start:
            cb.on_page_start(src.number)
        if src.skipped and not src.error:
            _page_done(result, PageResult.skip(src.number, src.skipped), cb, clock, None)
            progress(src.number)
            continue
        if src.error or src.page is None:
            pr = PageResult(
                page=src.number, finish=Finish.STOP, error=src.error or "The page could not be read."
            )
            _page_done(result, pr, cb, clock, None)
            progress(src.number)
            continue
        key = None
        if library is not None:
            if source_name:  # lets a reopened document show its results before any page is rendered
                library.set_page_hashes(source_name, {src.number: src.page.image_hash})
            key = result_key(src.page, engine, task)
            edit = library.get_edit(src.page.image_hash, task.kind)
            cached = library.get(key) if use_cache else None
            if cached is not None or (edit is not None and use_cache):
                # a hand edit is served as it is, whichever mode or model is chosen now: the user's text wins
                pr = PageResult(src.number, cached=True)
                if cached is not None:
                    pr.markdown, pr.finish, pr.stats = cached.text, cached.finish, cached.stats
                _page_done(result, _with_edit(pr, edit), cb, clock, None)
                progress(src.number)
                continue
        if not engine.loaded:
            if cb.on_loading:
                cb.on_loading("Loading the model…")
            engine.load()
        progress(src.number, f"Reading page {src.number}")
        t0 = time.perf_counter()
        try:
            run = engine.run(
                task,
                src.page.image,
                on_chunk=_page_chunks(cb.on_chunk, src.number),
                cancel=cancel,
                page_key=src.page.image_hash,
            )
        except (ImageDecodeError, DocumentError) as exc:
            pr = PageResult(page=src.number, error=str(exc))
            _page_done(result, pr, cb, clock, None)
            progress(src.number)
            continue
        pr = PageResult(src.number, run.text, run.finish, run.stats)
        if library is not None and key is not None and (run.complete or run.text):
            library.put(key, run)  # a cancelled page is kept to show, never served as final
            pr = _with_edit(pr, library.get_edit(src.page.image_hash, task.kind))
        _page_done(result, pr, cb, clock, time.perf_counter() - t0)
        progress(src.number)
        if run.cancelled:
            break
    return result


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
