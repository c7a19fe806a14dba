"""Camera capture: frames from a camera, a phone's video stream or a video file, and one flattened page from them.

`CameraStream` reads on a background thread, at the source's own pace, and hands out frames through a callback,
`latest()` or `next_frame()`. A camera that is missing, busy or unplugged mid-stream becomes one `CameraError`
sentence, delivered where the caller is waiting rather than lost on the reader thread.

`capture_page` is the headless "point the camera at a page" flow the CLI uses: find the page in each frame, wait
until it has held still for about a second (`SteadyTracker`), then flatten and optionally enhance that frame.
Video files are how tests drive all of this: for a file, frames are dealt out one by one without dropping any and
timed by their position in the file, so a run is the same every time.
"""

from __future__ import annotations

import collections
import logging
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from paperlens.core.errors import CameraError, PaperLensError
from paperlens.core.page import Page

if (
    TYPE_CHECKING
):  # OpenCV and numpy load on first use, so `paperlens --help` and the window start without them
    import numpy as np

    from paperlens.core.pagefind import Quad, SteadyTracker

# The same as pagefind.ENHANCE_MODES (a test keeps them equal), repeated so building the CLI needs no OpenCV.
ENHANCE_MODES = ("color", "gray", "scan", "none")

__all__ = [
    "CameraStream",
    "CaptureResult",
    "Frame",
    "NoPageFound",
    "capture_page",
    "describe_source",
    "parse_source",
]

log = logging.getLogger(__name__)

Source = int | str


class NoPageFound(CameraError):
    """Frames came, but none showed a page clearly enough to capture."""


class _Capture(Protocol):
    """The part of cv2.VideoCapture we use (tests pass a fake to play a camera that dies)."""

    def isOpened(self) -> bool: ...  # noqa: N802 - OpenCV's names
    def read(self) -> tuple[bool, np.ndarray | None]: ...
    def get(self, prop: int) -> float: ...
    def set(self, prop: int, value: float) -> bool: ...
    def release(self) -> None: ...


@dataclass(frozen=True)
class Frame:
    """One picture from the source: BGR pixels, its number from 0, and its time in seconds (file position for a
    video file, time since the stream started for a live source)."""

    image: np.ndarray
    index: int
    time_s: float


# --------------------------------------------------------------------------------------------------------------------
# sources
# --------------------------------------------------------------------------------------------------------------------
def parse_source(source: Source) -> Source:
    """A device index (0, "1"), a URL ("http://phone:8080/video", "rtsp://...") or a video file path."""
    if isinstance(source, int):
        return source
    text = str(source).strip()
    if text.isdigit():
        return int(text)
    if not text:
        raise CameraError(
            "No camera given.", hint="Use --source 0 for the first camera, a URL, or a video file."
        )
    return text


def _is_url(source: Source) -> bool:
    return isinstance(source, str) and "://" in source


def describe_source(source: Source) -> str:
    """How to name the source in a sentence: "camera 0", "the stream at http://...", "video clip.avi"."""
    source = parse_source(source)
    if isinstance(source, int):
        return f"camera {source}"
    if _is_url(source):
        return f"the stream at {_redact(source)}"
    return f"video {Path(source).name}"


def _first_upper(text: str) -> str:
    """Start a sentence with the description, without str.capitalize() lowercasing a URL or a file name."""
    return text[:1].upper() + text[1:]


def _redact(url: str) -> str:
    """Hide a password in rtsp://user:secret@host/ before it reaches a message or a log."""
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        creds, host = rest.split("@", 1)
        if ":" in creds:
            return f"{scheme}://{creds.split(':', 1)[0]}:***@{host}"
    return url


def _open_capture(source: Source, open_timeout_s: float) -> _Capture:
    """cv2.VideoCapture with timeouts for network streams (a dead phone would otherwise hang for a long time)."""
    import cv2

    level = None
    try:
        level = cv2.utils.logging.getLogLevel()
        cv2.utils.logging.setLogLevel(
            cv2.utils.logging.LOG_LEVEL_ERROR
        )  # our sentence replaces OpenCV's warnings
    except AttributeError:
        pass
    try:
        if _is_url(source):
            ms = int(open_timeout_s * 1000)
            params = [cv2.CAP_PROP_OPEN_TIMEOUT_MSEC, ms, cv2.CAP_PROP_READ_TIMEOUT_MSEC, ms]
            return cv2.VideoCapture(source, cv2.CAP_FFMPEG, params)
        return cv2.VideoCapture(source)
    finally:
        if level is not None:
            cv2.utils.logging.setLogLevel(level)


# --------------------------------------------------------------------------------------------------------------------
# the background reader
# --------------------------------------------------------------------------------------------------------------------
class CameraStream:
    """Frames from a camera, stream or video file, read on a background thread.

    Live sources keep only the newest frame (a slow consumer sees the present, not a growing backlog). Video files,
    unless `realtime=True`, are dealt out in order without dropping any, and the reader waits for the consumer.
    Use as a context manager, or `start()` / `stop()`. `on_frame` is called on the reader thread for every frame
    read; `on_error` once if the source fails (the error is also raised by the next `next_frame()`).
    """

    def __init__(
        self,
        source: Source,
        *,
        on_frame: Callable[[Frame], None] | None = None,
        on_error: Callable[[CameraError], None] | None = None,
        realtime: bool | None = None,
        resolution: tuple[int, int] | None = (1280, 720),
        open_timeout_s: float = 8.0,
        stall_timeout_s: float = 5.0,
        capture_factory: Callable[[Source], _Capture] | None = None,
    ) -> None:
        self.source = parse_source(source)
        self.description = describe_source(self.source)
        self.is_file = not isinstance(self.source, int) and not _is_url(self.source)
        self.realtime = (not self.is_file) if realtime is None else realtime
        self.on_frame = on_frame
        self.on_error = on_error
        self.resolution = resolution
        self.open_timeout_s = open_timeout_s
        self.stall_timeout_s = stall_timeout_s
        self._factory = capture_factory or (lambda s: _open_capture(s, open_timeout_s))
        self._cap: _Capture | None = None
        self._cond = threading.Condition()
        self._buffer: collections.deque[Frame] = collections.deque(maxlen=1 if self.realtime else 4)
        self._latest: Frame | None = None
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self.error: CameraError | None = None
        self.finished = False  # the source ended (end of a video file) or failed
        self.fps: float = 0.0
        self.size: tuple[int, int] = (0, 0)
        self.frames_read = 0

    # -- life cycle ---------------------------------------------------------------------------------------------------
    def start(self) -> CameraStream:
        """Open the source (raising CameraError now if it is missing or busy) and start reading."""
        if self._thread is not None:
            return self
        import cv2

        if self.is_file and not Path(str(self.source)).is_file():
            raise CameraError(f"There is no video file at {str(self.source)!r}.")
        try:
            cap = self._factory(self.source)
        except Exception as exc:  # noqa: BLE001 - OpenCV raises cv2.error for some backends
            raise self._open_error() from exc
        if cap is None or not cap.isOpened():
            if cap is not None:
                cap.release()
            raise self._open_error()
        if isinstance(self.source, int) and self.resolution:
            cap.set(cv2.CAP_PROP_FRAME_WIDTH, self.resolution[0])
            cap.set(cv2.CAP_PROP_FRAME_HEIGHT, self.resolution[1])
        fps = float(cap.get(cv2.CAP_PROP_FPS) or 0.0)
        self.fps = fps if 1.0 <= fps <= 240.0 else 0.0
        self._cap = cap
        self._thread = threading.Thread(target=self._run, name=f"paperlens-camera-{self.source}", daemon=True)
        self._thread.start()
        return self

    def _open_error(self) -> CameraError:
        if isinstance(self.source, int):
            return CameraError(
                f"Camera {self.source} is not available: it is not connected, or another app is using it.",
                hint="Close other apps that use the camera, or try another number with --source.",
            )
        if _is_url(self.source):
            return CameraError(
                f"Could not connect to {self.description}.",
                hint="Check the address, and that the phone's camera app is streaming on this network.",
            )
        return CameraError(f"{Path(str(self.source)).name} could not be opened as a video.")

    def stop(self) -> None:
        """Stop reading and release the camera. Safe to call twice, and from a frame callback."""
        self._stop.set()
        with self._cond:
            self._cond.notify_all()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=max(2.0, self.open_timeout_s))

    def __enter__(self) -> CameraStream:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    # -- reading (background thread) ----------------------------------------------------------------------------------
    def _run(self) -> None:
        import cv2

        cap = self._cap
        assert cap is not None
        t0 = time.monotonic()
        last_good = t0
        failures = 0
        index = 0
        try:
            while not self._stop.is_set():
                ok, image = cap.read()
                now = time.monotonic()
                if not ok or image is None or getattr(image, "size", 0) == 0:
                    if self.is_file:
                        break  # the end of the video
                    failures += 1
                    limit = self.open_timeout_s if index == 0 else self.stall_timeout_s
                    if now - last_good > limit or failures > 1000:
                        self._fail(self._stall_error(first=index == 0))
                        break
                    time.sleep(0.01)
                    continue
                failures = 0
                last_good = now
                if self.is_file:  # the frame's place in the video, so a file replays the same way every time
                    stamp = (
                        index / self.fps
                        if self.fps
                        else float(cap.get(cv2.CAP_PROP_POS_MSEC) or 0.0) / 1000.0
                    )
                else:
                    stamp = now - t0
                frame = Frame(image=image, index=index, time_s=stamp)
                if index == 0:
                    self.size = (image.shape[1], image.shape[0])
                index += 1
                self.frames_read = index
                self._deliver(frame)
                if self.is_file and self.realtime and self.fps:
                    # Play a file at its own speed, as a camera would deliver it.
                    delay = (t0 + stamp) - time.monotonic()
                    if delay > 0:
                        self._stop.wait(delay)
        except Exception as exc:  # noqa: BLE001 - whatever OpenCV throws, the consumer gets a sentence
            log.debug("camera reader failed", exc_info=True)
            self._fail(CameraError(f"Reading from {self.description} failed: {exc}."))
        finally:
            cap.release()
            with self._cond:
                self.finished = True
                self._cond.notify_all()

    def _stall_error(self, *, first: bool) -> CameraError:
        if first:
            return CameraError(
                f"{_first_upper(self.description)} opened but sends no pictures: another app may be using it.",
                hint="Close other apps that use the camera and try again.",
            )
        return CameraError(
            f"{_first_upper(self.description)} stopped sending pictures (disconnected?).",
            hint="Check the cable or the network, then start again.",
        )

    def _deliver(self, frame: Frame) -> None:
        with self._cond:
            if not self.realtime:
                while len(self._buffer) >= (self._buffer.maxlen or 1) and not self._stop.is_set():
                    self._cond.wait(0.1)  # a file waits for its consumer: no frame is dropped
            self._buffer.append(frame)
            self._latest = frame
            self._cond.notify_all()
        if self.on_frame is not None:
            try:
                self.on_frame(frame)
            except Exception:  # noqa: BLE001 - a broken callback must not kill the reader
                log.exception("frame callback failed")

    def _fail(self, error: CameraError) -> None:
        with self._cond:
            self.error = error
            self._cond.notify_all()
        if self.on_error is not None:
            try:
                self.on_error(error)
            except Exception:  # noqa: BLE001
                log.exception("error callback failed")

    # -- consuming ----------------------------------------------------------------------------------------------------
    def latest(self) -> Frame | None:
        """The newest frame read so far (None before the first), without waiting or consuming it."""
        with self._cond:
            return self._latest

    def next_frame(self, timeout_s: float | None = None) -> Frame | None:
        """The next frame in order (files) or the newest unseen one (live). None at the end of a video file or on
        timeout; raises the CameraError if the source failed."""
        deadline = None if timeout_s is None else time.monotonic() + timeout_s
        with self._cond:
            while True:
                if self._buffer:
                    frame = self._buffer.popleft()
                    self._cond.notify_all()
                    return frame
                if self.error is not None:
                    raise self.error
                if self.finished or self._thread is None:
                    return None
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    return None
                self._cond.wait(0.1 if remaining is None else min(0.1, remaining))

    def frames(self, timeout_s: float | None = None) -> Iterator[Frame]:
        """next_frame() until the source ends (or `timeout_s` passes with no frame)."""
        while True:
            frame = self.next_frame(timeout_s)
            if frame is None:
                return
            yield frame


# --------------------------------------------------------------------------------------------------------------------
# one page from the camera
# --------------------------------------------------------------------------------------------------------------------
@dataclass
class CaptureResult:
    """The captured page, where its corners were in the source frame (pixels, tl, tr, br, bl), and how sure."""

    page: Page
    corners: list[tuple[float, float]]
    confidence: float
    frame_index: int = 0
    steady: bool = True  # False when the page never held still and the surest frame was taken instead
    frame_size: tuple[int, int] = (0, 0)
    extra: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "corners": [[round(x, 1), round(y, 1)] for x, y in self.corners],
            "confidence": round(self.confidence, 3),
            "steady": self.steady,
            "frame": self.frame_index,
            "frame_size": list(self.frame_size),
            "page_size": [self.page.image.width, self.page.image.height],
        }


def capture_page(
    source: Source,
    *,
    enhance: bool | str = False,
    timeout_s: float = 15.0,
    hold_s: float = 1.0,
    min_confidence: float = 0.5,
    quarter_turns: int = 0,
    realtime: bool | None = None,
    on_frame: Callable[[Frame, Quad | None, SteadyTracker], None] | None = None,
    capture_factory: Callable[[Source], _Capture] | None = None,
    stall_timeout_s: float = 5.0,
) -> CaptureResult:
    """Grab one flattened page: the first moment the page holds still for `hold_s` (auto-capture).

    If it never holds still before `timeout_s` (or the video file ends), the frame where the page was found most
    surely is taken, provided that is at least `min_confidence`; otherwise NoPageFound. `enhance` is True (the
    "color" clean-up) or a mode name from ENHANCE_MODES. `on_frame` sees each processed frame with its quad and the
    tracker (for progress output).
    """
    from paperlens.core.pagefind import SteadyTracker, find_page, flatten, is_blank, quad_iou, rotate
    from paperlens.core.pagefind import enhance as enhance_image

    mode = _enhance_mode(enhance)
    tracker = SteadyTracker(hold_s, min_confidence=min_confidence)
    stream = CameraStream(
        source, realtime=realtime, capture_factory=capture_factory, stall_timeout_s=stall_timeout_s
    )
    best: tuple[float, Frame, Quad] | None = None
    chosen: tuple[Frame, Quad] | None = None
    seen = 0
    with stream:
        deadline = time.monotonic() + timeout_s
        while chosen is None:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            frame = stream.next_frame(timeout_s=remaining)
            if frame is None:
                break
            seen += 1
            quad = find_page(frame.image)
            steady = tracker.update(quad, frame.time_s)
            if on_frame is not None:
                on_frame(frame, quad, tracker)
            if quad is not None and (best is None or quad.confidence > best[0]):
                best = (quad.confidence, frame, quad)
            if steady and quad is not None:
                chosen = (frame, quad)
    steady = chosen is not None
    if chosen is None:
        if seen == 0:
            raise CameraError(f"No pictures came from {stream.description} within {timeout_s:g} s.")
        if best is None or best[0] < min_confidence:
            raise NoPageFound(
                f"No page was found in the pictures from {stream.description}.",
                hint="Hold the whole page in view, flat, on a background that differs from the paper.",
            )
        chosen = (best[1], best[2])
    frame, quad = chosen
    # The live search is the quick one; the chosen frame gets the careful one, kept only if it agrees.
    careful = find_page(frame.image, thorough=True)
    if careful is not None and careful.confidence >= quad.confidence - 0.1 and quad_iou(careful, quad) > 0.7:
        quad = careful
    image = flatten(frame.image, quad)
    if mode != "none":
        image = enhance_image(image, mode)
    if quarter_turns:
        image = rotate(image, quarter_turns)
    corners = [(float(x), float(y)) for x, y in quad.corners]
    page = Page(
        image=image,
        number=1,
        source=stream.description,
        label="Capture",
        meta={
            "kind": "capture",
            "corners": [list(c) for c in corners],
            "confidence": round(quad.confidence, 3),
            "steady": steady,
            "frame_index": frame.index,
            "frame_time_s": round(frame.time_s, 3),
            "enhance": mode,
        },
    )
    if is_blank(page.image):
        from paperlens.core.documents import BlankPage

        raise BlankPage("The captured page is blank: there is nothing on it to read.", page=page)
    return CaptureResult(
        page=page,
        corners=corners,
        confidence=quad.confidence,
        frame_index=frame.index,
        steady=steady,
        frame_size=(frame.image.shape[1], frame.image.shape[0]),
    )


def _enhance_mode(value: bool | str | None) -> str:
    if value is None or value is False:
        return "none"
    if value is True:
        return "color"
    if value not in ENHANCE_MODES:
        raise PaperLensError(f"Unknown enhancement {value!r}; choose one of {', '.join(ENHANCE_MODES)}.")
    return str(value)
