"""Measure how long the window's GUI thread stalls while the real engine parses and answers.

A 10 ms timer runs on the GUI thread while the window (offscreen unless a display is set) loads the model, parses
the pages of a generated A4 PDF and answers a page question and a document question, exactly as a user would drive
it. Its worst lateness is the longest time the window could not repaint or react. The issue's promise: under 50 ms.

    .venv/bin/python scripts/gui_heartbeat.py                      # the full-size twin (built once, ~1 min)
    .venv/bin/python scripts/gui_heartbeat.py --size tiny --mode 16x
    .venv/bin/python scripts/gui_heartbeat.py --model-dir ~/models --json out.json

Each stall over 20 ms is printed with what the model thread was doing just before it, the GUI thread's own CPU time
during it (high: the window itself was busy; low: it was waiting, for the GIL or for a CPU), and whether a separate
probe process, which only sleeps 10 ms at a time, was held up at the same moment: then no CPU was free for anyone
(llama.cpp's threads and whatever else runs on the machine), which is the operating system's doing, not the window's.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "app"))
sys.path.insert(0, str(ROOT))


PROBE = """
import sys, time
late = []
last = time.monotonic()
end = last + float(sys.argv[1])
while last < end:
    time.sleep(0.010)
    now = time.monotonic()
    if now - last - 0.010 > 0.015:
        late.append((now, now - last - 0.010))
    last = now
    if sys.stdin.closed:
        break
print(repr(late))
"""


def start_probe(limit_s: float):
    import subprocess

    return subprocess.Popen([sys.executable, "-c", PROBE, str(limit_s)], stdout=subprocess.PIPE, text=True)


def probe_stalls(proc) -> list[tuple[float, float]]:
    import ast

    proc.terminate()
    try:
        out, _ = proc.communicate(timeout=5)
    except Exception:
        proc.kill()
        return []
    try:
        return ast.literal_eval(out.strip() or "[]")
    except (ValueError, SyntaxError):
        return []


def cpu_starved(end: float, late: float, probe: list[tuple[float, float]]) -> bool:
    """Did the probe process also wait for a CPU during most of this stall?"""
    start = end - late
    for p_end, p_late in probe:
        overlap = min(end, p_end) - max(start, p_end - p_late)
        if overlap > 0.5 * late:
            return True
    return False


def write_a4_pdf(path: Path, pages: int) -> Path:
    import pymupdf

    doc = pymupdf.open()
    for i in range(pages):
        page = doc.new_page(width=595, height=842)
        page.insert_text((72, 90), f"Quarterly report, page {i + 1}", fontsize=20)
        for line in range(30):
            page.insert_text(
                (72, 130 + 20 * line), f"Line {line + 1}: revenue {1000 + 37 * line} EUR", fontsize=11
            )
    doc.save(str(path))
    doc.close()
    return path


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument(
        "--size", choices=("tiny", "full"), default="full", help="which synthetic twin (default full)"
    )
    p.add_argument("--model-dir", help="use the model files in this folder instead of a twin")
    p.add_argument("--mode", choices=("4x", "16x"), default="4x")
    p.add_argument("--pages", type=int, default=1)
    p.add_argument("--max-tokens", type=int, default=64)
    p.add_argument("--threads", type=int, default=0)
    p.add_argument("--json", help="also write the figures to this file")
    args = p.parse_args(argv)

    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    work = Path(tempfile.mkdtemp(prefix="paperlens-heartbeat-"))
    os.environ["XDG_DATA_HOME"] = str(work / "data")  # a fresh results cache: every page really runs
    from PySide6.QtCore import QSettings, Qt, QTimer

    from paperlens.gui.app import make_app
    from paperlens.gui.main_window import MainWindow
    from paperlens.gui.model_check import default_model_check
    from paperlens.gui.settings import Settings
    from paperlens.gui.worker import default_library_factory, real_engine_factory

    if args.model_dir:
        model_dir = Path(args.model_dir).expanduser()
    else:
        from paperlens.dev.synth import cached_twin

        print(f"getting the {args.size} twin…", file=sys.stderr)
        model_dir = cached_twin(args.size).text.parent
    app = make_app()
    settings = Settings(QSettings(str(work / "settings.ini"), QSettings.Format.IniFormat))
    settings.model_dir, settings.mode, settings.device, settings.threads = (
        str(model_dir),
        args.mode,
        "cpu",
        args.threads,
    )
    window = MainWindow(
        settings,
        engine_factory=real_engine_factory,
        library_factory=default_library_factory,
        model_check=default_model_check,
        n_ctx=4096 if args.mode == "16x" else 8192,
        max_tokens=args.max_tokens,
    )
    window.show()

    def spin(done, limit_s: float = 3600) -> None:
        end = time.time() + limit_s
        while not done() and time.time() < end:
            app.processEvents()
            time.sleep(0.002)

    session = window.open_paths([write_a4_pdf(work / "report.pdf", args.pages)])[0]
    spin(lambda: len(session.thumbnails) == session.page_count and window.page_view.has_image(), 60)

    marks: list[tuple[float, str]] = []
    stalls: list[tuple[float, float, float]] = []
    intervals: list[float] = []
    last = [time.monotonic(), time.thread_time()]

    def tick() -> None:
        now, cpu = time.monotonic(), time.thread_time()
        late = now - last[0] - 0.010
        intervals.append(late)
        if late > 0.020:
            stalls.append((now, late, cpu - last[1]))
        last[0], last[1] = now, cpu

    seen: set[tuple[int, int]] = set()

    def on_text(job: int, page: int, _text: str) -> None:
        if (job, page) not in seen:
            seen.add((job, page))
            marks.append((time.monotonic(), f"first text of job {job}" + (f" page {page}" if page else "")))

    host = window.host
    host.loading.connect(lambda m: marks.append((time.monotonic(), m)))
    host.engine_ready.connect(lambda info: marks.append((time.monotonic(), "model loaded, reading the page")))
    host.page_started.connect(lambda j, n: marks.append((time.monotonic(), f"page {n} started")))
    host.page_done.connect(lambda j, r: marks.append((time.monotonic(), f"page {r.page} done")))
    host.text.connect(on_text)

    timer = QTimer()
    timer.setTimerType(Qt.TimerType.PreciseTimer)
    timer.setInterval(10)
    timer.timeout.connect(tick)
    probe = start_probe(3600)
    time.sleep(0.2)
    t0 = time.monotonic()
    marks.append((t0, "start"))
    last[0], last[1] = t0, time.thread_time()
    timer.start()
    window.parse_all_pages()
    spin(lambda: not host.busy)
    marks.append((time.monotonic(), "questions"))
    window.ask_question("What is the total on this page?", "page")
    window.ask_question("Summarise the report.", "document")
    spin(lambda: not host.busy)
    timer.stop()
    busy_s = time.monotonic() - t0
    probed = probe_stalls(probe)
    info = window.models.engine_info
    window.close()

    own = []
    for ts, late, cpu in stalls:
        before = [m for m in marks if m[0] <= ts]
        label = before[-1][1] if before else "?"
        starved = cpu_starved(ts, late, probed)
        if not starved:
            own.append(late)
        why = "no CPU free (probe held up too)" if starved else "GIL or window"
        print(
            f"  +{ts - t0:7.2f} s  stall {late * 1000:6.1f} ms  (GUI CPU {cpu * 1000:5.1f} ms, {why})  after: {label}"
        )
    worst = max(intervals) * 1000 if intervals else 0.0
    p99 = statistics.quantiles(intervals, n=100)[98] * 1000 if len(intervals) >= 100 else worst
    result = {
        "model_dir": str(model_dir),
        "text_model": getattr(info, "text_model", ""),
        "mode": args.mode,
        "pages": args.pages,
        "max_tokens": args.max_tokens,
        "busy_s": round(busy_s, 2),
        "ticks": len(intervals),
        "worst_stall_ms": round(worst, 1),
        "p99_lateness_ms": round(p99, 1),
        "stalls_over_20ms": len(stalls),
        "stalls_over_50ms": sum(1 for _, late, _ in stalls if late > 0.050),
        "worst_stall_not_cpu_starved_ms": round(max(own, default=0.0) * 1000, 1),
        "load_average_1min": round(os.getloadavg()[0], 2),
        "parsed_pages": sum(1 for n in range(1, session.page_count + 1) if session.is_parsed(n)),
    }
    print(json.dumps(result, indent=2))
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2) + "\n")
    return 0 if worst < 50 else 1


if __name__ == "__main__":
    raise SystemExit(main())
