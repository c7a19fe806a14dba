"""The model thread: one long-lived QThread whose worker owns the engine, and the GUI-side host that drives it.

Why this shape (Buzz's queue worker, Dangerzone's callbacks-to-signals):
- llama.cpp state is not thread-safe and loading it costs seconds, so exactly one thread ever touches the engine; it
  lives as long as the window and runs one job at a time from a queue kept by the host.
- The worker never touches widgets. It calls the same core pipeline as the CLI and turns the pipeline's callbacks into
  signals that carry plain data (ints, strings, dataclasses).
- Tokens do not travel as one signal each: a random twin emits thousands a second and would flood the GUI's event
  queue. The worker appends them to a locked `StreamBuffer`, and the host drains it on a 40 ms timer, so the views
  redraw at most 25 times a second whatever the model's speed.
- Cancel is a `threading.Event` set straight from the GUI thread; the engine checks it between tokens and between
  image slices, so it works at any moment without waiting for the worker's event loop.
"""

from __future__ import annotations

import logging
import threading
import time
import traceback
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, ClassVar

from PySide6.QtCore import QObject, QThread, QTimer, Signal, Slot

from paperlens.core.engine.contract import VisionEngine
from paperlens.core.errors import PaperLensError
from paperlens.core.options import EngineOptions
from paperlens.core.session import ChatScope

log = logging.getLogger(__name__)

FLUSH_INTERVAL_MS = 40

EngineFactory = Callable[[EngineOptions], VisionEngine]
LibraryFactory = Callable[[], Any]


def real_engine_factory(options: EngineOptions) -> VisionEngine:
    """Build (not load) the engine the options name. Runs in the model thread, so llama_cpp is imported there."""
    from paperlens.core.engine import build_engine

    return build_engine(options)


def default_library_factory():
    """The results cache, or None when it cannot be opened (the window then simply runs without a cache)."""
    from paperlens.core.library import Library

    try:
        return Library()
    except PaperLensError as exc:
        log.warning("running without the results cache: %s", exc)
        return None


# -- jobs (plain data, each with the code that runs it in the model thread) -------------------------------------------
class JobKind(str, Enum):
    PARSE = "parse"
    ASK = "ask"
    LOCATE = "locate"  # where on the page an answer came from


@dataclass
class JobOutcome:
    """How a job ended. `result` is a DocumentResult (parse) or RunResult (ask); `error` is the user's sentence."""

    job_id: int
    kind: JobKind
    doc_id: str
    cancelled: bool = False
    error: str | None = None
    result: Any = None
    pages_used: list[int] = field(default_factory=list)
    pages_with_text: int = (
        0  # whole-document answers: the pages that had text (more than pages_used: incomplete)
    )
    elapsed_s: float = 0.0
    request: Any = None
    qa_id: int | None = None  # the answer's row in the library's Q&A history, when it was kept


@dataclass
class Job:
    """A unit of model work. The host queues jobs; the worker calls `run` in the model thread, one at a time.

    A new kind of job is a subclass with its own `run`: the host, the worker and their signals stay as they are.
    """

    doc_id: str
    source_name: str = field(default="", kw_only=True)
    job_id: int = field(default=0, kw_only=True)
    cancel: threading.Event = field(default_factory=threading.Event, kw_only=True)
    kind: ClassVar[JobKind]

    def run(self, worker: ModelWorker, engine: VisionEngine, outcome: JobOutcome) -> None:
        """Do the work, filling `outcome.result`; raise PaperLensError with the user's sentence on failure."""
        raise NotImplementedError

    @property
    def doing(self) -> str:
        """For the sentence of an unexpected failure: "Something went wrong while {doing}"."""
        return "working"


@dataclass
class ParseRequest(Job):
    """Parse these pages of one document. `load_page(number)` renders a page; it is called in the model thread."""

    pages: list[int]
    load_page: Callable[[int], Any]  # page number -> paperlens.core.page.Page (may raise PaperLensError)
    use_cache: bool = True
    kind: ClassVar[JobKind] = JobKind.PARSE

    @property
    def doing(self) -> str:
        return "parsing"

    def run(self, worker: ModelWorker, engine: VisionEngine, outcome: JobOutcome) -> None:
        from paperlens.core.pipeline import Callbacks, PageSource, parse_pages

        def sources():
            for number in self.pages:
                if self.cancel.is_set():
                    return
                yield PageSource.load(number, lambda n=number: self.load_page(n))

        job = self.job_id
        buffer = worker.buffer

        def on_chunk(page: int, piece: str) -> None:
            buffer.append(job, page, piece)

        def on_progress(p) -> None:
            worker.announce(engine)
            worker.progress.emit(job, p)

        callbacks = Callbacks(
            on_page_start=lambda n: worker.page_started.emit(job, n),
            on_chunk=on_chunk,
            on_page_done=lambda pr: worker.page_done.emit(job, pr),
            on_progress=on_progress,
            on_loading=worker.loading.emit,
        )
        outcome.result = parse_pages(
            sources(),
            len(self.pages),
            engine,
            library=worker.library(),
            use_cache=self.use_cache,
            cancel=self.cancel,
            callbacks=callbacks,
            source_name=self.source_name,
        )
        worker.announce(engine)


@dataclass
class AskRequest(Job):
    """A question about one page (its image) or the whole document (its parsed text)."""

    question: str
    scope: ChatScope
    page_no: int | None = None
    load_page: Callable[[int], Any] | None = None
    document_texts: Callable[[], list[tuple[int, str]]] | None = None  # called in the model thread
    history: tuple[tuple[str, str], ...] = ()
    kind: ClassVar[JobKind] = JobKind.ASK

    @property
    def doing(self) -> str:
        return "answering"

    def run(self, worker: ModelWorker, engine: VisionEngine, outcome: JobOutcome) -> None:
        from paperlens.core.pipeline import ask_document, ask_page

        job = self.job_id
        buffer = worker.buffer

        def on_chunk(piece: str) -> None:
            buffer.append(job, 0, piece)

        if not engine.loaded:
            worker.loading.emit("Loading the model…")
            engine.load()
        worker.announce(engine)
        if self.scope == ChatScope.PAGE:
            if self.load_page is None or self.page_no is None:
                raise PaperLensError("There is no page to ask about.")
            page = self.load_page(self.page_no)
            outcome.result = ask_page(
                engine, page, self.question, history=self.history, on_chunk=on_chunk, cancel=self.cancel
            )
            outcome.pages_used = [self.page_no]
        else:
            texts = self.document_texts() if self.document_texts else []
            answer = ask_document(
                engine, texts, self.question, history=self.history, on_chunk=on_chunk, cancel=self.cancel
            )
            outcome.result = answer.result
            outcome.pages_used = list(answer.pages_used)
            outcome.pages_with_text = answer.pages_with_text
        self._store_answer(worker, engine, outcome)

    def _store_answer(self, worker: ModelWorker, engine: VisionEngine, outcome: JobOutcome) -> None:
        """Keep the exchange in the library's Q&A history when there is one (best effort: never fails a job)."""
        lib = worker.library()
        result = outcome.result
        if lib is None or result is None or not self.source_name or not result.complete:
            return
        try:
            outcome.qa_id = lib.add_qa(
                self.source_name,
                self.question,
                result.text,
                page=self.page_no if self.scope == ChatScope.PAGE else None,
                pages_used=outcome.pages_used,
                model_id=engine.identity,
                mode=result.stats.mode,
                stats=result.stats,
            )
        except Exception:
            log.debug("could not store the Q&A", exc_info=True)


@dataclass
class LocateRequest(Job):
    """After a page answer: which regions of the page it came from (a short follow-up on the kept page state).

    Its result is a `core.pipeline.Located`; the boxes are kept with the answer in the library when it is there. It
    streams nothing (the model's grounding markup is never shown), and a new question cancels it.
    """

    question: str
    answer: str
    page_no: int
    load_page: Callable[[int], Any]
    history: tuple[tuple[str, str], ...] = ()
    qa_id: int | None = None
    kind: ClassVar[JobKind] = JobKind.LOCATE

    @property
    def doing(self) -> str:
        return "finding where the answer came from"

    def run(self, worker: ModelWorker, engine: VisionEngine, outcome: JobOutcome) -> None:
        from paperlens.core.pipeline import locate_answer
        from paperlens.core.results.boxes import boxes_to_json

        if self.cancel.is_set():
            return
        if not engine.loaded:
            worker.loading.emit("Loading the model…")
            engine.load()
        page = self.load_page(self.page_no)
        located = locate_answer(
            engine, page, self.question, self.answer, history=self.history, cancel=self.cancel
        )
        outcome.result = located
        lib = worker.library()
        if lib is not None and self.qa_id is not None and located.boxes:
            try:
                lib.set_qa_boxes(self.qa_id, boxes_to_json(located.boxes))
            except Exception:
                log.debug("could not keep the answer's boxes", exc_info=True)


class StreamBuffer:
    """Text pieces from the model thread, collected under a lock until the GUI's timer takes them."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pieces: list[tuple[int, int, str]] = []  # (job, page or 0, piece)

    def append(self, job_id: int, page: int, piece: str) -> None:
        with self._lock:
            self._pieces.append((job_id, page, piece))

    def take(self) -> list[tuple[int, int, str]]:
        """Everything buffered, merged into one string per (job, page) in arrival order."""
        with self._lock:
            pieces, self._pieces = self._pieces, []
        merged: list[tuple[int, int, list[str]]] = []
        for job, page, piece in pieces:
            if merged and merged[-1][0] == job and merged[-1][1] == page:
                merged[-1][2].append(piece)
            else:
                merged.append((job, page, [piece]))
        return [(job, page, "".join(parts)) for job, page, parts in merged]


# -- the worker (lives in the model thread) ---------------------------------------------------------------------------
class ModelWorker(QObject):
    """Owns the engine and the results cache. Every slot runs in the model thread; nothing here touches a widget."""

    loading = Signal(str)
    engine_ready = Signal(object)  # EngineInfo
    engine_failed = Signal(str, str)  # the reason, and "missing" when there is no model at all
    page_started = Signal(int, int)  # job, page
    page_done = Signal(int, object)  # job, PageResult
    progress = Signal(int, object)  # job, Progress
    finished = Signal(object)  # JobOutcome
    library_ready = Signal(object)  # the Library (it is safe to share between threads), or None
    stopped = Signal()

    def __init__(self, factory: EngineFactory, library_factory: LibraryFactory, buffer: StreamBuffer) -> None:
        super().__init__()
        self._factory = factory
        self._library_factory = library_factory
        self.buffer = buffer
        self._spec: EngineOptions | None = None
        self._engine = None
        self._announced = False
        self._library = None
        self._library_tried = False

    @Slot()
    def start(self) -> None:
        """Open the results cache in this thread (it checks the database file, which can take a moment)."""
        self.library_ready.emit(self.library())

    # engine lifecycle
    @Slot(object)
    def configure(self, spec: EngineOptions) -> None:
        """Take new settings; a different spec drops the loaded engine so the next job loads the new one."""
        if spec != self._spec:
            self._drop_engine()
        self._spec = spec

    @Slot()
    def preimport(self) -> None:
        """Import llama.cpp's bindings now, while nothing runs: loading its shared libraries holds the GIL for
        about 50-100 ms, which would otherwise stall the window at the start of the first page."""
        try:
            import llama_cpp  # noqa: F401
            import llama_cpp.mtmd_cpp  # noqa: F401
        except Exception as exc:  # a broken install shows up, with its sentence, when the model loads
            log.debug("could not import llama_cpp early: %s", exc)

    @Slot()
    def reload(self) -> None:
        """Forget the engine (and its scan of the model folder) so the next job looks at the files again."""
        self._drop_engine()

    @Slot()
    def preload(self) -> None:
        try:
            engine = self._get_engine()
            if not engine.loaded:
                self.loading.emit("Loading the model…")
                engine.load()
            self.announce(engine)
        except PaperLensError as exc:
            self._engine_failed(exc)
        except Exception as exc:  # a bug must not kill the thread
            log.exception("unexpected error while loading the model")
            self._engine_failed(PaperLensError(f"The model could not be loaded ({exc})."))

    @Slot()
    def stop(self) -> None:
        """Free the engine in the thread that owns it, then end the thread's event loop."""
        self._drop_engine()
        lib, self._library = self._library, None
        if lib is not None and hasattr(lib, "close"):
            try:
                lib.close()
            except Exception:  # closing on the way out: nothing useful to do with a failure
                log.debug("library close failed", exc_info=True)
        self.stopped.emit()
        thread = QThread.currentThread()
        thread.quit()

    def _drop_engine(self) -> None:
        engine, self._engine = self._engine, None
        self._announced = False
        if engine is not None:
            try:
                engine.close()
            except Exception:
                log.debug("engine close failed", exc_info=True)

    def _get_engine(self):
        if self._engine is None:
            if self._spec is None:
                raise PaperLensError("The model settings are not known yet.")
            self._engine = self._factory(self._spec)
            self._announced = False
        return self._engine

    def announce(self, engine: VisionEngine) -> None:
        if engine.loaded and not self._announced:
            self._announced = True
            self.engine_ready.emit(engine.info)

    def _engine_failed(self, exc: Exception) -> None:
        from paperlens.core.errors import ModelNotFound

        self._drop_engine()  # the next attempt builds and scans afresh (the user may have fixed the files)
        self.engine_failed.emit(str(exc), "missing" if isinstance(exc, ModelNotFound) else "failed")

    def library(self):
        if not self._library_tried:
            self._library_tried = True
            try:
                self._library = self._library_factory()
            except Exception as exc:
                log.warning("running without the results cache: %s", exc)
                self._library = None
        return self._library

    # jobs
    @Slot(object)
    def run_job(self, job: Job) -> None:
        t0 = time.perf_counter()
        outcome = JobOutcome(job.job_id, job.kind, job.doc_id, request=job)
        engine = None
        try:
            engine = self._get_engine()
            job.run(self, engine, outcome)
        except Exception as exc:  # PaperLensError: its sentence; anything else: logged and named
            self._job_failed(outcome, engine, exc, job.doing)
        outcome.cancelled = job.cancel.is_set()
        outcome.elapsed_s = time.perf_counter() - t0
        self.finished.emit(outcome)

    def _job_failed(self, outcome: JobOutcome, engine, exc: Exception, doing: str) -> None:
        """Record why a job failed; when the model never loaded, also say so to the window (its banner)."""
        if isinstance(exc, PaperLensError):
            outcome.error, reason = str(exc), exc
        else:
            log.error("job failed while %s:\n%s", doing, traceback.format_exc())
            outcome.error = f"Something went wrong while {doing} ({type(exc).__name__}: {exc})."
            reason = PaperLensError(outcome.error)
        if engine is None or not engine.loaded:
            self._engine_failed(reason)


# -- the host (lives in the GUI thread) -------------------------------------------------------------------------------
class ModelHost(QObject):
    """The GUI's handle on the model thread: submits jobs one at a time, cancels, streams text, shuts down."""

    # re-emitted in the GUI thread
    loading = Signal(str)
    engine_ready = Signal(object)
    engine_failed = Signal(str, str)
    page_started = Signal(int, int)
    page_done = Signal(int, object)
    progress = Signal(int, object)
    finished = Signal(object)
    library_ready = Signal(object)
    text = Signal(int, int, str)  # job, page (0 for answers), buffered text
    # No bool argument: PySide6 6.12 on Python 3.11 drops a reference to True/False on every Python-side emit of a
    # bool, which crashes the interpreter after a few hundred emits. Receivers read `busy` instead.
    busy_changed = Signal()

    # to the worker (queued across threads)
    _do_run = Signal(object)
    _do_configure = Signal(object)
    _do_reload = Signal()
    _do_preload = Signal()
    _do_stop = Signal()
    _do_start = Signal()
    _do_preimport = Signal()

    def __init__(
        self,
        factory: EngineFactory | None = None,
        library_factory: LibraryFactory | None = None,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.buffer = StreamBuffer()
        self._thread = QThread()
        self._thread.setObjectName("paperlens-model")
        self._worker = ModelWorker(
            factory or real_engine_factory, library_factory or default_library_factory, self.buffer
        )
        self._worker.moveToThread(self._thread)
        self._thread.finished.connect(self._worker.deleteLater)

        self._do_run.connect(self._worker.run_job)
        self._do_configure.connect(self._worker.configure)
        self._do_reload.connect(self._worker.reload)
        self._do_preload.connect(self._worker.preload)
        self._do_stop.connect(self._worker.stop)
        self._do_start.connect(self._worker.start)
        self._do_preimport.connect(self._worker.preimport)
        self._worker.library_ready.connect(self._on_library_ready)

        self._worker.loading.connect(self._on_loading)
        self._worker.engine_ready.connect(self._on_engine_ready)
        self._worker.engine_failed.connect(self._on_engine_failed)
        self._worker.page_started.connect(self._on_page_started)
        self._worker.page_done.connect(self._on_page_done)
        self._worker.progress.connect(self._on_progress)
        self._worker.finished.connect(self._on_finished)

        self._timer = QTimer(self)
        self._timer.setInterval(FLUSH_INTERVAL_MS)
        self._timer.timeout.connect(self.flush)
        self._next_id = 1
        self._current: Job | None = None
        self._pending: deque[Job] = deque()
        self._stopping = False
        self.library = None
        self._thread.start()
        self._do_start.emit()

    # state
    @property
    def busy(self) -> bool:
        return self._current is not None

    @property
    def current(self) -> Job | None:
        return self._current

    def pending(self) -> list[Job]:
        return list(self._pending)

    # commands
    def configure(self, spec: EngineOptions) -> None:
        self._do_configure.emit(spec)

    def reload(self) -> None:
        self._do_reload.emit()

    def preload(self) -> None:
        self._do_preload.emit()

    def preimport(self) -> None:
        """Have the model thread import llama.cpp's bindings while it is idle (see ModelWorker.preimport)."""
        self._do_preimport.emit()

    def submit(self, request: Job) -> int:
        """Queue a job; it starts when the jobs before it are done. Returns its id."""
        if self._stopping:
            return 0
        request.job_id = self._next_id
        self._next_id += 1
        self._pending.append(request)
        self._dispatch()
        return request.job_id

    def cancel(self) -> None:
        """Stop the running job (it keeps what it produced) and drop the queued ones."""
        dropped, self._pending = list(self._pending), deque()
        if self._current is not None:
            self._current.cancel.set()
        for req in dropped:
            req.cancel.set()
            self.finished.emit(JobOutcome(req.job_id, req.kind, req.doc_id, cancelled=True, request=req))

    def cancel_kind(self, kind: JobKind) -> None:
        """Stop and drop the jobs of one kind (a new question cancels the boxes question still waiting or running)."""
        keep: deque[Job] = deque()
        for req in self._pending:
            if req.kind is kind:
                req.cancel.set()
                self.finished.emit(JobOutcome(req.job_id, req.kind, req.doc_id, cancelled=True, request=req))
            else:
                keep.append(req)
        self._pending = keep
        if self._current is not None and self._current.kind is kind:
            self._current.cancel.set()

    def cancel_document(self, doc_id: str) -> None:
        """Stop and drop the jobs of one document (it is being closed)."""
        keep: deque[Job] = deque()
        for req in self._pending:
            if req.doc_id == doc_id:
                req.cancel.set()
                self.finished.emit(JobOutcome(req.job_id, req.kind, req.doc_id, cancelled=True, request=req))
            else:
                keep.append(req)
        self._pending = keep
        if self._current is not None and self._current.doc_id == doc_id:
            self._current.cancel.set()

    def shutdown(self, timeout_ms: int = 10_000) -> bool:
        """Cancel everything, let the worker free the engine, and wait for the thread. True if it ended in time."""
        if not self._thread.isRunning():
            return True
        self._stopping = True
        self._pending.clear()
        if self._current is not None:
            self._current.cancel.set()
        self._timer.stop()
        self._do_stop.emit()
        ended = self._thread.wait(timeout_ms)
        if not ended:
            log.warning("the model thread did not stop within %d ms", timeout_ms)
        return bool(ended)

    @property
    def running(self) -> bool:
        return self._thread.isRunning()

    # internals
    def _dispatch(self) -> None:
        if self._current is not None or not self._pending or self._stopping:
            return
        req = self._pending.popleft()
        self._current = req
        self._timer.start()
        self.busy_changed.emit()
        self._do_run.emit(req)

    @Slot()
    def flush(self) -> None:
        """Hand the buffered text to the views (called by the 40 ms timer and before every page/job event)."""
        for job, page, text in self.buffer.take():
            self.text.emit(job, page, text)

    @Slot(object)
    def _on_library_ready(self, library) -> None:
        self.library = library
        self.library_ready.emit(library)

    @Slot(str)
    def _on_loading(self, message: str) -> None:
        self.loading.emit(message)

    @Slot(object)
    def _on_engine_ready(self, info) -> None:
        self.engine_ready.emit(info)

    @Slot(str, str)
    def _on_engine_failed(self, message: str, kind: str) -> None:
        self.engine_failed.emit(message, kind)

    @Slot(int, int)
    def _on_page_started(self, job: int, page: int) -> None:
        self.flush()
        self.page_started.emit(job, page)

    @Slot(int, object)
    def _on_page_done(self, job: int, result) -> None:
        self.flush()
        self.page_done.emit(job, result)

    @Slot(int, object)
    def _on_progress(self, job: int, progress) -> None:
        self.progress.emit(job, progress)

    @Slot(object)
    def _on_finished(self, outcome: JobOutcome) -> None:
        self.flush()
        if self._current is not None and self._current.job_id == outcome.job_id:
            self._current = None
        self.finished.emit(outcome)
        if self._current is None:
            if self._pending and not self._stopping:
                self._dispatch()
            else:
                self._timer.stop()
                self.busy_changed.emit()
