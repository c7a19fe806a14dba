"""Many documents in one run: files and folders in, one output per document (mirroring the folders), a summary.

The batch is resumable for free: every finished page is in the library the moment it finishes (keyed by page image,
engine identity, mode and task), so a batch that was killed and run again serves those pages from the library and
only runs the rest. `plan_batch` counts them up front ("resuming: N of M pages already done") without rendering a
page: the library remembers each document's page hashes, and drops them when the file changes.

Used by `paperlens parse PATH...` and by the hot folder (`core/watch.py`); nothing here prints.
"""

from __future__ import annotations

import contextlib
import fnmatch
import functools
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from paperlens.core.engine.contract import VisionEngine
from paperlens.core.errors import DocumentError, PaperLensError
from paperlens.core.library import Library
from paperlens.core.pipeline import Callbacks, PageSource, parse_pages, stored_page_results
from paperlens.core.prompts import Task, parse_task
from paperlens.core.runs import DocumentResult, Finish, PageResult

if TYPE_CHECKING:
    from paperlens.core.documents import Document

# What a folder scan picks up; a file named on the command line is tried whatever its name.
DOCUMENT_SUFFIXES = frozenset({".pdf", ".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp", ".webp", ".gif"})


@dataclass(frozen=True)
class BatchItem:
    path: Path  # the document
    rel: Path  # where its output goes under the output folder (its path below the folder it was found in)


@dataclass
class Inputs:
    items: list[BatchItem] = field(default_factory=list)
    skipped: list[tuple[Path, str]] = field(default_factory=list)  # files in folders that are not documents


def collect_inputs(paths: Iterable[str | Path], glob: str | None = None) -> Inputs:
    """Files as given, folders recursively (sorted), filtered by `glob` (matched against the name and the path
    below the folder). Raises `PaperLensError` for a path that does not exist: a usage error, nothing is run."""
    found = Inputs()
    seen: set[Path] = set()
    for raw in paths:
        root = Path(raw).expanduser()
        if not root.exists():
            raise PaperLensError(f"{raw} does not exist.")
        if not root.is_dir():  # a file, or a pipe or device given by name: opening it says what it is
            candidates = [(root, Path(root.name))]
        else:
            candidates = [(p, p.relative_to(root)) for p in sorted(root.rglob("*")) if not p.is_dir()]
        for path, rel in candidates:
            if glob and not (fnmatch.fnmatch(path.name, glob) or fnmatch.fnmatch(rel.as_posix(), glob)):
                continue
            if any(part.startswith(".") for part in rel.parts) and root.is_dir():
                continue  # hidden files and folders (.DS_Store, .git) are not documents
            if root.is_dir() and not path.is_file():  # never opened: reading a pipe or a device may never end
                found.skipped.append((path, _not_a_file(path)))
                continue
            resolved = path.resolve()
            if resolved in seen:
                continue
            if root.is_dir() and path.suffix.lower() not in DOCUMENT_SUFFIXES:
                found.skipped.append((path, "not a PDF or an image"))
                continue
            seen.add(resolved)
            found.items.append(BatchItem(path, rel))
    return found


def _not_a_file(path: Path) -> str:
    if path.is_symlink() and not path.exists():
        return "a link that leads nowhere (or to itself)"
    return "not a file but a pipe, a socket or a device"


def output_path(out_dir: Path, item: BatchItem, extension: str) -> Path:
    """`DIR/<path below the input folder>.<ext>`: the output tree mirrors the input folders."""
    return out_dir / item.rel.with_suffix(extension)


@dataclass
class DocumentOutcome:
    item: BatchItem
    status: str = "done"  # done | failed | cancelled
    pages: int = 0
    cached: int = 0
    failed_pages: list[tuple[int, str]] = field(default_factory=list)
    skipped_pages: int = 0
    error: str = ""  # why the whole document failed
    outputs: list[Path] = field(default_factory=list)
    result: DocumentResult | None = None

    @property
    def reason(self) -> str:
        if self.error:
            return self.error
        return "; ".join(f"page {n}: {why}" for n, why in self.failed_pages)


@dataclass
class BatchProgress:
    documents_done: int
    documents_total: int
    pages_done: int
    pages_total: int
    pages_per_min: float | None
    eta_s: float | None
    current: Path | None = None


@dataclass
class BatchPlan:
    """What a batch will do: documents, their page counts, and how many pages the library already has."""

    items: list[BatchItem]
    page_counts: dict[Path, int] = field(default_factory=dict)
    pages_done: int = 0  # already in the library for this engine, mode and task

    @property
    def pages_total(self) -> int:
        return sum(self.page_counts.values())


@dataclass
class BatchSummary:
    outcomes: list[DocumentOutcome] = field(default_factory=list)
    skipped: list[tuple[Path, str]] = field(default_factory=list)
    cancelled: bool = False
    seconds: float = 0.0

    @property
    def done(self) -> list[DocumentOutcome]:
        return [o for o in self.outcomes if o.status == "done"]

    @property
    def failed(self) -> list[DocumentOutcome]:
        return [o for o in self.outcomes if o.status == "failed"]

    @property
    def from_cache(self) -> list[DocumentOutcome]:
        return [o for o in self.done if o.pages and o.cached == o.pages - o.skipped_pages]

    @property
    def ok(self) -> bool:
        return not self.failed and not self.cancelled


@dataclass
class BatchCallbacks:
    on_document_start: Callable[[BatchItem], None] | None = None
    on_document_done: Callable[[DocumentOutcome], None] | None = None
    on_page_done: Callable[[BatchItem, PageResult], None] | None = None
    on_progress: Callable[[BatchProgress], None] | None = None
    on_loading: Callable[[str], None] | None = None


OpenDocument = Callable[[Path], "Document"]


def plan_batch(
    items: list[BatchItem],
    engine: VisionEngine,
    open_document: OpenDocument,
    library: Library | None,
    task: Task | None = None,
) -> BatchPlan:
    """Count pages and the ones the library already has. Opening a PDF reads no page; a file that cannot be opened
    counts 0 pages here and fails when its turn comes."""
    task = task or parse_task()
    plan = BatchPlan(items)
    for item in items:
        try:
            with open_document(item.path) as doc:
                count = int(doc.page_count)
        except PaperLensError:
            count = 0
        plan.page_counts[item.path] = count
        if library is not None and count:
            with contextlib.suppress(PaperLensError):
                library.add_document(str(item.path.resolve()), count)  # drops page hashes of a changed file
                done = stored_page_results(library, str(item.path.resolve()), engine, task)
                plan.pages_done += sum(1 for n in done if 1 <= n <= count)
    return plan


def run_batch(
    plan: BatchPlan,
    engine: VisionEngine,
    *,
    open_document: OpenDocument,
    write: Callable[[DocumentResult, BatchItem], list[Path]] | None,
    library: Library | None,
    use_cache: bool = True,
    cancel: threading.Event | None = None,
    callbacks: BatchCallbacks | None = None,
    on_page_source: Callable[[PageSource], None] | None = None,
) -> BatchSummary:
    """Parse every document of the plan in turn (pages of one document concurrently when the engine allows), write
    each with `write` as soon as it is done, and return the summary. A document that fails does not stop the batch;
    an engine failure that concerns every page (the server is gone) does, after the finished pages were stored."""
    cb = callbacks or BatchCallbacks()
    cancel = cancel or threading.Event()
    summary = BatchSummary()
    total_pages = plan.pages_total
    pages_done = 0
    model_pages = 0
    t_start = time.perf_counter()
    first_model_t: float | None = None

    def progress(current: Path | None) -> None:
        if not cb.on_progress:
            return
        rate = eta = None
        if model_pages and first_model_t is not None:
            elapsed = max(time.perf_counter() - first_model_t, 1e-6)
            rate = model_pages / elapsed * 60
            eta = max(total_pages - pages_done, 0) / (rate / 60)
        cb.on_progress(
            BatchProgress(len(summary.outcomes), len(plan.items), pages_done, total_pages, rate, eta, current)
        )

    progress(None)
    for item in plan.items:
        if cancel.is_set():
            summary.cancelled = True
            break
        if cb.on_document_start:
            cb.on_document_start(item)
        outcome = DocumentOutcome(item)
        source = str(item.path.resolve())

        def page_done(pr: PageResult, item: BatchItem = item) -> None:
            nonlocal pages_done, model_pages, first_model_t
            pages_done += 1
            if not pr.cached and not pr.error and not pr.skipped:
                model_pages += 1
            if cb.on_page_done:
                cb.on_page_done(item, pr)
            progress(item.path)

        def page_start(_number: int) -> None:
            nonlocal first_model_t
            if first_model_t is None:
                first_model_t = time.perf_counter()

        try:
            with open_document(item.path) as doc:
                count = int(doc.page_count)
                if library is not None:
                    with contextlib.suppress(PaperLensError):
                        library.add_document(source, count)

                def sources(doc: Document = doc, count: int = count) -> Iterator[PageSource]:
                    for index in range(count):
                        src = PageSource.load(index + 1, functools.partial(doc.page, index))
                        if on_page_source:
                            on_page_source(src)
                        yield src

                result = parse_pages(
                    sources(),
                    count,
                    engine,
                    library=library,
                    use_cache=use_cache,
                    cancel=cancel,
                    callbacks=Callbacks(
                        on_page_start=page_start, on_page_done=page_done, on_loading=cb.on_loading
                    ),
                    source_name=source,
                )
        except DocumentError as exc:  # this document only; an engine or model failure stops the batch
            outcome.status, outcome.error = "failed", str(exc)
            _finish(summary, outcome, cb, progress)
            continue
        result.title = item.path.stem
        outcome.result = result
        outcome.pages = len(result.pages)
        outcome.cached = sum(1 for p in result.pages if p.cached)
        outcome.skipped_pages = sum(1 for p in result.pages if p.skipped)
        outcome.failed_pages = [(p.page, p.error) for p in result.pages if p.error]
        if cancel.is_set() or any(p.finish == Finish.CANCELLED for p in result.pages):
            outcome.status = "cancelled"
            summary.cancelled = True
            _finish(summary, outcome, cb, progress)
            break
        if outcome.failed_pages:
            outcome.status = "failed"
        if write is not None and any(p.ok and not p.skipped for p in result.pages):
            try:
                outcome.outputs = write(result, item)
            except PaperLensError as exc:
                outcome.status, outcome.error = "failed", str(exc)
        elif write is not None and not outcome.failed_pages and not outcome.pages:
            outcome.status, outcome.error = "failed", "The document has no pages."
        elif write is not None and not outcome.failed_pages:  # said in the summary, or it would seem lost
            why = ", ".join(sorted({str(p.skipped) for p in result.pages if p.skipped})) or "skipped"
            summary.skipped.append((item.path, f"every page was skipped ({why}), so nothing was written"))
        _finish(summary, outcome, cb, progress)
    summary.seconds = time.perf_counter() - t_start
    return summary


def _finish(
    summary: BatchSummary,
    outcome: DocumentOutcome,
    cb: BatchCallbacks,
    progress: Callable[[Path | None], None],
) -> None:
    summary.outcomes.append(outcome)
    progress(None)
    if cb.on_document_done:
        cb.on_document_done(outcome)
