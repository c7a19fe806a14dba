"""Camera capture, driven by short videos written here (and a fake camera for the ways real ones fail)."""

from __future__ import annotations

import json
import threading
import time

import numpy as np
import pytest
from PIL import Image

from paperlens.cli import main as paperlens_main
from paperlens.core.capture import (
    CameraStream,
    NoPageFound,
    capture_page,
    describe_source,
    parse_source,
)
from paperlens.core.documents import BlankPage
from paperlens.core.errors import CameraError
from paperlens.core.pagefind import Quad, quad_iou
from tests.unit.scenes import background, page_image, photo, write_video

FPS = 10


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    """3 s at 10 fps, 640x480: the page slides into place for 1 s, then is held still (with a little jitter)."""
    page = page_image(seed=2)
    frames, truths = [], []
    rng = np.random.default_rng(0)
    for i in range(30):
        moving = i < 10
        shift = (0.12 - 0.012 * i, 0.02) if moving else (rng.normal(0, 0.002), 0.02 + rng.normal(0, 0.002))
        frame, corners = photo(
            frame_wh=(640, 480), page=page, bg="wood", shift=shift, tilt_x=14, roll=4, fill=0.7
        )
        frames.append(frame)
        truths.append(corners)
    path = write_video(tmp_path_factory.mktemp("video") / "page.avi", frames, fps=FPS)
    return path, truths


class FakeCamera:
    """Plays a live camera: `good` frames, then either nothing more (unplugged) or frames forever."""

    def __init__(self, good: int = 5, *, opened: bool = True, dies: bool = True) -> None:
        self.good, self.opened, self.dies = good, opened, dies
        self.reads = 0
        self.released = False
        self.frame, _ = photo(frame_wh=(320, 240), bg="dark")

    def isOpened(self) -> bool:  # noqa: N802
        return self.opened

    def read(self):
        self.reads += 1
        time.sleep(0.005)
        if self.dies and self.reads > self.good:
            return False, None
        return True, self.frame.copy()

    def get(self, prop):
        return 30.0

    def set(self, prop, value):
        return True

    def release(self) -> None:
        self.released = True


# -- sources ----------------------------------------------------------------------------------------------------------
def test_sources_are_parsed_and_described():
    assert parse_source("0") == 0 and parse_source(2) == 2
    assert parse_source(" http://192.168.1.5:8080/video ") == "http://192.168.1.5:8080/video"
    assert describe_source("1") == "camera 1"
    assert describe_source("rtsp://me:hunter2@10.0.0.2/live") == "the stream at rtsp://me:***@10.0.0.2/live"
    assert describe_source("/tmp/x/clip.avi") == "video clip.avi"
    with pytest.raises(CameraError):
        parse_source("  ")


# -- reading ----------------------------------------------------------------------------------------------------------
def test_a_video_file_is_read_in_the_background_frame_by_frame(clip):
    path, _ = clip
    seen = []
    with CameraStream(path, on_frame=lambda f: seen.append(f.index)) as stream:
        frames = list(stream.frames(timeout_s=5))
        assert stream.fps == FPS and stream.size == (640, 480)
    assert [f.index for f in frames] == list(range(30))  # a file drops nothing
    assert [round(f.time_s, 2) for f in frames[:3]] == [0.0, 0.1, 0.2]  # timed by position in the file
    assert seen == list(range(30)) and stream.finished and not stream.running
    assert stream.latest().index == 29 and frames[0].image.shape == (480, 640, 3)


def test_realtime_playback_runs_at_the_sources_rate(clip):
    path, _ = clip
    t0 = time.monotonic()
    with CameraStream(path, realtime=True) as stream:
        first = stream.next_frame(timeout_s=5)
        time.sleep(0.45)
        later = stream.latest()
    assert first.index == 0
    assert 2 <= later.index <= 8  # about 10 frames a second, not as fast as the disk can read
    assert time.monotonic() - t0 < 3


def test_a_missing_camera_says_so():
    with pytest.raises(CameraError) as err:
        CameraStream(0, capture_factory=lambda s: FakeCamera(opened=False)).start()
    assert str(err.value).startswith(
        "Camera 0 is not available: it is not connected, or another app is using it."
    )
    with pytest.raises(CameraError, match="There is no video file at"):
        CameraStream("/no/such/clip.avi").start()
    with pytest.raises(CameraError, match="Could not connect to the stream at http://127.0.0.1:9/video"):
        CameraStream("http://127.0.0.1:9/video", open_timeout_s=1.0).start()


def test_a_real_absent_device_index_fails_quickly():
    t0 = time.monotonic()
    with pytest.raises(CameraError, match="Camera 57 is not available"):
        CameraStream(57).start()
    assert time.monotonic() - t0 < 5


def test_a_file_that_is_not_a_video(tmp_path):
    junk = tmp_path / "notes.avi"
    junk.write_text("not a video")
    with pytest.raises(CameraError, match=r"notes\.avi could not be opened as a video\."):
        CameraStream(junk).start()


def test_a_busy_camera_that_opens_but_sends_nothing():
    errors = []
    cam = FakeCamera(good=0)
    stream = CameraStream(3, capture_factory=lambda s: cam, open_timeout_s=0.3, on_error=errors.append)
    with stream, pytest.raises(CameraError) as err:
        stream.next_frame(timeout_s=5)
    assert str(err.value).startswith("Camera 3 opened but sends no pictures: another app may be using it.")
    assert errors == [err.value] and cam.released


def test_a_camera_unplugged_mid_stream():
    cam = FakeCamera(good=8)
    got = []
    stream = CameraStream(0, capture_factory=lambda s: cam, stall_timeout_s=0.3)
    with stream, pytest.raises(CameraError) as err:
        while True:
            got.append(stream.next_frame(timeout_s=5))
    assert str(err.value).startswith("Camera 0 stopped sending pictures (disconnected?).")
    assert 1 <= len(got) <= 8  # live: the newest frames, and those before the failure were delivered
    assert cam.released


def test_stop_from_a_frame_callback_and_twice():
    cam = FakeCamera(dies=False)
    holder = {}

    def on_frame(frame):
        if frame.index == 3:
            holder["stream"].stop()

    stream = CameraStream(1, capture_factory=lambda s: cam, on_frame=on_frame)
    holder["stream"] = stream
    stream.start()
    deadline = time.monotonic() + 5
    while stream.running and time.monotonic() < deadline:
        time.sleep(0.01)
    assert not stream.running and cam.released
    stream.stop()  # again: harmless


# -- capturing one page -------------------------------------------------------------------------------------------------
def test_capture_waits_for_the_page_to_hold_still(clip):
    path, truths = clip
    processed = []
    result = capture_page(
        path, on_frame=lambda f, q, t: processed.append((f.index, q is not None, t.progress))
    )
    # the page stopped moving at frame 10; one second later (10 frames at 10 fps) it counts as steady
    assert result.steady and 19 <= result.frame_index <= 22
    assert processed[-1][0] == result.frame_index and all(found for _, found, _ in processed)
    assert quad_iou(Quad.from_points(result.corners), truths[result.frame_index]) > 0.95
    assert result.confidence > 0.8
    page = result.page
    assert page.label == "Capture" and page.source == "video page.avi" and page.meta["steady"] is True
    ratio = page.image.height / page.image.width
    assert abs(ratio - 1100 / 850) < 0.04


def test_capture_takes_the_surest_frame_when_never_steady(clip):
    path, _ = clip
    result = capture_page(path, hold_s=60.0)  # the 3 s clip can never hold still for a minute
    assert not result.steady and result.confidence > 0.8


def test_capture_enhance_and_rotate(clip):
    path, _ = clip
    plain = capture_page(path)
    scan = capture_page(path, enhance="scan", quarter_turns=1)
    assert scan.page.image.size == (plain.page.image.height, plain.page.image.width)
    assert set(np.unique(np.asarray(scan.page.image.convert("L")))) <= {0, 255}
    assert capture_page(path, enhance=True).page.meta["enhance"] == "color"


def test_no_page_in_view(tmp_path):
    frames = [background(320, 240, "wood", seed=i) for i in range(8)]
    path = write_video(tmp_path / "table.avi", frames)
    with pytest.raises(NoPageFound) as err:
        capture_page(path)
    assert str(err.value).startswith("No page was found in the pictures from video table.avi.")
    assert isinstance(err.value, CameraError)


def test_a_blank_sheet_in_view(tmp_path):
    blank = np.full((1100, 850, 3), 246, np.uint8)
    frames = [photo(frame_wh=(320, 240), page=blank, bg="dark")[0] for _ in range(15)]
    path = write_video(tmp_path / "blank.avi", frames)
    with pytest.raises(BlankPage, match="The captured page is blank"):
        capture_page(path, hold_s=0.5)


def test_capture_reports_a_camera_dying_mid_capture():
    cam = FakeCamera(good=3)
    cam.frame = background(320, 240, "dark")  # no page, so it keeps waiting until the camera dies
    with pytest.raises(CameraError, match="stopped sending pictures"):
        capture_page(0, capture_factory=lambda s: cam, stall_timeout_s=0.3, timeout_s=10)


def test_a_slow_consumer_sees_the_present_on_a_live_camera():
    cam = FakeCamera(dies=False)
    with CameraStream(0, capture_factory=lambda s: cam) as stream:
        first = stream.next_frame(timeout_s=5)
        time.sleep(0.2)  # the camera keeps reading meanwhile
        second = stream.next_frame(timeout_s=5)
    assert second.index - first.index > 3  # old frames were dropped, not queued


# -- the command --------------------------------------------------------------------------------------------------------
def test_capture_command_saves_the_page_and_prints_json(clip, tmp_path, capsys):
    path, truths = clip
    out = tmp_path / "page.png"
    code = run_capture_cli(["--source", str(path), "-o", str(out), "--format", "json", "--enhance"])
    assert code == 0
    report = json.loads(capsys.readouterr().out)
    assert report["output"] == str(out) and report["source"] == "video page.avi"
    corners = np.array(report["corners"], np.float32)
    assert corners.shape == (4, 2) and quad_iou(corners, truths[report["frame"]]) > 0.95
    assert 0.8 < report["confidence"] <= 1.0 and report["steady"] is True
    saved = Image.open(out)
    assert saved.size == tuple(report["page_size"])


def test_capture_command_text_output_and_jpeg(clip, tmp_path, capsys):
    path, _ = clip
    out = tmp_path / "page.jpg"
    assert run_capture_cli(["--source", str(path), "-o", str(out), "--enhance", "scan", "--rotate", "1"]) == 0
    err = capsys.readouterr().err
    assert f"Saved {out}" in err and "confidence" in err
    assert Image.open(out).format == "JPEG"


def test_capture_command_failures_are_one_sentence(tmp_path, capsys):
    assert run_capture_cli(["--source", str(tmp_path / "none.avi"), "-o", str(tmp_path / "p.png")]) == 5
    assert (
        capsys.readouterr().err.strip() == f"paperlens: There is no video file at '{tmp_path / 'none.avi'}'."
    )
    assert run_capture_cli(["--source", "0", "-o", str(tmp_path / "p.gif")]) == 1
    assert "use .png, .jpg, .webp or .tif" in capsys.readouterr().err
    assert run_capture_cli(["--source", "0", "-o", str(tmp_path / "missing" / "p.png")]) == 1
    assert "does not exist" in capsys.readouterr().err


def test_the_cli_can_wire_the_subcommand_in():
    from paperlens.cli import build_parser

    parser = build_parser()
    args = parser.parse_args(["capture", "--source", "http://phone:8080/video", "-o", "x.png", "--enhance"])
    assert args.command == "capture" and args.enhance == "color" and callable(args.run)
    assert args.format == "text" and args.timeout == 15.0


def run_capture_cli(argv: list[str]) -> int:
    """`paperlens capture ARGS...` through the real CLI entry point."""
    return paperlens_main(["capture", *argv])


def test_frames_can_be_shared_across_threads(clip):
    # The window polls latest() from the GUI thread while the reader thread writes.
    path, _ = clip
    seen = []
    with CameraStream(path, realtime=True) as stream:
        stop = time.monotonic() + 0.5

        def poll():
            while time.monotonic() < stop:
                f = stream.latest()
                if f is not None:
                    seen.append(f.index)
                time.sleep(0.01)

        t = threading.Thread(target=poll)
        t.start()
        t.join()
    assert seen and seen == sorted(seen)


def test_building_the_cli_needs_no_opencv():
    import subprocess
    import sys

    from paperlens.core import capture, pagefind

    assert capture.ENHANCE_MODES == pagefind.ENHANCE_MODES
    code = (
        "import sys, paperlens.cli as c\n"
        "c.build_parser()\n"
        "print('cv2' in sys.modules, 'numpy' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False False"
