"""Short jobs off the GUI thread: rendering pages, scanning the model folder, exporting, finding a page in a frame.

Why a runner instead of a QRunnable subclass per job: every short job has the same shape (call a plain function on a
pool thread, hand its value or its error back on the GUI thread), so one QObject with one queued signal does it, and
callers pass ordinary callbacks that run on the GUI thread. Jobs return plain data or QImage copies, never QPixmaps.
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import Callable
from typing import Any

from PIL import Image
from PySide6.QtCore import QObject, QThreadPool, Signal, Slot
from PySide6.QtGui import QImage

from paperlens.core.errors import PaperLensError

log = logging.getLogger(__name__)


def pil_to_qimage(image: Image.Image) -> QImage:
    """A deep QImage copy of a PIL image (safe to send across threads; no buffer shared with PIL)."""
    rgb = image if image.mode == "RGB" else image.convert("RGB")
    data = rgb.tobytes()
    qimg = QImage(data, rgb.width, rgb.height, 3 * rgb.width, QImage.Format.Format_RGB888)
    return qimg.copy()


def qimage_to_pil(qimg: QImage) -> Image.Image:
    """A PIL RGB copy of a QImage (a pasted clipboard image, a camera frame)."""
    img = qimg.convertToFormat(QImage.Format.Format_RGB888)
    width, height, stride = img.width(), img.height(), img.bytesPerLine()
    raw = bytes(img.constBits())[: stride * height]
    return Image.frombuffer("RGB", (width, height), raw, "raw", "RGB", stride, 1).copy()


class JobRunner(QObject):
    """Runs callables on a QThreadPool and calls back on the GUI thread with the value or the error sentence."""

    _finished = Signal(int, object, object)  # task id, value, error (str) or None

    def __init__(self, pool: QThreadPool | None = None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.pool = pool or QThreadPool.globalInstance()
        self._callbacks: dict[int, tuple[Callable[[Any], None] | None, Callable[[str], None] | None]] = {}
        self._next = 1
        self._finished.connect(self._deliver)

    @property
    def active(self) -> int:
        return len(self._callbacks)

    def submit(
        self,
        fn: Callable[[], Any],
        on_done: Callable[[Any], None] | None = None,
        on_error: Callable[[str], None] | None = None,
    ) -> int:
        task_id = self._next
        self._next += 1
        self._callbacks[task_id] = (on_done, on_error)
        signal = self._finished

        def work() -> None:
            try:
                value = fn()
            except PaperLensError as exc:
                signal.emit(task_id, None, str(exc))
            except (
                Exception
            ) as exc:  # a bug in a job must reach the user as a sentence, not kill the pool thread
                log.error("background job failed:\n%s", traceback.format_exc())
                signal.emit(task_id, None, f"{type(exc).__name__}: {exc}")
            else:
                signal.emit(task_id, value, None)

        self.pool.start(work)
        return task_id

    def forget(self, task_id: int) -> None:
        """Drop a job's callbacks (its window part went away); the job itself still runs to its end."""
        self._callbacks.pop(task_id, None)

    def wait(self, msecs: int = 5000) -> bool:
        return self.pool.waitForDone(msecs)

    def close(self, msecs: int = 3000) -> None:
        """The owner is going away: wait a little for running jobs, then drop every callback, so a job that ends
        later (a slow render on a busy machine) calls nothing that belonged to a closed window."""
        self.wait(msecs)
        self._callbacks.clear()

    @Slot(int, object, object)
    def _deliver(self, task_id: int, value: Any, error: Any) -> None:
        on_done, on_error = self._callbacks.pop(task_id, (None, None))  # none once closed
        try:
            if error is None:
                if on_done is not None:
                    on_done(value)
            elif on_error is not None:
                on_error(error)
            else:
                log.warning("background job failed: %s", error)
        except Exception:
            log.error("callback of a background job failed:\n%s", traceback.format_exc())
