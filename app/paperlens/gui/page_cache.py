"""Page images for the window: a few full renders kept for switching back, and thumbnails rendered one at a time.

Why one at a time for thumbnails: a 300-page PDF queues 300 of them, and the page the user is looking at must not wait
behind that queue in the (two-thread) pool. Renders happen on the pool; images arrive as signals on the GUI thread.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtGui import QImage

from paperlens.core.session import DocumentSession
from paperlens.gui.jobs import JobRunner, pil_to_qimage
from paperlens.gui.pages import THUMB_HEIGHT, THUMB_WIDTH

FULL_IMAGE_CACHE = 4  # rendered page images (QImage) kept for quick switching back


def thumbnail_of(image: QImage) -> QImage:
    return image.scaled(
        THUMB_WIDTH,
        THUMB_HEIGHT,
        Qt.AspectRatioMode.KeepAspectRatio,
        Qt.TransformationMode.SmoothTransformation,
    )


class PageCache(QObject):
    """Renders pages and thumbnails of open sessions. A thumbnail is also kept in `session.thumbnails`."""

    image_ready = Signal(object, int, QImage)  # session, page, full image
    image_failed = Signal(object, int, str)  # session, page, why
    thumbnail_ready = Signal(object, int, QImage)  # session, page, thumbnail

    def __init__(
        self,
        jobs: JobRunner,
        session: Callable[[str], DocumentSession | None],
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._jobs = jobs
        self._session = session  # doc id -> the open session (None once closed)
        self._images: OrderedDict[tuple[str, int], QImage] = OrderedDict()
        self._render_pending: set[tuple[str, int]] = set()
        self._thumb_queue: list[tuple[str, int]] = []
        self._thumb_busy = False
        self._stopped = False

    def image(self, s: DocumentSession, n: int) -> QImage | None:
        """The page's full image if it is still cached (and marks it as just used)."""
        key = (s.id, n)
        image = self._images.get(key)
        if image is not None:
            self._images.move_to_end(key)
        return image

    def render(self, s: DocumentSession, n: int) -> None:
        key = (s.id, n)
        if key in self._render_pending:
            return
        self._render_pending.add(key)

        def work() -> QImage:
            return pil_to_qimage(s.display_page(n).image)

        def done(image: QImage) -> None:
            self._render_pending.discard(key)
            if self._stopped or s.closed:  # the window or the document closed while the page rendered
                return
            self._images[key] = image
            while len(self._images) > FULL_IMAGE_CACHE:
                self._images.popitem(last=False)
            self.image_ready.emit(s, n, image)
            if n not in s.thumbnails:
                self._set_thumbnail(s, n, thumbnail_of(image))

        def failed(message: str) -> None:
            self._render_pending.discard(key)
            self.image_failed.emit(s, n, message)

        self._jobs.submit(work, done, failed)

    def queue_thumbnails(self, s: DocumentSession, numbers: range | list[int]) -> None:
        self._thumb_queue.extend((s.id, n) for n in numbers)
        self._next_thumbnail()

    def drop(self, doc_id: str) -> None:
        """Forget a closed document's images and queued thumbnails."""
        for key in [k for k in self._images if k[0] == doc_id]:
            del self._images[key]
        self._thumb_queue = [k for k in self._thumb_queue if k[0] != doc_id]

    def stop(self) -> None:
        """The window is closing: start no more thumbnails."""
        self._stopped = True

    def _set_thumbnail(self, s: DocumentSession, n: int, image: QImage) -> None:
        s.thumbnails[n] = image
        self.thumbnail_ready.emit(s, n, image)

    def _next_thumbnail(self) -> None:
        if self._thumb_busy or self._stopped:
            return
        while self._thumb_queue:
            doc_id, n = self._thumb_queue.pop(0)
            s = self._session(doc_id)
            if s is None or n in s.thumbnails:
                continue
            self._thumb_busy = True

            def work(s=s, n=n) -> QImage:
                return thumbnail_of(pil_to_qimage(s.thumbnail(n, THUMB_HEIGHT)))

            def done(image: QImage, s=s, n=n) -> None:
                self._thumb_busy = False
                if not s.closed:
                    self._set_thumbnail(s, n, image)
                self._next_thumbnail()

            def failed(_message: str) -> None:
                self._thumb_busy = False
                self._next_thumbnail()

            self._jobs.submit(work, done, failed)
            return
