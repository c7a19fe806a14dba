"""A hot folder: every document that appears in IN_DIR is parsed into OUT_DIR, then moved to IN_DIR/done.

watchdog reports files as they appear or change; a file is read only once it has stopped growing (its size and
modification time unchanged for `settle_s`), so a scan still being copied in is never read half-written. Finished
inputs move to `IN_DIR/done/` (failed ones to `IN_DIR/failed/`, with the reason beside them in `NAME.error.txt`), so a
restart picks up exactly the files still waiting; a document that was interrupted half-way is run again with its
finished pages served from the library. One log line per document.
"""

from __future__ import annotations

import os
import shutil
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from watchdog.events import FileSystemEvent, FileSystemEventHandler
from watchdog.observers import Observer

from paperlens.core import batch
from paperlens.core.engine.contract import VisionEngine
from paperlens.core.library import Library
from paperlens.core.runs import DocumentResult

DONE = "done"
FAILED = "failed"


@dataclass
class _Seen:
    size: int
    mtime_ns: int
    since: float  # when the file was last seen to change


class HotFolder:
    """Watches `in_dir`; `run(stop)` parses documents as they settle until `stop` is set."""

    def __init__(
        self,
        in_dir: Path,
        out_dir: Path,
        engine: VisionEngine,
        *,
        open_document: batch.OpenDocument,
        write: Callable[[DocumentResult, batch.BatchItem], list[Path]],
        library: Library | None,
        log: Callable[[str], None] = print,
        settle_s: float = 2.0,
    ) -> None:
        self.in_dir, self.out_dir = Path(in_dir), Path(out_dir)
        self.engine = engine
        self.open_document = open_document
        self.write = write
        self.library = library
        self.log = log
        self.settle_s = settle_s
        self._pending: dict[Path, _Seen | None] = {}
        self._changed = threading.Condition()
        self.processed: list[batch.DocumentOutcome] = []

    # --- watchdog's side -------------------------------------------------------------------------------------------
    def _note(self, path: Path) -> None:
        if not self._wanted(path):
            return
        with self._changed:
            self._pending.setdefault(path, None)
            self._changed.notify_all()

    def _wanted(self, path: Path) -> bool:
        try:
            rel = path.relative_to(self.in_dir)
        except ValueError:
            return False
        if not rel.parts or rel.parts[0] in (DONE, FAILED) or any(p.startswith(".") for p in rel.parts):
            return False
        return path.suffix.lower() in batch.DOCUMENT_SUFFIXES

    # --- the worker's side ------------------------------------------------------------------------------------------
    def run(self, stop: threading.Event, *, on_ready: Callable[[], None] | None = None) -> None:
        """Watch until `stop` is set (the document in hand is finished first; `stop` also cancels it)."""
        self.in_dir.mkdir(parents=True, exist_ok=True)
        self.out_dir.mkdir(parents=True, exist_ok=True)
        handler = _Handler(self._note)
        observer = Observer()
        observer.schedule(handler, str(self.in_dir), recursive=True)
        observer.start()
        try:
            for path in sorted(self.in_dir.rglob("*")):  # what arrived while we were not running
                if path.is_file():
                    self._note(path)
            if on_ready:
                on_ready()
            while not stop.is_set():
                settled = self._next_settled(stop)
                if settled is not None:
                    self._process(settled, stop)
        finally:
            observer.stop()
            observer.join(timeout=5)

    def _next_settled(self, stop: threading.Event) -> Path | None:
        """A pending file that has stopped growing, waiting (on watchdog's events, bounded by the settle time)."""
        with self._changed:
            while not stop.is_set():
                now = time.monotonic()
                wait = self.settle_s
                for path in sorted(self._pending):
                    try:
                        st = path.stat()
                    except OSError:
                        del self._pending[path]  # gone (moved away, deleted)
                        continue
                    seen = self._pending[path]
                    if seen is None or (seen.size, seen.mtime_ns) != (st.st_size, st.st_mtime_ns):
                        self._pending[path] = _Seen(st.st_size, st.st_mtime_ns, now)
                        continue
                    left = seen.since + self.settle_s - now
                    if left <= 0 and st.st_size > 0:
                        del self._pending[path]
                        return path
                    wait = min(wait, max(left, 0.05))
                self._changed.wait(timeout=wait if self._pending else 1.0)
        return None

    def _process(self, path: Path, stop: threading.Event) -> None:
        item = batch.BatchItem(path, path.relative_to(self.in_dir))
        t0 = time.perf_counter()
        plan = batch.plan_batch([item], self.engine, self.open_document, self.library)
        summary = batch.run_batch(
            plan,
            self.engine,
            open_document=self.open_document,
            write=self.write,
            library=self.library,
            cancel=stop,
        )
        outcome = summary.outcomes[0] if summary.outcomes else batch.DocumentOutcome(item, status="cancelled")
        self.processed.append(outcome)
        seconds = time.perf_counter() - t0
        if outcome.status == "cancelled":
            self.log(
                f"{item.rel}: stopped; it is parsed again (finished pages from the cache) on the next start"
            )
            return
        if outcome.status == "done":
            _move(path, self.in_dir / DONE / item.rel)
            outs = ", ".join(str(p) for p in outcome.outputs)
            cached = f", {outcome.cached} from the cache" if outcome.cached else ""
            self.log(f"{item.rel}: done, {outcome.pages} pages{cached} in {seconds:.1f}s -> {outs}")
            return
        target = _move(path, self.in_dir / FAILED / item.rel)
        with open(target.with_name(target.name + ".error.txt"), "w", encoding="utf-8") as f:
            f.write(outcome.reason + "\n")
        self.log(f"{item.rel}: failed: {outcome.reason} (moved to {FAILED}/)")


class _Handler(FileSystemEventHandler):
    def __init__(self, note: Callable[[Path], None]) -> None:
        self.note = note

    def on_any_event(self, event: FileSystemEvent) -> None:
        if event.is_directory:
            return
        dest = getattr(event, "dest_path", "") or ""
        for p in (event.src_path, dest):
            if p:
                self.note(Path(os.fsdecode(p)))


def _move(src: Path, dst: Path) -> Path:
    dst.parent.mkdir(parents=True, exist_ok=True)
    if dst.exists():  # the same name done twice: keep both
        dst = dst.with_name(f"{dst.stem}-{time.strftime('%Y%m%d-%H%M%S')}{dst.suffix}")
    shutil.move(str(src), str(dst))
    return dst
