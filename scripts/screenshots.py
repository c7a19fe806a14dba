"""Save screenshots of the window's main states to docs/screenshots/ (for the README), under Xvfb.

    .venv/bin/python scripts/screenshots.py            # starts its own Xvfb when DISPLAY is not set
    .venv/bin/python scripts/screenshots.py --out /tmp/shots

States: first run (no model), empty with recent documents, a parsed document, its tables, a Q&A exchange, the same
document in dark mode, and the camera dialog reviewing a capture from a video file this script makes.

The synthetic test model writes random words, so the parsed, tables and Q&A shots feed realistic Markdown through a
stand-in engine (tests/gui/fakes.py): the text is canned, everything else (the window, rendering, tables, the chat,
the camera dialog with its page finding) is the real code.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "app"))
sys.path.insert(0, str(ROOT))

REPORT_PAGES = [
    """# Quarterly report, Q2 2026

Revenue grew in every region this quarter. The table lists the figures **in thousands of euros**; the East
region grew most, driven by the new Leipzig office.

| Region | Q1 | Q2 | Change |
|---|---:|---:|---:|
| North | 1,204 | 1,377 | +14.4 % |
| South | 987 | 1,020 | +3.3 % |
| East | 1,561 | 1,702 | +9.0 % |
| West | 1,118 | 1,131 | +1.2 % |
| **Total** | **4,870** | **5,230** | **+7.4 %** |

## Highlights

- Costs stayed flat while revenue rose by 7.4 %.
- Headcount rose by 12, mostly in support.
- The board approved the 2027 budget on 14 June.
""",
    """## Expenses

| Item | Budget | Actual | Variance |
|---|---:|---:|---:|
| Salaries | 2,100 | 2,085 | −15 |
| Rent | 310 | 310 | 0 |
| Travel | 140 | 115 | −25 |
| Software | 95 | 102 | +7 |
| Marketing | 220 | 236 | +16 |

Travel fell by 18 % after the switch to video meetings. Marketing ran over budget because of the trade fair in
September, which was brought forward.

$$ \\text{margin} = \\frac{\\text{revenue} - \\text{costs}}{\\text{revenue}} = 21.3\\,\\% $$
""",
]

ANSWER = (
    "The **East** region grew the most in absolute terms: from 1,561 to 1,702 thousand euros (page 1). "
    "Expenses stayed close to budget; travel was 25 thousand euros under it and marketing 16 over (page 2)."
)


def ensure_display() -> subprocess.Popen | None:
    """Use $DISPLAY if there is one; otherwise start Xvfb on a free display number and use that."""
    if os.environ.get("DISPLAY"):
        os.environ.setdefault("QT_QPA_PLATFORM", "xcb")
        return None
    xvfb = shutil.which("Xvfb")
    if xvfb is None:
        sys.exit("Xvfb is not installed (apt-get install -y xvfb), and no DISPLAY is set.")
    for number in range(91, 120):
        if not Path(f"/tmp/.X11-unix/X{number}").exists() and not Path(f"/tmp/.X{number}-lock").exists():
            break
    proc = subprocess.Popen(
        [xvfb, f":{number}", "-screen", "0", "1600x1000x24", "-nolisten", "tcp"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    for _ in range(50):
        if Path(f"/tmp/.X11-unix/X{number}").exists():
            break
        time.sleep(0.1)
    os.environ["DISPLAY"] = f":{number}"
    os.environ["QT_QPA_PLATFORM"] = "xcb"
    return proc


def write_report_pdf(path: Path) -> Path:
    """The PDF whose pages the canned Markdown transcribes, so the page and its text agree on screen."""
    import pymupdf

    from paperlens.gui.markdown_view import view_html

    css = """
    body { font-family: sans-serif; font-size: 10.5pt; color: #222; }
    h1 { font-size: 19pt; margin-bottom: 6pt; } h2 { font-size: 14pt; }
    table { border-collapse: collapse; margin: 8pt 0; }
    th, td { border: 0.6pt solid #777; padding: 3pt 7pt; } th { background: #e8eef6; }
    """
    doc = pymupdf.open()
    for markdown in REPORT_PAGES:
        page = doc.new_page(width=595, height=842)
        html = view_html(markdown.split("$$")[0])
        page.insert_htmlbox(pymupdf.Rect(60, 60, 535, 780), html, css=css)
        if "$$" in markdown:
            page.insert_text((160, 560), "margin = (revenue − costs) / revenue = 21.3 %", fontsize=11)
        page.insert_text((500, 810), f"{doc.page_count}", fontsize=9, color=(0.4, 0.4, 0.4))
    doc.save(str(path))
    doc.close()
    return path


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", default=str(ROOT / "docs" / "screenshots"))
    args = p.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    xvfb = ensure_display()
    work = Path(tempfile.mkdtemp(prefix="paperlens-shots-"))
    os.environ["XDG_DATA_HOME"] = str(work / "data")
    os.environ["PAPERLENS_THEME"] = "light"
    try:
        return shoot(out, work)
    finally:
        if xvfb is not None:
            xvfb.terminate()
            xvfb.wait(5)


def shoot(out: Path, work: Path) -> int:
    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QApplication
    from tests.gui.fakes import FakeEngineFactory, FakeModels
    from tests.gui.helpers import write_page_video

    from paperlens.core.models import missing_models_message, scan_model_dir
    from paperlens.gui.app import apply_palette, make_app
    from paperlens.gui.camera import CameraDialog
    from paperlens.gui.main_window import TAB_ASK, TAB_MARKDOWN, TAB_TABLES, MainWindow, ModelCheck
    from paperlens.gui.settings import Settings

    app = make_app()
    app.setFont(app.font())  # the platform font under Xvfb (DejaVu Sans)

    def spin(done=lambda: False, seconds: float = 0.3, limit: float = 20.0) -> None:
        end = time.time() + limit
        settle = None
        while time.time() < end:
            app.processEvents()
            if done():
                settle = settle or time.time() + seconds
                if time.time() >= settle:
                    return
            time.sleep(0.01)

    def settings(name: str) -> Settings:
        s = Settings(QSettings(str(work / f"{name}.ini"), QSettings.Format.IniFormat))
        s.model_dir = "/home/you/.local/share/PaperLens/models"
        return s

    def save(widget, name: str) -> None:
        path = out / f"{name}.png"
        widget.grab().save(str(path))
        print(f"wrote {path}")

    ready = ModelCheck(True, text_model="MiniCPM-V-4.6-Q4_K_M.gguf", models=FakeModels())
    factory = FakeEngineFactory(
        markdown=REPORT_PAGES,
        answer=ANSWER,
        delay=0.0,
        image_tokens=2223,
        seconds=19.2,
        text_model="MiniCPM-V-4.6-Q4_K_M.gguf",
    )

    # 1. first run: no model yet
    missing = scan_model_dir(work / "no-models-here")
    missing.folder = Path("/home/you/.local/share/PaperLens/models")
    w = MainWindow(
        settings("first"),
        engine_factory=factory,
        library_factory=lambda: None,
        model_check=lambda folder: ModelCheck(False, missing_models_message(missing), models=missing),
    )
    w.resize(1280, 800)
    w.show()
    spin(lambda: not w.banner.isHidden())
    save(w, "first-run")
    w.close()

    # 2. empty, with recent documents
    s = settings("empty")
    s.recent_files = [
        "/home/you/Documents/Quarterly report Q2.pdf",
        "/home/you/Scans/Lease agreement.pdf",
        "/home/you/Downloads/invoice-2026-11.png",
        "/home/you/Scans/Receipts March",
    ]
    w = MainWindow(s, engine_factory=factory, library_factory=lambda: None, model_check=lambda folder: ready)
    w.resize(1280, 800)
    w.show()
    spin(lambda: w.model_label.text() != "Model: checking…")
    save(w, "empty")
    w.close()

    # 3-6. a parsed document: Markdown, tables, Q&A, and the same in dark mode
    pdf = write_report_pdf(work / "Quarterly report Q2.pdf")
    w = MainWindow(
        settings("doc"),
        engine_factory=factory,
        library_factory=lambda: None,
        model_check=lambda folder: ready,
    )
    w.resize(1280, 800)
    w.show()
    session = w.open_paths([pdf])[0]
    spin(lambda: len(session.thumbnails) == 2 and w.page_view.has_image())
    w.splitter.setSizes([150, 560, 570])
    w.parse_all_pages()
    spin(lambda: not w.host.busy and all(session.is_parsed(n) for n in (1, 2)))
    w.select_page(1)
    w.right_tabs.setCurrentIndex(TAB_MARKDOWN)
    spin(lambda: w.page_view.has_image())
    w.statusBar().showMessage("Parsed 2 pages in 38.4 s.")
    save(w, "parsed")

    w.right_tabs.setCurrentIndex(TAB_TABLES)
    spin(lambda: bool(w.tables.grids))
    save(w, "tables")

    w.ask.set_scope("document")
    w.ask_question("Which region grew the most, and how did expenses compare to the budget?", "document")
    spin(lambda: not w.host.busy)
    factory.engine.answer = "The operating margin was **21.3 %** (page 2)."
    w.ask_question("And the margin?", "document")
    spin(lambda: not w.host.busy)
    w.right_tabs.setCurrentIndex(TAB_ASK)
    w.statusBar().clearMessage()
    spin()
    save(w, "ask")

    os.environ["PAPERLENS_THEME"] = "dark"
    apply_palette(app)
    w.right_tabs.setCurrentIndex(TAB_MARKDOWN)
    w.select_page(1)
    spin()
    save(w, "parsed-dark")
    os.environ["PAPERLENS_THEME"] = "light"
    apply_palette(app)

    # 7. the camera dialog on a video file: one page accepted, the next capture under review with its handles
    video = write_page_video(work / "page.avi", frames=60, fps=15)
    dialog = CameraDialog(w.settings, w, source=str(video), hold_s=0.6)
    dialog.resize(900, 720)
    dialog.show()
    spin(lambda: dialog._review is not None, limit=15)
    dialog.accept_capture()
    spin(lambda: len(dialog.captured) == 1, limit=10)
    spin(lambda: dialog._latest is not None, seconds=0.5)
    dialog.capture_now()
    spin()
    save(dialog, "camera")
    dialog.stop()
    dialog.reject()
    w.close()
    QApplication.processEvents()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
