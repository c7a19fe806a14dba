"""Memory over long work: does the process grow page after page? Prints figures; nothing is asserted.

    PYTHONPATH=app python -m tests.benchmarks.memory_bench                 # both parts (tiny twin, minutes)
    PYTHONPATH=app python -m tests.benchmarks.memory_bench --part cli --pages 500
    PYTHONPATH=app python -m tests.benchmarks.memory_bench --part window --window-pages 300

- cli: a generated N-page PDF parsed the way `paperlens parse` does it (`PageSource.load` per page, `parse_pages`
  through the real pipeline and the real llama.cpp engine on the tiny synthetic twin, a few generated tokens per page,
  the library in a temporary file); RSS after page 20 and every 50 pages to the last.
- window: the window (offscreen `MainWindow`, the fake engine of tests/gui/fakes.py, the real library) opens an
  N-page PDF and parses every page; RSS after page 20 and at the end.

Goal, shown beside the figures: RSS after the last page within 100 MB of RSS after page 20.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

GOAL_GROWTH_MB = 100.0


def rss_mb() -> float:
    import psutil

    return psutil.Process().memory_info().rss / 2**20


def say(msg: str) -> None:
    print(msg, flush=True)


def write_pdf(path: Path, pages: int) -> Path:
    """A PDF of `pages` A5 pages, each with different text (so every page has its own image hash: no cache hits)."""
    import pymupdf

    doc = pymupdf.open()
    for i in range(pages):
        page = doc.new_page(width=420, height=595)
        page.insert_text((50, 72), f"Report page {i + 1}", fontsize=18)
        for j in range(12):
            page.insert_text((50, 110 + 18 * j), f"Line {j + 1}: total {100 * (i + 1) + j} EUR", fontsize=10)
    doc.save(str(path))
    doc.close()
    return path


def checkpoints(total: int) -> list[int]:
    """Page 20, every 50th page, and the last one."""
    marks = {min(20, total), total}
    marks.update(range(50, total + 1, 50))
    return sorted(marks)


def verdict(at20: float, last: float) -> str:
    growth = last - at20
    ok = "met" if growth <= GOAL_GROWTH_MB else "MISSED"
    return f"growth after page 20: {growth:+.0f} MB (goal ≤ {GOAL_GROWTH_MB:.0f} MB: {ok})"


# -- the command line's way ---------------------------------------------------------------------------------------------
def cli_run(pages: int, max_tokens: int, threads: int | None) -> dict:
    from paperlens.core.documents import open_document
    from paperlens.core.engine import EngineConfig, LlamaEngine
    from paperlens.core.library import Library
    from paperlens.core.models import scan_model_dir
    from paperlens.core.pipeline import Callbacks, PageSource, parse_pages
    from paperlens.dev.synth import cached_twin

    twin = cached_twin("tiny")
    marks = checkpoints(pages)
    figures: dict[int, float] = {}
    with tempfile.TemporaryDirectory(prefix="paperlens-membench-") as tmp:
        pdf = write_pdf(Path(tmp) / "long.pdf", pages)
        library = Library(Path(tmp) / "library.sqlite3")
        cfg = EngineConfig(mode="16x", device="cpu", n_ctx=4096, n_threads=threads, max_tokens=max_tokens)
        engine = LlamaEngine(scan_model_dir(twin.text.parent), cfg)
        done = 0
        t0 = time.perf_counter()

        def page_done(pr) -> None:
            nonlocal done
            done += 1
            if pr.error:
                say(f"  page {pr.page}: {pr.error}")
            if done in marks:
                figures[done] = rss_mb()
                say(f"  page {done:4d}: RSS {figures[done]:7.1f} MB  ({time.perf_counter() - t0:6.1f} s)")

        say(f"CLI-style run: {pages} pages, tiny twin, {max_tokens} generated tokens per page")
        with open_document(pdf) as doc:
            sources = (PageSource.load(i + 1, lambda i=i: doc.page(i)) for i in range(doc.page_count))
            parse_pages(
                sources,
                pages,
                engine,
                library=library,
                callbacks=Callbacks(on_page_done=page_done),
                source_name=str(pdf),
            )
        engine.close()
        library.close()
    seconds = time.perf_counter() - t0
    say(f"  {verdict(figures[min(20, pages)], figures[pages])}; {pages / seconds * 60:.0f} pages/min")
    return {"rss_mb": figures, "seconds": seconds}


# -- the window's way ---------------------------------------------------------------------------------------------------
def window_run(pages: int) -> dict:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QApplication

    import paperlens.gui  # noqa: F401  (the binding work-arounds, before the QApplication)
    from paperlens.core.library import Library
    from paperlens.gui.main_window import MainWindow
    from paperlens.gui.settings import Settings
    from tests.gui.fakes import FakeEngineFactory

    app = QApplication.instance() or QApplication([])
    marks = {min(20, pages), pages}
    figures: dict[int, float] = {}
    with tempfile.TemporaryDirectory(prefix="paperlens-membench-") as tmp:
        pdf = write_pdf(Path(tmp) / "long.pdf", pages)
        settings = Settings(QSettings(str(Path(tmp) / "paperlens.ini"), QSettings.Format.IniFormat))
        window = MainWindow(
            settings,
            engine_factory=FakeEngineFactory(delay=0.0),
            library_factory=lambda: Library(Path(tmp) / "library.sqlite3"),
            model_check=None,
        )
        window.show()
        say(f"Window: {pages}-page PDF, fake engine, real library; parse all pages")
        t0 = time.perf_counter()
        (session,) = window.open_paths([pdf])

        def wait(cond, timeout: float) -> bool:
            deadline = time.monotonic() + timeout
            while not cond():
                if time.monotonic() > deadline:
                    return False
                app.processEvents()
                time.sleep(0.005)
            return True

        window.parse_all_pages()

        def count() -> int:
            return sum(1 for n in range(1, pages + 1) if session.is_parsed(n))

        for mark in sorted(marks):
            if not wait(lambda mark=mark: count() >= mark, timeout=1800):
                say(f"  stopped waiting at {count()} parsed pages")
                break
            figures[mark] = rss_mb()
            say(
                f"  page {mark:4d} parsed: RSS {figures[mark]:7.1f} MB, thumbnails kept "
                f"{len(session.thumbnails)}  ({time.perf_counter() - t0:6.1f} s)"
            )
        # the thumbnails keep coming after the last page is parsed: let them all arrive, then measure again
        wait(lambda: not window.host.busy, timeout=120)
        wait(lambda: not window.cache._thumb_queue and not window.cache._thumb_busy, timeout=600)
        end = rss_mb()
        say(
            f"  all thumbnails done: RSS {end:7.1f} MB, thumbnails kept {len(session.thumbnails)} "
            f"({time.perf_counter() - t0:6.1f} s)"
        )
        window.close()
        app.processEvents()
    at20 = figures.get(min(20, pages), float("nan"))
    say(f"  {verdict(at20, max(figures.get(pages, end), end))}")
    return {"rss_mb": figures, "end_mb": end}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(
        prog="python -m tests.benchmarks.memory_bench", description=__doc__.split("\n")[0]
    )
    p.add_argument("--part", choices=("cli", "window", "all"), default="all")
    p.add_argument("--pages", type=int, default=500, help="pages of the CLI-style run")
    p.add_argument("--window-pages", type=int, default=300, help="pages the window opens")
    p.add_argument("--max-tokens", type=int, default=8, help="generated tokens per page (CLI-style run)")
    p.add_argument("--threads", type=int, default=None)
    args = p.parse_args(argv)
    if args.part in ("cli", "all"):
        cli_run(args.pages, args.max_tokens, args.threads)
    if args.part in ("window", "all"):
        window_run(args.window_pages)
    return 0


if __name__ == "__main__":
    sys.exit(main())
