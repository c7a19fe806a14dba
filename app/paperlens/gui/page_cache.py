"""Page images for the window: a few full renders kept for switching back, and thumbnails rendered one at a time.

Why one at a time for thumbnails: a 300-page PDF queues 300 of them, and the page the user is looking at must not wait
behind that queue in the (two-thread) pool. Renders happen on the pool; images arrive as signals on the GUI thread.

Thumbnails are bounded: the `THUMBNAIL_CACHE` most recently shown ones are kept (about 66 KB each, so ~20 MB), the
rest dropped (`thumbnail_dropped`) and rendered again when scrolled back into view. The pages in view (`show_range`)
are rendered first and kept; keeping every thumbnail of a 10,000-page document would take about 1 GB.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from collections.abc import Callable

from PIL import Image
from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtGui import QImage

from paperlens.core.session import DocumentSession
from paperlens.gui.jobs import JobRunner, pil_to_qimage
from paperlens.gui.pages import THUMB_HEIGHT, THUMB_WIDTH

FULL_IMAGE_CACHE = 4  # rendered page images (QImage) kept for quick switching back
THUMBNAIL_CACHE = 300  # thumbnails kept, all documents together (110 x 150 x 4 bytes each: about 20 MB)


# The page view shows at most this many pixels: an A4 page at 300 dpi (8.7 MP) is shown whole; a poster-sized page,
# rendered at up to 40 MP for the model, is shown at a lower resolution (the model still reads all of it).
DISPLAY_PIXELS = 16_000_000


def for_display(image: Image.Image) -> Image.Image:
    """`image`, or a smaller copy of it when it has more than DISPLAY_PIXELS (called on the pool)."""
    pixels = image.width * image.height
    if pixels <= DISPLAY_PIXELS:
        return image
    f = math.sqrt(DISPLAY_PIXELS / pixels)
    return image.resize((max(1, int(image.width * f)), max(1, int(image.height * f))), Image.Resampling.BOX)


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
    thumbnail_dropped = Signal(
        object, int
    )  # session, page: its thumbnail was let go to stay within the bound

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
        self._thumbs: OrderedDict[tuple[str, int], None] = (
            OrderedDict()
        )  # kept thumbnails, least recent first
        self._in_view: tuple[str, range] = ("", range(0))  # the pages the thumbnail list shows now
        self._thumb_failed: set[tuple[str, int]] = set()
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

        def work() -> tuple[QImage, QImage]:
            # everything heavy here, on the pool: the GUI thread only turns a picture of at most DISPLAY_PIXELS
            # into a pixmap (a 40-megapixel poster page cost it 90 ms)
            image = pil_to_qimage(for_display(s.display_page(n).image))
            return image, thumbnail_of(image)

        def done(images: tuple[QImage, QImage]) -> None:
            image, thumbnail = images
            self._render_pending.discard(key)
            if self._stopped or s.closed:  # the window or the document closed while the page rendered
                return
            self._images[key] = image
            while len(self._images) > FULL_IMAGE_CACHE:
                self._images.popitem(last=False)
            self.image_ready.emit(s, n, image)
            if n not in s.thumbnails:
                self._set_thumbnail(s, n, thumbnail)

        def failed(message: str) -> None:
            self._render_pending.discard(key)
            self.image_failed.emit(s, n, message)

        self._jobs.submit(work, done, failed)

    def queue_thumbnails(self, s: DocumentSession, numbers: range | list[int]) -> None:
        """Render these thumbnails ahead of need; of a long document only those nearest the current page (the rest
        are rendered when the list shows them: rendering them all would only make the bound drop them again)."""
        numbers = list(numbers)
        room = THUMBNAIL_CACHE // 2
        if len(numbers) > room:
            numbers = sorted(sorted(numbers, key=lambda n: abs(n - s.current_page))[:room])
        self._thumb_queue.extend((s.id, n) for n in numbers)
        self._next_thumbnail()

    def show_range(self, s: DocumentSession, first: int, last: int) -> None:
        """The thumbnail list shows pages first..last of `s`: render those missing first, and keep those there."""
        self._in_view = (s.id, range(max(1, first), min(last, s.page_count) + 1))
        for n in self._in_view[1]:
            key = (s.id, n)
            if key in self._thumbs:
                self._thumbs.move_to_end(key)
        self._next_thumbnail()

    def thumbnail_count(self) -> int:
        return len(self._thumbs)

    def drop(self, doc_id: str) -> None:
        """Forget a closed document's images and queued thumbnails."""
        for key in [k for k in self._images if k[0] == doc_id]:
            del self._images[key]
        self._thumb_failed = {k for k in self._thumb_failed if k[0] != doc_id}
        s = self._session(doc_id)
        for key in [k for k in self._thumbs if k[0] == doc_id]:
            if s is None or s.closed or key[1] not in s.thumbnails:  # closed, or that thumbnail was let go
                del self._thumbs[key]
        self._thumb_queue = [k for k in self._thumb_queue if k[0] != doc_id]

    def stop(self) -> None:
        """The window is closing: start no more thumbnails."""
        self._stopped = True

    def _set_thumbnail(self, s: DocumentSession, n: int, image: QImage) -> None:
        s.thumbnails[n] = image
        self._thumbs[(s.id, n)] = None
        self._thumbs.move_to_end((s.id, n))
        self.thumbnail_ready.emit(s, n, image)
        doc_id, in_view = self._in_view
        while len(self._thumbs) > THUMBNAIL_CACHE:
            old_id, old_n = old = next(iter(self._thumbs))
            if old_id == doc_id and old_n in in_view and len(in_view) < THUMBNAIL_CACHE:
                self._thumbs.move_to_end(old)  # in view: keep it (only when the view alone is over the bound)
                continue
            del self._thumbs[old]
            owner = self._session(old_id)
            if owner is not None and owner.thumbnails.pop(old_n, None) is not None:
                self.thumbnail_dropped.emit(owner, old_n)

    def _wanted_in_view(self) -> tuple[str, int] | None:
        doc_id, in_view = self._in_view
        s = self._session(doc_id) if doc_id else None
        if s is None:
            return None
        for n in in_view:
            if n not in s.thumbnails and (doc_id, n) not in self._thumb_failed:
                return (doc_id, n)
        return None

    def _next_thumbnail(self) -> None:
        if self._thumb_busy or self._stopped:
            return
        while True:
            key = self._wanted_in_view()
            if key is None:
                if not self._thumb_queue:
                    return
                key = self._thumb_queue.pop(0)
            doc_id, n = key
            s = self._session(doc_id)
            if s is None or n in s.thumbnails or not 1 <= n <= s.page_count:
                continue
            self._thumb_busy = True

            def work(s=s, n=n) -> QImage:
                return thumbnail_of(pil_to_qimage(s.thumbnail(n, THUMB_HEIGHT)))

            def done(image: QImage, s=s, n=n) -> None:
                self._thumb_busy = False
                if not s.closed:
                    self._set_thumbnail(s, n, image)
                self._next_thumbnail()

            def failed(_message: str, s=s, n=n) -> None:
                self._thumb_busy = False
                self._thumb_failed.add((s.id, n))  # a page that cannot be drawn is not asked for again
                self._next_thumbnail()

            self._jobs.submit(work, done, failed)
            return
