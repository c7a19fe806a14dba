"""The GUI thread's worst stall while the window's model thread parses a page, on a given model folder.

    QT_QPA_PLATFORM=offscreen python -m tests.benchmarks.gui_stall --model-dir DIR --image PAGE.png [--mode 16x]

Builds the window exactly as `paperlens` does (real engine factory, real model scan), opens the page, starts a 10 ms
heartbeat timer on the GUI thread and parses the page; the heartbeat's worst lateness is how long the window could not
react. Prints one JSON line. Run by `python -m tests.benchmarks`; never an assertion.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path


def main(argv=None) -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--model-dir", required=True)
    p.add_argument("--image", required=True)
    p.add_argument("--mode", default="16x")
    p.add_argument("--tokens", type=int, default=64)
    p.add_argument("--timeout", type=float, default=900)
    args = p.parse_args(argv)
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    tmp = Path(tempfile.mkdtemp(prefix="paperlens-stall-"))
    os.environ["PAPERLENS_LIBRARY"] = str(tmp / "library.sqlite3")  # a fresh cache: the page must really run

    from PySide6.QtCore import QSettings, Qt, QTimer
    from PySide6.QtWidgets import QApplication

    from paperlens.gui.main_window import MainWindow, default_model_check
    from paperlens.gui.settings import Settings
    from paperlens.gui.worker import default_library_factory, real_engine_factory

    app = QApplication(sys.argv[:1])
    settings = Settings(QSettings(str(tmp / "paperlens.ini"), QSettings.Format.IniFormat))
    settings.model_dir = args.model_dir
    settings.mode = args.mode
    settings.device = "cpu"
    window = MainWindow(
        settings,
        engine_factory=real_engine_factory,
        library_factory=default_library_factory,
        model_check=default_model_check,
        max_tokens=args.tokens,
    )
    window.show()
    window.open_paths([args.image])

    state = {"last": 0.0, "worst": 0.0, "ticks": 0}

    def tick() -> None:
        now = time.perf_counter()
        if state["last"]:
            state["worst"] = max(state["worst"], now - state["last"] - 0.010)
        state["last"] = now
        state["ticks"] += 1

    beat = QTimer()
    beat.setTimerType(Qt.TimerType.PreciseTimer)
    beat.setInterval(10)
    beat.timeout.connect(tick)

    def wait(cond, timeout: float) -> bool:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            app.processEvents()
            if cond():
                return True
            time.sleep(0.002)
        return False

    wait(lambda: window.page_view.has_image(), 60)
    beat.start()
    t0 = time.perf_counter()
    window.parse_current_page()
    wait(lambda: window.host.busy, 10)
    done = wait(lambda: not window.host.busy, args.timeout)
    busy = time.perf_counter() - t0
    beat.stop()
    window.close()
    print(
        json.dumps(
            {
                "worst_stall_ms": state["worst"] * 1000,
                "ticks": state["ticks"],
                "busy_s": busy,
                "finished": done,
            }
        )
    )
    return 0 if done else 1


if __name__ == "__main__":
    sys.exit(main())
