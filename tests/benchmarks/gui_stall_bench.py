"""The GUI thread's worst stall while the window opens and renders hostile PDFs (goal: under 50 ms).

    PYTHONPATH=app QT_QPA_PLATFORM=offscreen .venv/bin/python tests/benchmarks/gui_stall_bench.py [--json OUT]
    PAPERLENS_IN_PROCESS=1 ...   # documents in the window's own process (the renderer child off)

To measure older code, point PYTHONPATH at its `app` folder (for example `git archive <commit> app | tar -x -C DIR`):
the script only uses `MainWindow.open_paths` and the page cache's signals, which both have.

The PDFs are made here: a page claiming 200,000 pt a side (refused), a 14,000 pt page full of text (rendered at the
40-megapixel budget), a page of 1,000,000 tiny vector strokes (seconds to render), and that file with its cross-reference
table broken (MuPDF repairs it when opening). For each, a 5 ms timer runs on the GUI thread while the window opens the
file and renders its first page and thumbnails; the longest gap between two ticks, less the 5 ms, is the stall.
Prints a table; never asserts.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
TICK_MS = 5
GOAL_MS = 50.0


def make_pdfs(folder: Path, strokes: int) -> list[tuple[str, Path]]:
    import pymupdf

    made = []

    def save(name: str, build) -> None:
        doc = pymupdf.open()
        build(doc)
        path = folder / name
        doc.save(path)
        doc.close()
        made.append((name, path))

    def huge_box(doc, side: float) -> None:
        page = doc.new_page(width=595, height=842)
        page.insert_text((72, 100), "Quarterly figures", fontsize=14)
        page.set_mediabox(pymupdf.Rect(0, 0, side, side))

    def big_page(doc) -> None:
        page = doc.new_page(width=14_000, height=14_000)
        for row in range(0, 14_000, 40):
            page.insert_text((20, row + 30), "Quarterly figures, region by region. " * 20, fontsize=24)

    def strokes_page(doc) -> None:
        page = doc.new_page(width=595, height=842)
        page.insert_text((72, 60), "Strokes", fontsize=14)
        ops = [b"0.1 w"]
        for i in range(strokes):
            x, y = 20 + (i * 7) % 555, 80 + (i * 13) % 740
            ops.append(b"%d %d m %d %d l S" % (x, y, x + 1, y + 1))
        xref = page.get_contents()[0]
        doc.update_stream(xref, doc.xref_stream(xref) + b"\n" + b"\n".join(ops))

    save("box-200000pt.pdf", lambda d: huge_box(d, 200_000))
    save("page-14000pt.pdf", big_page)
    save("strokes.pdf", strokes_page)
    broken = folder / "strokes-broken-xref.pdf"
    data = (folder / "strokes.pdf").read_bytes()
    at = data.rfind(b"startxref")
    broken.write_bytes(data[:at] + b"startxref\n999999999\n%%EOF\n")  # points nowhere: MuPDF must repair
    made.append(("strokes-broken-xref.pdf", broken))
    return made


def in_process_render_seconds(path: Path) -> float:
    from paperlens.core.documents import open_document

    start = time.perf_counter()
    try:
        kwargs = {"isolated": False} if "isolated" in open_document.__code__.co_varnames else {}
        with open_document(path, **kwargs) as doc:
            list(doc.pages("1"))
    except Exception:  # noqa: BLE001 - a refusal is a result too
        pass
    return time.perf_counter() - start


def measure(window, path: Path, limit_s: float) -> dict:
    from PySide6.QtCore import QElapsedTimer, QEventLoop, QTimer

    clock = QElapsedTimer()
    clock.start()
    gaps = {"last": 0, "worst": 0}

    def tick() -> None:
        now = clock.elapsed()
        gaps["worst"] = max(gaps["worst"], now - gaps["last"])
        gaps["last"] = now

    timer = QTimer()
    timer.setInterval(TICK_MS)
    timer.timeout.connect(tick)
    loop = QEventLoop()
    state = {"page": None}

    def page_done(_s, n, *_rest) -> None:
        if n == 1 and state["page"] is None:
            state["page"] = clock.elapsed()
            QTimer.singleShot(1500, loop.quit)  # thumbnails and the rest of the page's work

    window.cache.image_ready.connect(page_done)
    window.cache.image_failed.connect(page_done)
    timer.start()
    gaps["last"] = clock.elapsed()
    opened = window.open_paths([path])
    open_ms = clock.elapsed()
    if opened:
        QTimer.singleShot(int(limit_s * 1000), loop.quit)
        loop.exec()
    timer.stop()
    tick()
    window.cache.image_ready.disconnect(page_done)
    window.cache.image_failed.disconnect(page_done)
    return {
        "opened": bool(opened),
        "open_ms": open_ms,
        "first_page_ms": state["page"],
        "worst_stall_ms": max(0, gaps["worst"] - TICK_MS),
        "notice": window.notice.text if not window.notice.isHidden() else "",
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--strokes", type=int, default=1_000_000, help="vector strokes on the slow page")
    parser.add_argument("--limit", type=float, default=120.0, help="seconds to wait for a first page")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()

    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QApplication

    import paperlens
    import paperlens.gui  # noqa: F401 - the binding work-arounds
    from paperlens.gui.main_window import MainWindow
    from paperlens.gui.settings import Settings
    from tests.gui.fakes import FakeEngineFactory

    app = QApplication.instance() or QApplication([])
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        pdfs = make_pdfs(folder, args.strokes)
        settings = Settings(QSettings(str(folder / "bench.ini"), QSettings.Format.IniFormat))
        window = MainWindow(
            settings, engine_factory=FakeEngineFactory(), library_factory=lambda: None, model_check=None
        )
        window.show()
        app.processEvents()
        for name, path in pdfs:
            row = {"file": name, "render_in_process_s": round(in_process_render_seconds(path), 2)}
            row.update(measure(window, path, args.limit))
            rows.append(row)
        window.close()
    where = os.environ.get("PAPERLENS_IN_PROCESS") and "in process" or "default"
    print(
        f"PaperLens from {Path(paperlens.__file__).parent} ({where}); tick {TICK_MS} ms, goal < {GOAL_MS:.0f} ms"
    )
    print("| file | render in process (s) | open returned (ms) | first page (ms) | worst GUI stall (ms) |")
    print("|---|---|---|---|---|")
    for r in rows:
        print(
            f"| {r['file']} | {r['render_in_process_s']} | {r['open_ms']} | {r['first_page_ms']} | "
            f"**{r['worst_stall_ms']}** |"
        )
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
